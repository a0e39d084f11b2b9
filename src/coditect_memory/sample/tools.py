"""Which tool the assistant calls, and what the other tools (Bash, to-dos, tasks, plans, the
web, MCP servers, sub-agents) ask and return; the result line is written by steps.py."""

from __future__ import annotations

from . import vocab as V
from .core import V2_0, Chain, Session, dumps
from .file_tools import FileTools
from .lines import SURROGATE_MARK


class Tools(FileTools):
    """Picks the tool of each call and draws what it asks and returns."""

    def _pick_tool(self, s: Session) -> str:
        r = self.random()
        if r < 0.004 and s.vi >= V2_0 and s.slug is None:
            return "ExitPlanMode"
        if r < 0.006:
            return "mcp__github__create_pr"
        key = (s.vi < V2_0, s.modern, s.lang == "ts")
        names = self.tool_names.get(key)
        if names is None:
            names = ["Read"] * 25 + ["Bash"] * 22 + ["Edit"] * 15 + ["Grep"] * 9 + ["Glob"] * 5 + \
                ["Write"] * 4 + ["TodoWrite"] * 4 + ["Task"] * 2 + ["WebSearch"] * 2 + \
                ["WebFetch"] + ["mcp__github__get_issue"]
            if key[0]:
                names += ["LS"] * 3 + ["MultiEdit"] * 2
            if key[1]:
                names += ["TaskCreate"] * 2
            if key[2]:
                names += ["mcp__playwright__browser_snapshot"] * 2
            self.tool_names[key] = names
        return self.choice(names)

    def _tool(self, s: Session, c: Chain) -> dict:
        """Choose a tool call and what it returns; the result is written by _result."""
        name = self._pick_tool(s)
        if c.sidechain:
            name = self.choice(("Read", "Read", "Grep", "Glob", "Bash"))
        forced = None
        for feature, tool, ok in (("subagent_modern", "Task", s.modern),
                                  ("subagent_legacy", "Task", not s.modern),
                                  ("plan", "ExitPlanMode", s.vi >= V2_0),
                                  ("tasks", "TaskCreate", s.modern),
                                  ("todos", "TodoWrite", True),
                                  ("pr", "mcp__github__create_pr", True)):
            if not c.sidechain and self._force(feature, ok and s.budget - s.rows > 40):
                forced = tool
                break
        name = forced or name
        if name == "Task" and (c.sidechain or s.budget - s.rows < 30):
            name = "Grep"
        tid = "toolu_01" + self._b62(22)
        fn = getattr(self, "_t_" + name.replace("mcp__", "mcp_").replace("__", "_"))
        call = fn(s, c)
        call["id"] = tid
        call["name"] = name
        return call

    def _bash_output(self, s: Session, cmd: str, fail: bool) -> str:
        lang = V.LANG[s.lang]
        if cmd in lang["test"]:
            n = self.randint(3, 60)
            if fail:
                test = self.choice(lang["tests"])
                tb = self._lines(s.lang, self.randint(5, 30))
                return (f"{'.' * n}F{'.' * self.randint(0, 20)}\n=================== FAILURES "
                        f"===================\n___ {test} ___\n" + "\n".join(tb) +
                        f"\nE   AssertionError: assert {self.randint(0, 99)} == {self.randint(100, 200)}"
                        f"\n========= 1 failed, {n} passed in {self.random() * 9:.2f}s =========")
            return f"{'.' * n}\n{n} passed in {self.random() * 9:.2f}s"
        if cmd in lang["lint"]:
            if fail:
                return "\n".join(f"{self._file(s)}:{self.randint(1, 400)}:{self.randint(1, 80)}: "
                                 f"E501 Line too long ({self.randint(101, 140)} > 100)"
                                 for _ in range(self.randint(1, 8))) + "\nFound errors."
            return "All checks passed!"
        if cmd.startswith("git status"):
            return (f"On branch {s.branch}\nChanges not staged for commit:\n  modified:   "
                    f"{self._file(s)}\n  modified:   {self._file(s)}\n\nno changes added to commit")
        if cmd.startswith("git log"):
            return "\n".join(f"{self._hex(7)} {self.choice(V.COMMITS)}" for _ in range(10))
        if fail:
            err = self.choice(V.ERRORS).replace("{cwd}", s.cwd).replace("{ident}", self.choice(V.IDENTS))
            return f"{err}\n" + "\n".join(self._lines(s.lang, self.randint(0, 6)))
        return "\n".join(self._lines(s.lang, self.randint(0, 25)))

    def _t_Bash(self, s: Session, c: Chain) -> dict:
        lang = V.LANG[s.lang]
        cmd = self.choice(lang["test"] + lang["lint"] + lang["other"])
        cmd = cmd.replace("{pkg}", V.PKG.get(s.cwd.rsplit("/", 1)[-1], "app"))
        rejected = self._err(0.012) or self._force("rejection", not c.sidechain and s.budget > 60)
        if rejected:
            return self._rejected({"command": cmd, "description": f"Run {cmd.split()[0]}"})
        fail = self._err(0.18)
        out = self._bash_output(s, cmd, fail)
        if self.random() < 0.0004:  # a verbose build log, megabytes long (rare)
            out += "\n" + "\n".join(self._lines(s.lang, self.randint(10000, 70000)))
        elif self.random() < 0.004 or self._force("tool_results_file", s.modern and not c.sidechain):
            out += "\n" + "\n".join(self._lines(s.lang, self.randint(1000, 2000)))  # 45-90 KB
        if len(out) < 20_000 and (self.random() < 0.0005 or self._force("surrogate")):
            out += f"\nemoji cut in half: {SURROGATE_MARK}"
            self._mark("surrogate")
        call = {"input": {"command": cmd, "description": f"Run {cmd.split()[0]}"},
                "content": f"Exit code 1\n{out}" if fail else out,
                "result": {"stdout": out, "stderr": "", "interrupted": False, "isImage": False},
                "error": fail, "bash": cmd in lang["test"]}
        if fail:
            call["result"] = f"Error: Exit code 1\n{out[:2000]}"
        return call

    def _t_TodoWrite(self, s: Session, c: Chain) -> dict:
        old = s.todos
        if not old or all(t["status"] == "completed" for t in old):
            new = []
            for _ in range(self.randint(2, 6)):
                item = self._fill(s, self.choice(V.PROMPTS)).split("\n")[0][:80]
                new.append({"content": item[:1].upper() + item[1:], "status": "pending",
                            "activeForm": "Working on: " + item[:60]})
            new[0]["status"] = "in_progress"
        else:
            new = [dict(t) for t in old]
            for t in new:
                if t["status"] == "in_progress":
                    t["status"] = "completed"
                    break
            for t in new:
                if t["status"] == "pending":
                    t["status"] = "in_progress"
                    break
        s.todos = [] if all(t["status"] == "completed" for t in new) else new
        self._mark("todos")
        return {"input": {"todos": new}, "error": False,
                "content": "Todos have been modified successfully. Ensure that you continue to use "
                           "the todo list to track your progress. Please proceed with the current "
                           "tasks if applicable",
                "result": {"oldTodos": old, "newTodos": new}}

    def _t_TaskCreate(self, s: Session, c: Chain) -> dict:
        n = len(s.tasks) + 1
        subject = self._fill(s, self.choice(V.PROMPTS)).split("\n")[0][:70]
        subject = subject[:1].upper() + subject[1:]
        task = {"id": str(n), "subject": subject, "description": f"{subject}. Verify with the tests.",
                "activeForm": "Working on " + subject[:40].lower(), "status": "pending",
                "blocks": [], "blockedBy": [str(n - 1)] if n > 1 and self.random() < 0.3 else []}
        s.tasks.append(task)
        self._mark("tasks")
        return {"input": {"subject": subject, "description": task["description"],
                          "activeForm": task["activeForm"]}, "error": False,
                "content": f"Task #{n} created successfully: {subject}",
                "result": {"task": {"id": str(n), "subject": subject}}}

    def _t_ExitPlanMode(self, s: Session, c: Chain) -> dict:
        if s.slug is None:
            slug = "-".join(self.rng.sample(V.SLUG_WORDS, 3))
            while slug in self.slugs:  # plan names are unique: plans/<slug>.md
                slug = "-".join(self.rng.sample(V.SLUG_WORDS, 3)) + f"-{self.randint(2, 99)}"
            self.slugs.add(slug)
            s.slug = slug
            s.main.head["slug"] = slug
        title = self.choice(V.PLAN_TITLES)
        steps = "\n".join(f"{i}. {self._fill(s, self.choice(V.PROMPTS)).splitlines()[0]}"
                          for i in range(1, self.randint(3, 7)))
        plan = f"# Plan: {title}\n\n## Context\n\n{self._fill(s, self.choice(V.MIDS))}\n\n" \
               f"## Steps\n\n{steps}\n\n## Verification\n\nRun `{self.choice(V.LANG[s.lang]['test'])}`.\n"
        s.plan = plan
        self._mark("plan")
        return {"input": {"plan": plan}, "error": False,
                "content": "User has approved your plan. You can now start coding. Start with "
                           "updating your todo list if applicable",
                "result": {"plan": plan, "isAgent": False, "filePath":
                           f"/home/dev/.claude/plans/{s.slug}.md"}}

    def _t_WebSearch(self, s: Session, c: Chain) -> dict:
        q = self.choice(V.WEB_QUERIES)
        links = [{"title": f"{q.title()} - {site}", "url": f"https://{site}/{self._hex(8)}"}
                 for site in ("stackoverflow.com/questions", "github.com/issues", "docs.example.org")]
        body = f"Web search results for query: \"{q}\"\n\nLinks: {dumps(links).decode()}\n\n" + \
            self._fill(s, self.choice(V.MIDS))
        return {"input": {"query": q}, "content": body, "error": False,
                "result": {"query": q, "results": links, "durationSeconds": round(self.random() * 4, 2)}}

    def _t_WebFetch(self, s: Session, c: Chain) -> dict:
        url = f"https://docs.example.org/{self.choice(V.LANG[s.lang]['deps'])}/changelog"
        if self._err(0.1):
            return {"input": {"url": url, "prompt": "What changed?"}, "error": True,
                    "content": "Request failed with status code 404", "result": "Error: 404"}
        body = "\n".join(self._lines(s.lang, self.randint(5, 40)))
        return {"input": {"url": url, "prompt": "What changed in the latest release?"}, "error": False,
                "content": body, "result": {"bytes": len(body), "code": 200, "url": url}}

    def _t_mcp_github_get_issue(self, s: Session, c: Chain) -> dict:
        num = self.randint(10, 900)
        if self._err(0.05):
            return {"input": {"owner": "acme", "repo": s.cwd.rsplit("/", 1)[-1], "issue_number": num},
                    "error": True, "content": "MCP error -32603: Not Found", "result": "Error: Not Found"}
        body = dumps({"number": num, "title": self._fill(s, self.choice(V.PROMPTS)).splitlines()[0],
                       "state": "open", "body": self._fill(s, self.choice(V.MIDS)),
                       "labels": ["bug"]}).decode()
        return {"input": {"owner": "acme", "repo": s.cwd.rsplit("/", 1)[-1], "issue_number": num},
                "error": False, "content": [{"type": "text", "text": body}],
                "result": [{"type": "text", "text": body}]}

    def _t_mcp_github_create_pr(self, s: Session, c: Chain) -> dict:
        num = self.randint(10, 900)
        repo = s.cwd.rsplit("/", 1)[-1]
        url = f"https://github.com/acme/{repo}/pull/{num}"
        body = dumps({"number": num, "html_url": url, "state": "open", "draft": False}).decode()
        s.pr = (num, url, f"acme/{repo}")
        self._mark("pr")
        return {"input": {"owner": "acme", "repo": repo, "title": self.choice(V.COMMITS),
                          "head": s.branch, "base": "main",
                          "body": "## Summary\n\n" + self._fill(s, self.choice(V.SUMMARIES))},
                "error": False, "content": [{"type": "text", "text": body}],
                "result": [{"type": "text", "text": body}]}

    def _t_mcp_playwright_browser_snapshot(self, s: Session, c: Chain) -> dict:
        n = self.randint(30, 600)
        body = "### Page state\n- Page URL: http://localhost:5173/settings\n```yaml\n" + "\n".join(
            f"{'  ' * (i % 5)}- {self.choice(('button', 'link', 'textbox', 'heading', 'row'))} "
            f"\"{self.choice(V.IDENTS)}\" [ref=e{i}]" for i in range(n)) + "\n```"
        return {"input": {}, "error": False, "content": [{"type": "text", "text": body}],
                "result": [{"type": "text", "text": body}]}

    def _t_Task(self, s: Session, c: Chain) -> dict:
        desc, prompt = self.choice(V.AGENT_TASKS)
        stype = self.choice(V.SUBAGENT_TYPES)
        return {"input": {"description": desc, "prompt": prompt, "subagent_type": stype},
                "error": False, "task": (desc, prompt, stype)}
