-- coditect-memory store, SQLite backend, migration 2: what the reports read (issue 3).
-- Append-only: never edit a migration that has shipped; add the next one.
--
-- The report_* tables are rollups: derived, never authoritative. Every row can be rebuilt
-- from messages and api_usage, and is, one session at a time, whenever that session's rows
-- change (store/sqlite/reports.py: new rows past the watermark, or the session's derived
-- counts differ from the signature recorded here). Dropping their rows and the watermarks
-- rebuilds them on the next report.

-- Errors are few (about 1 % of rows) and error-analysis reads them with their text.
CREATE INDEX messages_errors ON messages(ts) WHERE is_error = 1;
-- Usage over a time range that does not start or end on a whole day is read from here.
CREATE INDEX api_usage_ts ON api_usage(ts);

-- Per session, project and UTC day: the counts every activity report sums.
CREATE TABLE report_days (
    session_id  TEXT,                  -- NULL for rows without a session (old history lines)
    project_id  INTEGER,               -- messages.project_id of the rows counted
    day         INTEGER,               -- UTC day number, ts / 86400000; NULL: rows with no timestamp
    messages    INTEGER NOT NULL,      -- rows (deleted rows excluded)
    prompts     INTEGER NOT NULL,      -- human prompts: queries.PROMPT on the main chain
    errors      INTEGER NOT NULL,      -- rows with is_error = 1
    tool_calls  INTEGER NOT NULL,      -- rows of type tool_use
    first_ts    INTEGER,               -- earliest row in the bucket (epoch ms)
    last_ts     INTEGER,               -- latest row in the bucket (epoch ms)
    active_ms   INTEGER NOT NULL       -- gaps of at most 30 min between the session's consecutive
                                       -- conversation lines, credited to the later line's day
);
CREATE INDEX report_days_day ON report_days(day, project_id);
CREATE INDEX report_days_session ON report_days(session_id);

-- Per session, project and UTC day: components and tools used, and the errors of each.
-- Every row counts for one name at most, so the errors here add up to the errors above
-- minus those with neither a component nor a tool.
CREATE TABLE report_names (
    session_id  TEXT,                  -- NULL for rows without a session
    project_id  INTEGER,               -- messages.project_id
    day         INTEGER,               -- UTC day number; NULL: rows with no timestamp
    kind        TEXT NOT NULL,         -- 'component' (messages.component; API error replies
                                       -- count for API) or 'tool' (messages.tool_name)
    name        TEXT NOT NULL,         -- the component or tool name
    uses        INTEGER NOT NULL,      -- component: rows naming it; tool: tool_use calls
    errors      INTEGER NOT NULL       -- error rows attributed to this name
);
-- Covering indexes: component-usage groups by name, timeline by day, without a sort.
CREATE INDEX report_names_name ON report_names(kind, name, session_id, day, project_id, uses, errors);
CREATE INDEX report_names_day ON report_names(day, project_id, kind, name, uses, errors);
CREATE INDEX report_names_session ON report_names(session_id);

-- Per session, UTC day and model: token usage from api_usage (one row per API response).
CREATE TABLE report_usage (
    session_id          TEXT,          -- api_usage.session_id (NULL when the line had none)
    day                 INTEGER,       -- UTC day number; NULL: responses with no timestamp
    model               TEXT,          -- api_usage.model as written
    responses           INTEGER NOT NULL,  -- API responses
    input_tokens        INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    cache_read_tokens   INTEGER NOT NULL,
    cache_write_tokens  INTEGER NOT NULL
);
CREATE INDEX report_usage_day ON report_usage(day);
CREATE INDEX report_usage_session ON report_usage(session_id);

-- One row per error row (messages.is_error = 1), with what it is about and what it says.
CREATE TABLE report_errors (
    message_id  INTEGER PRIMARY KEY,   -- messages.id of the error row
    session_id  TEXT,                  -- NULL for rows without a session
    project_id  INTEGER,               -- messages.project_id
    ts          INTEGER,               -- messages.ts (epoch ms; NULL when the row has none)
    kind        TEXT NOT NULL,         -- 'component', 'tool' (as in report_names) or 'other'
    name        TEXT NOT NULL,         -- the component or tool; for 'other' the row's type
    signature   TEXT NOT NULL          -- the message's head with numbers, ids, paths and
                                       -- quoted values masked: similar messages share it
);
CREATE INDEX report_errors_group ON report_errors(kind, name, project_id, signature, session_id, ts);
CREATE INDEX report_errors_session ON report_errors(session_id);
CREATE INDEX report_errors_ts ON report_errors(ts);

-- Which sessions the rollups hold, and what their derived counts were then.
CREATE TABLE report_sessions (
    session_id  TEXT PRIMARY KEY,      -- '' stands for the rows without a session
    signature   TEXT NOT NULL          -- the sessions row's counts, tokens, span, project and
                                       -- dirty flag when rolled up; a change means re-roll
);

-- Watermarks of the rollups.
CREATE TABLE report_state (
    name   TEXT PRIMARY KEY,           -- 'messages' (messages.id) or 'api_usage' (its rowid)
    value  INTEGER NOT NULL            -- the highest id already rolled up
);
