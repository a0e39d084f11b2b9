"""What reports ask of a store: one typed query per figure a report shows.

Every activity query takes a `Where` (a time range and projects) and sums per-row columns
that ingest filled (derive/), so a backend answers with plain SQL. Days are UTC day numbers
(epoch ms // 86 400 000); times are epoch ms.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

from .read import RunCounts

UsageKey = Literal["day", "model", "project", "session", "total"]


@dataclass(frozen=True)
class Where:
    """The filters as a store applies them: [since, until) and the projects (None: all)."""

    since: int | None = None
    until: int | None = None
    project_ids: tuple[int, ...] | None = None


class ProjectRow(TypedDict):
    id: int
    path: str
    name: str | None


class _Activity(TypedDict):
    sessions: int
    messages: int
    prompts: int
    errors: int
    tool_calls: int
    first_ts: int | None
    last_ts: int | None
    active_ms: int


class ProjectActivityRow(_Activity):
    project_id: int | None
    project: str | None
    project_name: str | None
    active_days: int


class TimelineRow(_Activity):
    """Per (day, project)."""

    day: int
    project_id: int | None
    project: str | None
    project_name: str | None


class DailyRow(TypedDict):
    day: int
    messages: int
    prompts: int
    errors: int
    active_ms: int
    sessions: int


class DaySessionRow(TypedDict):
    """Per (day, project, session): the session's share of the day, its title and first prompt."""

    day: int
    project_id: int | None
    project: str | None
    project_name: str | None
    session_id: str
    title: str | None
    first_prompt: str | None
    started_at: int | None
    ended_at: int | None
    git_branch: str | None
    model: str | None
    messages: int
    prompts: int
    errors: int
    tool_calls: int
    first_ts: int | None
    last_ts: int | None
    active_ms: int


class NameUseRow(TypedDict):
    """Uses and errors of one component or tool (kind: 'component' or 'tool')."""

    kind: str
    name: str
    uses: int
    errors: int


class DayNameRow(NameUseRow):
    day: int
    project_id: int | None


class DaySessionNameRow(NameUseRow):
    day: int
    session_id: str


class ComponentUseRow(NameUseRow):
    sessions: int
    active_days: int
    projects: int


class UsageRow(TypedDict):
    """Tokens per (key, model); key: a day number, project id, session id or None."""

    key: int | str | None
    model: str | None
    responses: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


class ErrorGroupRow(TypedDict):
    """Errors per (component or tool, project)."""

    kind: str
    name: str
    project_id: int | None
    project: str | None
    project_name: str | None
    errors: int
    sessions: int
    days: int
    first_ts: int | None
    last_ts: int | None
    signatures: int


class ErrorSignatureRow(TypedDict):
    """Errors per (component or tool, project, signature), with the first one's id."""

    kind: str
    name: str
    project_id: int | None
    signature: str
    errors: int
    sessions: int
    first_ts: int | None
    last_ts: int | None
    sample_id: int


class ErrorRow(TypedDict):
    """One error row with its text (its head) and where it was read."""

    uid: str
    message_id: int
    session_id: str | None
    project_id: int | None
    project: str | None
    project_name: str | None
    ts: int | None
    kind: str
    name: str
    signature: str
    type: str
    source_kind: str
    level: str | None
    tool_name: str | None
    content: str | None
    source_file: str | None
    source_line: int | None


class ModelUsageRow(TypedDict):
    model: str | None
    responses: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


class FileVersionsRow(TypedDict):
    path: str
    versions: int


class PromptRow(TypedDict):
    session_id: str
    ts: int
    content: str


class RunRow(RunCounts):
    run_id: int
    started_at: int
    finished_at: int | None
    status: str
    root: str | None
    format: str | None
    message: str | None


class RunKindRow(TypedDict):
    run_id: int
    kind: str
    files: int
    bytes_read: int
    messages_read: int
    messages_new: int
    errors: int


class RunIssuesRow(TypedDict):
    run_id: int
    severity: str
    issues: int


class SourceKindRow(TypedDict):
    kind: str
    files: int
    bytes: int
    bytes_consumed: int
    complete: int
    files_with_errors: int
    errors: int
    partial: int
    missing: int
    messages: int


