"""The files a reader lists but does not read: stats-cache.json, settings.json, .last-cleanup,
plugins/."""

from __future__ import annotations

import orjson

from .core import DAY_MS, END_MS, Core, day, dumps, iso


class SettingsFiles(Core):
    """Writes the settings and caches a reader lists as not read."""

    def _settings_files(self) -> None:
        stats = {"version": 2, "lastComputedDate": day(END_MS), "totalSessions": len(self.per_session),
                 "totalMessages": self.t_by_source["transcript"], "dailyActivity": [],
                 "hourCounts": [0] * 24}
        self._write_file("stats-cache.json", dumps(stats), "not_read", END_MS)
        settings = {"permissions": {"allow": ["Bash(git status)", "Bash(uv run pytest:*)", "Read(*)"],
                                    "deny": ["Read(./.env)"]}, "model": "opus",
                    "hooks": {"PostToolUse": [{"matcher": "Edit|Write", "hooks": [
                        {"type": "command", "command": "/home/dev/.claude/hooks/format.sh"}]}]},
                    "cleanupPeriodDays": 30}
        self._write_file("settings.json", dumps(settings, option=orjson.OPT_INDENT_2), "not_read", END_MS)
        self._write_file(".last-cleanup", iso(END_MS - 3 * DAY_MS).encode(), "not_read", END_MS)
        plugins = {"version": 1, "plugins": {"github@claude-plugins-official": {"version": "1.2.0"}}}
        self._write_file("plugins/installed_plugins.json", dumps(plugins), None, END_MS)
        self.files["not_read"][0] += 1  # an ignored folder is listed once, as a folder of 0 bytes
