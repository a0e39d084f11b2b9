"""A real redis-server (Debian's package; the Makefile installs it) on a free loopback
port, without persistence, for the API's shared cache tests."""

from __future__ import annotations

import shutil
import subprocess

from .s3server import MotoServer, _wait_port, free_port


class RedisServer:
    def __init__(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed: `make dev` installs it "
                               "(apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_port(self.port)
        except RuntimeError:
            self.stop()
            raise

    stop = MotoServer.stop  # terminate; kill after 10 s (it only needs self.proc)