class SourceFileRow(TypedDict):
    root: str
    path: str
    kind: str
    size: int | None
    bytes_consumed: int
    lines_consumed: int
    messages: int
    errors: int
    last_error: str | None
    partial_tail: int
    missing_since: int | None
    last_run_id: int | None


class ReportStore(ABC):
    """Reports read these; reports/ composes them. Bounds that are not whole UTC days, and
    stores that cannot be written (stale rollups), are answered exactly all the same."""

    @abstractmethod
    def refresh_reports(self) -> int:
        """Bring what reports read up to date (after ingest); returns the sessions redone.
        Reports never need it: on a store they cannot write they compute what is stale."""

    # --- projects and activity ---------------------------------------------------------
    @abstractmethod
    def report_projects(self, project: str | None = None) -> list[ProjectRow]:
        """Projects whose path or name is `project` (every project without one)."""

    @abstractmethod
    def report_project_activity(self, where: Where) -> list[ProjectActivityRow]:
        """Per project, most active first."""

    @abstractmethod
    def report_timeline(self, where: Where) -> list[TimelineRow]:
        """Per (day, project), by day."""

    @abstractmethod
    def report_daily(self, where: Where) -> list[DailyRow]:
        """Per day, by day."""

    @abstractmethod
    def report_day_sessions(self, where: Where) -> list[DaySessionRow]:
        """Per (day, project, session), by day and first activity."""

    @abstractmethod
    def report_timeline_names(self, where: Where) -> list[DayNameRow]:
        """Components and tools per (day, project), most used first within each."""

    @abstractmethod
    def report_day_session_names(self, where: Where) -> list[DaySessionNameRow]:
        """Components and tools per (day, session), most used first."""

    @abstractmethod
    def report_component_usage(self, where: Where) -> list[ComponentUseRow]:
        """Per component and tool, most used first."""

    @abstractmethod
    def report_usage(self, where: Where, by: UsageKey = "day") -> list[UsageRow]:
        """Tokens per (key, model): key is the day, project id, session id or None."""

    # --- errors (each carries its own time: bounds apply exactly) ------------------------
    @abstractmethod
    def report_error_groups(self, where: Where) -> list[ErrorGroupRow]:
        """Most errors first."""

    @abstractmethod
    def report_error_signatures(self, where: Where) -> list[ErrorSignatureRow]:
        """Most errors first."""

    @abstractmethod
    def report_errors(self, where: Where, session_id: str | None = None,
                      ids: Sequence[int] | None = None) -> list[ErrorRow]:
        """Error rows in time order: those with message ids `ids`, else every one in range
        (of one session when given)."""

    # --- one session ---------------------------------------------------------------------
    @abstractmethod
    def report_session_usage(self, session_id: str) -> list[ModelUsageRow]:
        """Tokens per model, most responses first."""

    @abstractmethod
    def report_session_names(self, session_id: str) -> list[NameUseRow]:
        """Components and tools, most used first."""

    @abstractmethod
    def report_session_active_ms(self, session_id: str) -> int:
        """Gaps of at most 30 min between the session's conversation lines, summed."""

    @abstractmethod
    def report_session_files(self, session_id: str) -> list[FileVersionsRow]:
        """Files with file-history versions (what Claude Code backed up before editing)."""

    @abstractmethod
    def report_prompts(self, session_ids: Sequence[str], since: int | None,
                       until: int | None) -> list[PromptRow]:
        """Human prompts of these sessions in [since, until), by session and time."""

    # --- ingest runs and coverage ----------------------------------------------------------
    @abstractmethod
    def report_runs(self) -> list[RunRow]:
        """Every ingest run, oldest first."""

    @abstractmethod
    def report_run_kinds(self) -> list[RunKindRow]:
        """What each run read, per source kind."""

    @abstractmethod
    def report_run_issues(self) -> list[RunIssuesRow]:
        """Issues per run and severity."""

    @abstractmethod
    def report_source_kinds(self) -> list[SourceKindRow]:
        """Coverage per source kind."""

    @abstractmethod
    def report_source_files(self, every: bool = False) -> list[SourceFileRow]:
        """Per source file: only those not wholly read, with errors, growing or gone, unless
        `every`."""
