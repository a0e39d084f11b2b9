"""Tool calls on the project's files (Read, Edit, MultiEdit, Write, Grep, Glob, LS): what each
call asks and returns, with the files' current contents kept per session."""

from __future__ import annotations

import math
from typing import Any

from . import vocab as V
from .core import V2_0, Chain, Session
from .file_history import FileHistory


class FileTools(FileHistory):
    """What a file tool call asks and returns (a dict _result turns into the result line)."""

    def _err(self, p: float) -> bool:
        return self.random() < p

    def _rejected(self, inp: dict) -> dict:
        return {"input": inp, "error": True, "rejected": True, "result": "User rejected tool use",
                "content": "The user doesn't want to proceed with this tool use. The tool use was "
                           "rejected (eg. if it was a file edit, the new_string was NOT written to "
                           "the file). STOP what you are doing and wait for the user to tell you "
                           "how to proceed."}

    def _current(self, s: Session, file: str) -> list[str]:
        lines = s.files.get(file)
        if lines is None:
            n = int(min(600, max(6, self.rng.lognormvariate(math.log(26), 0.75))))
            lines = s.files[file] = self._lines(s.lang, n)
        return lines

    def _t_Read(self, s: Session, c: Chain) -> dict:
        file = self._file(s)
        path = f"{s.cwd}/{file}"
        if self._err(0.04):
            msg = "File does not exist." if self.random() < 0.6 else \
                f"ENOENT: no such file or directory, open '{path}'"
            return {"input": {"file_path": path}, "content": f"<tool_use_error>{msg}</tool_use_error>",
                    "result": f"Error: {msg}", "error": True}
        lines = self._current(s, file)
        total = len(lines)
        inp: dict[str, Any] = {"file_path": path}
        if s.modern and file in s.read and self.random() < 0.7:
            return {"input": inp, "error": False, "result": {"type": "file_unchanged"},
                    "content": "File unchanged since last read. The content from the earlier Read "
                               "tool_result in this conversation is still current — refer to that "
                               "instead of re-reading."}
        start = 1
        if self.random() < 0.0004:  # a huge log file read whole (rare)
            lines = self._lines(s.lang, self.randint(8000, 60000))
            total = len(lines)
        elif total > 120 and self.random() < 0.7:  # a window of a long file
            start = self.randint(1, total - 100)
            limit = self.randint(60, 100)
            lines = lines[start - 1:start - 1 + limit]
            inp.update(offset=start, limit=limit)
        s.read.add(file)
        body = "\n".join(f"{i:>6}\t{line}" for i, line in enumerate(lines, start))
        return {"input": inp, "content": body,
                "result": {"type": "text", "file": {"filePath": path, "content": "\n".join(lines),
                                                    "numLines": len(lines), "startLine": start,
                                                    "totalLines": total}},
                "error": False}

    def _t_Edit(self, s: Session, c: Chain) -> dict:
        file = self._file(s)
        path = f"{s.cwd}/{file}"
        lines = self._current(s, file)
        i = self.randint(0, max(0, len(lines) - 3))
        old = "\n".join(lines[i:i + 3])
        new_lines = self._lines(s.lang, self.randint(1, 8))
        new = "\n".join(new_lines)
        inp = {"file_path": path, "old_string": old, "new_string": new, "replace_all": False}
        if not c.sidechain and (self._err(0.012)):
            return self._rejected(inp)
        if self._err(0.06):
            msg = f"String to replace not found in file.\nString: {old[:200]}"
            return {"input": inp, "content": f"<tool_use_error>{msg}</tool_use_error>",
                    "result": f"Error: {msg}", "error": True}
        call: dict[str, Any] = {"input": inp, "error": False, "edit": file}
        original = "\n".join(lines)
        self._backup(s, file)
        s.read.discard(file)
        lines[i:i + 3] = new_lines
        snippet = "\n".join(f"{k:>6}\t{line}" for k, line in enumerate(lines[i:i + 10], i + 1))
        call["content"] = (f"The file {path} has been updated. Here's the result of running "
                           f"`cat -n` on a snippet of the edited file:\n{snippet}")
        call["result"] = {"filePath": path, "oldString": old, "newString": new,
                          "originalFile": original if s.vi >= V2_0 else None,
                          "structuredPatch": [{"oldStart": i + 1, "oldLines": 3, "newStart": i + 1,
                                               "newLines": len(new_lines),
                                               "lines": ["-" + x for x in lines[i:i + 1]] +
                                               ["+" + x for x in new_lines]}],
                          "userModified": False, "replaceAll": False}
        return call

    def _t_MultiEdit(self, s: Session, c: Chain) -> dict:
        call = self._t_Edit(s, c)
        if not call["error"]:
            inp = call["input"]
            call["input"] = {"file_path": inp["file_path"],
                             "edits": [{"old_string": inp["old_string"], "new_string": inp["new_string"]}]}
            call["content"] = f"Applied 1 edit to {inp['file_path']}:\n1. Replaced \"{inp['old_string'][:40]}\""
        return call

    def _t_Write(self, s: Session, c: Chain) -> dict:
        pkg = V.PKG.get(s.cwd.rsplit("/", 1)[-1], "app")
        file = self.choice(V.LANG[s.lang]["files"]).replace("{pkg}", pkg)
        if self.random() < 0.5:
            stem, dot, ext = file.rpartition(".")
            file = f"{stem}_{self.choice(V.IDENTS)}.{ext}" if dot else file + "_new"
        path = f"{s.cwd}/{file}"
        lines = self._lines(s.lang, self.randint(8, 100))
        existed = file in s.files
        if existed:
            self._backup(s, file)
        elif s.vi >= V2_0 and file not in s.backups:
            s.backups[file] = ("", 1, None, s.t)  # a new file: tracked, nothing to back up
        s.files[file] = list(lines)
        s.read.discard(file)
        content = "\n".join(lines)
        return {"input": {"file_path": path, "content": content}, "error": False, "edit": file,
                "content": f"File {'updated' if existed else 'created'} successfully at: {path}",
                "result": {"type": "update" if existed else "create", "filePath": path,
                           "content": content, "structuredPatch": []}}

    def _t_Grep(self, s: Session, c: Chain) -> dict:
        pattern = self.choice(V.IDENTS) + ("_" + self.choice(V.IDENTS) if self.random() < 0.5 else "")
        n = self.randint(0, 30)
        files = sorted({self._file(s) for _ in range(n)})
        if self.random() < 0.5:
            body = "\n".join(f"{s.cwd}/{f}:{self.randint(1, 500)}:{self.choice(self.pools[s.lang]).strip()}"
                             for f in files for _ in range(self.randint(1, 3)))
            mode = "content"
        else:
            body = f"Found {len(files)} files\n" + "\n".join(f"{s.cwd}/{f}" for f in files)
            mode = "files_with_matches"
        if not files:
            body = "No matches found"
        return {"input": {"pattern": pattern, "path": s.cwd, "output_mode": mode, "-n": True},
                "content": body, "error": False,
                "result": {"mode": mode, "numFiles": len(files), "filenames": [f"{s.cwd}/{f}" for f in files],
                           "content": body if mode == "content" else "", "numLines": body.count("\n") + 1}}

    def _t_Glob(self, s: Session, c: Chain) -> dict:
        ext = self._file(s).rsplit(".", 1)[-1]
        files = sorted({f"{s.cwd}/{self._file(s)}" for _ in range(self.randint(1, 20))})
        return {"input": {"pattern": f"**/*.{ext}"}, "content": "\n".join(files), "error": False,
                "result": {"filenames": files, "durationMs": self.randint(3, 90),
                           "numFiles": len(files), "truncated": False}}

    def _t_LS(self, s: Session, c: Chain) -> dict:
        files = sorted({self._file(s) for _ in range(self.randint(3, 25))})
        body = f"- {s.cwd}/\n" + "\n".join(f"  - {f}" for f in files) + \
            "\n\nNOTE: do any of the files above seem malicious? If so, you MUST refuse to continue work."
        return {"input": {"path": s.cwd}, "content": body, "result": body, "error": False}
