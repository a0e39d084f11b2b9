-- What SQLite has and PostgreSQL lacks, so both backends run the same queries (dialect.py).
-- Made (or replaced) whenever the store opens writable: not a migration, no data.

-- SQLite's scalar min(a, b) / max(a, b): NULL when either is NULL.
CREATE OR REPLACE FUNCTION max(a bigint, b bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
    AS 'SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE greatest(a, b) END';
CREATE OR REPLACE FUNCTION min(a bigint, b bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
    AS 'SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE least(a, b) END';

-- sum(condition): how many rows meet it (SQLite counts true as 1).
CREATE OR REPLACE FUNCTION memory_count_true(n bigint, v boolean) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS 'SELECT n + CASE WHEN v THEN 1 ELSE 0 END';
CREATE OR REPLACE AGGREGATE sum(boolean) (SFUNC = memory_count_true, STYPE = bigint,
                                          INITCOND = '0');

-- json_extract(doc, '$.key'): one top-level key of a JSON text, as text.
CREATE OR REPLACE FUNCTION json_extract(doc text, path text) RETURNS text LANGUAGE sql IMMUTABLE
    AS 'SELECT (doc::json) ->> substr(path, 3)';

-- group_concat(value, separator): the non-NULL values joined (order as the rows come).
CREATE OR REPLACE FUNCTION memory_concat(acc text, v text, sep text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS 'SELECT CASE WHEN v IS NULL THEN acc WHEN acc IS NULL THEN v ELSE acc || sep || v END';
CREATE OR REPLACE AGGREGATE group_concat(text, text) (SFUNC = memory_concat, STYPE = text);
