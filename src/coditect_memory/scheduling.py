"""Jobs that run by themselves: a cron line or a systemd user timer for a `memory` command
(`backup schedule`, `ingest schedule`). Nothing here runs the job; it only says how."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class When:
    """Daily at HH:MM, or every N minutes (`every` > 0)."""

    hour: int = 0
    minute: int = 0
    every: int = 0

    def cron(self) -> str:
        if self.every:
            return f"*/{self.every} * * * *" if self.every < 60 else f"0 */{self.every // 60} * * *"
        return f"{self.minute} {self.hour} * * *"

    def calendar(self) -> str:
        if self.every:
            return f"*:0/{self.every}" if self.every < 60 else f"0/{self.every // 60}:00"
        return f"*-*-* {self.hour:02d}:{self.minute:02d}:00"


def command(args: list[str], home: Path) -> str:
    """`MEMORY_HOME=... memory ARGS`, quoted for a shell."""
    exe = shutil.which("memory") or f"{sys.executable} -m coditect_memory"
    env = f"MEMORY_HOME={shlex.quote(str(home))}"
    return f"{env} {exe} {' '.join(shlex.quote(a) for a in args)}"


def cron_line(cmd: str, when: When, log: Path) -> str:
    return f"{when.cron()} {cmd} >> {shlex.quote(str(log))} 2>&1"


def systemd_units(name: str, description: str, cmd: str, when: When) -> dict[str, str]:
    """`<name>.service` (one run) and `<name>.timer`; Persistent catches up after a sleep."""
    service = (f"[Unit]\nDescription={description}\n\n[Service]\nType=oneshot\n"
               f"ExecStart=/bin/sh -c {shlex.quote(cmd)}\n")
    delay = 600 if not when.every else min(60, when.every * 6)
    timer = (f"[Unit]\nDescription={description}\n\n[Timer]\n"
             f"OnCalendar={when.calendar()}\nPersistent=true\n"
             f"RandomizedDelaySec={delay}\n\n[Install]\nWantedBy=timers.target\n")
    return {f"{name}.service": service, f"{name}.timer": timer}


def install_systemd(units: dict[str, str]) -> list[str]:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "systemd" / "user"
    base.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in units.items():
        path = base / name
        path.write_text(text)
        written.append(str(path))
    return written


@dataclass(frozen=True)
class Schedule:
    """A job: its command, and a cron line or systemd units (and where they were written)."""

    command: str
    cron: str | None = None
    units: dict[str, str] | None = None
    installed: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def plan(cmd: str, when: When, name: str, description: str, log: Path, systemd: bool,
         install: bool) -> Schedule:
    """`cmd` at `when`: a cron line, or systemd units (written to disk when `install`)."""
    if not systemd:
        return Schedule(cmd, cron=cron_line(cmd, when, log))
    units = systemd_units(name, description, cmd, when)
    return Schedule(cmd, units=units, installed=install_systemd(units) if install else None)
