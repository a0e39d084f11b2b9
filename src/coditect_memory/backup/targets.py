"""Where backups go: a local folder or an S3-compatible bucket, behind one small interface.

Every write is atomic (a local temp file renamed into place, an S3 PUT), so a reader sees an
object whole or not at all. Keys are built from validated names only, and a local target
also refuses any key that would resolve outside its folder.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import os
import secrets
from abc import ABC, abstractmethod
from pathlib import Path

from ..errors import TargetError

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class Target(ABC):
    url: str

    @abstractmethod
    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key."""

    @abstractmethod
    def write(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys under `prefix` (relative to the target), in no particular order."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    def sync(self) -> None:  # noqa: B027 - a no-op where each write is durable (S3)
        """Make every write so far durable (the commit point calls this before a manifest)."""

    def fingerprints(self, prefix: str) -> dict[str, str]:
        """{key: what changes when the key's bytes are rewritten} under `prefix`, from one
        listing (size and mtime locally, size and ETag on S3); {} where unknown."""
        return {}


class LocalTarget(Target):
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().absolute()
        self.url = str(self.root)
        self._written: list[Path] = []

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise TargetError(f"refusing a key outside the target: {key!r}")
        return path

    def read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise TargetError(f"cannot read {self.root / key}: {e.strerror}") from None

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            self._written.append(path)  # made durable by sync(), before any manifest
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if e.errno in _FULL:
                raise TargetError(f"the target {self.root} is full ({e.strerror}); nothing was "
                                  "committed: free some space and run the backup again") from None
            raise TargetError(f"cannot write to the target {self.root}: {e.strerror}") from None

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix
        out = []
        for folder, _, names in os.walk(base):
            rel = os.path.relpath(folder, self.root).replace(os.sep, "/")
            for name in names:
                if not name.startswith("."):
                    out.append(name if rel == "." else f"{rel}/{name}")
        return out

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def fingerprints(self, prefix: str) -> dict[str, str]:
        out = {}
        for key in self.list(prefix):
            with contextlib.suppress(FileNotFoundError):
                st = os.stat(self.root / key)
                out[key] = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
        return out

    def sync(self) -> None:
        """fsync every file written since the last sync, then their folders. Deferred to here
        (not per write) so the kernel writes them back meanwhile: one fsync per object at
        write time cost more than compressing it."""
        written, self._written = self._written, []
        folders = {p.parent for p in written} | {self.root}
        for path in [*written, *folders]:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # replaced or pruned since
            except OSError as e:
                raise TargetError(f"cannot sync {path}: {e.strerror}") from None
            try:
                os.fsync(fd)
            except OSError as e:
                if e.errno in _FULL:
                    raise TargetError(f"the target {self.root} is full ({e.strerror}); nothing "
                                      "was committed: free some space and run the backup again") from None
                raise TargetError(f"cannot sync {path}: {e.strerror}") from None
            finally:
                os.close(fd)

    def temp_files(self) -> builtins.list[str]:
        """Temp files left by a killed writer (removed by `prune`)."""
        out = []
        for folder, _, names in os.walk(self.root):
            for name in names:
                if name.startswith(".") and ".tmp-" in name:
                    out.append(os.path.join(folder, name))
        return out


class S3Target(Target):
    """s3://bucket/prefix on any S3-compatible store; credentials the standard AWS way."""

    def __init__(self, url: str, endpoint_url: str | None = None) -> None:
        rest = url[len("s3://"):]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise TargetError(f"no bucket in {url!r}: use s3://bucket/prefix")
        self.url = url
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint = endpoint_url or None  # settings.py folds in $MEMORY_S3_ENDPOINT
        import boto3
        from botocore.config import Config

        cfg = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"},
                     max_pool_connections=8)
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint, config=cfg)

    def _fail(self, action: str, key: str, e: Exception) -> TargetError:
        where = f"s3://{self.bucket}/{self.prefix}{key}"
        via = f" via {self.endpoint}" if self.endpoint else ""
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        return TargetError(f"cannot {action} {where}{via}: {msg}")

    def read(self, key: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.s3.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read()
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._fail("read", key, e) from None
        except BotoCoreError as e:
            raise self._fail("read", key, e) from None

    def write(self, key: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.s3.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)
        except (BotoCoreError, ClientError) as e:
            raise TargetError(f"{self._fail('write', key, e)}; nothing was committed: run the "
                              "backup again when the server is back") from None

    def list(self, prefix: str) -> list[str]:
        return builtins.list(self.fingerprints(prefix))

    def fingerprints(self, prefix: str) -> dict[str, str]:
        from botocore.exceptions import BotoCoreError, ClientError

        out = {}
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix)
            for page in pages:
                for o in page.get("Contents", []):
                    out[o["Key"][len(self.prefix):]] = f"{o['Size']}:{o.get('ETag', '')}"
        except (BotoCoreError, ClientError) as e:
            raise self._fail("list", prefix, e) from None
        return out

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.s3.delete_object(Bucket=self.bucket, Key=self.prefix + key)
        except (BotoCoreError, ClientError) as e:
            raise self._fail("delete", key, e) from None


def open_target(url: str, endpoint_url: str | None = None) -> Target:
    if url.startswith("s3://"):
        return S3Target(url, endpoint_url)
    if "://" in url and not url.startswith("file://"):
        raise TargetError(f"unknown target {url!r}: use a folder or s3://bucket/prefix")
    return LocalTarget(url[len("file://"):] if url.startswith("file://") else url)
