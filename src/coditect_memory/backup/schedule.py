"""`backup schedule`: a daily backup as a cron line or a systemd user timer."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path


def command(target: str | None, kind: str, home: Path) -> str:
    exe = shutil.which("memory") or f"{sys.executable} -m coditect_memory"
    parts = [exe, "backup", "create", "--type", kind]
    if target:
        parts += ["--target", target]
    env = f"MEMORY_HOME={shlex.quote(str(home))}"
    return f"{env} {' '.join(shlex.quote(p) if ' ' not in p else p for p in parts)}"


def cron_line(cmd: str, hour: int, minute: int, home: Path) -> str:
    log = shlex.quote(str(home / "backup.log"))
    return f"{minute} {hour} * * * {cmd} >> {log} 2>&1"


def systemd_units(cmd: str, hour: int, minute: int) -> dict[str, str]:
    service = ("[Unit]\nDescription=coditect-memory daily backup\n\n[Service]\nType=oneshot\n"
               f"ExecStart=/bin/sh -c {shlex.quote(cmd)}\n")
    timer = ("[Unit]\nDescription=coditect-memory daily backup\n\n[Timer]\n"
             f"OnCalendar=*-*-* {hour:02d}:{minute:02d}:00\nPersistent=true\n"
             "RandomizedDelaySec=600\n\n[Install]\nWantedBy=timers.target\n")
    return {"memory-backup.service": service, "memory-backup.timer": timer}


def install_systemd(units: dict[str, str]) -> list[str]:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "systemd" / "user"
    base.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in units.items():
        path = base / name
        path.write_text(text)
        written.append(str(path))
    return written
