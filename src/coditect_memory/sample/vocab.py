"""Words, paths and phrasings the sample generator draws from.

Plain data: projects with their languages, what a developer types, what the assistant
says, what tools print. Kept apart from the generator so the generator reads as logic.
"""

from __future__ import annotations

# (working directory, language, weight, branches). The slugs of `my_notes.v2` and of the
# nested invoices service show how lossy the projects/<slug> encoding is.
PROJECTS: list[tuple[str, str, int, tuple[str, ...]]] = [
    ("/home/dev/src/coditect-core", "python", 14, ("main", "feat/context-builder", "fix/token-refresh")),
    ("/home/dev/work/billing-api", "python", 12, ("main", "feat/invoices-v2", "chore/alembic")),
    ("/home/dev/work/web-dashboard", "ts", 11, ("main", "feat/usage-charts", "fix/login-redirect")),
    ("/home/dev/work/auth-service", "go", 8, ("main", "fix/jwt-clock-skew", "feat/oidc")),
    ("/home/dev/src/coditect-memory", "python", 8, ("main", "feat/search", "perf/ingest")),
    ("/home/dev/work/payments-gateway", "go", 6, ("main", "feat/stripe-webhooks", "fix/idempotency")),
    ("/home/dev/work/mobile-app", "ts", 6, ("main", "feat/offline-sync", "release/3.4")),
    ("/home/dev/work/infra-terraform", "tf", 5, ("main", "feat/eks-upgrade", "fix/iam-policy")),
    ("/home/dev/src/ml-pipeline", "python", 5, ("main", "exp/lora-finetune", "fix/dataloader")),
    ("/home/dev/src/rust-log-shipper", "rust", 4, ("main", "feat/backpressure", "fix/utf8-split")),
    ("/home/dev/work/search-indexer", "rust", 4, ("main", "feat/bm25", "perf/mmap")),
    ("/home/dev/work/data-warehouse", "python", 4, ("main", "feat/dbt-models", "fix/late-events")),
    ("/home/dev/oss/fastapi-users", "python", 3, ("main", "fix/oauth-state", "docs/examples")),
    ("/home/dev/work/billing-api/services/invoices", "python", 3, ("main", "feat/pdf-render")),
    ("/home/dev/src/dotfiles", "shell", 2, ("main", "master")),
    ("/home/dev/src/my_notes.v2", "ts", 1, ("main",)),
]

# Claude Code versions in release order, oldest first.
VERSIONS = [
    "1.0.92", "1.0.96", "1.0.98", "1.0.108", "1.0.120", "1.0.126", "2.0.14", "2.0.28", "2.0.37",
    "2.0.50", "2.0.55", "2.0.64", "2.0.76", "2.1.1", "2.1.2", "2.1.9", "2.1.19", "2.1.31",
    "2.1.38", "2.1.39",
]

MODELS_BY_ERA = [
    # (first version index, main models, sub-agent models)
    (0, ("claude-sonnet-4-20250514", "claude-opus-4-1-20250805"), ("claude-3-5-haiku-20241022",)),
    (6, ("claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805"), ("claude-haiku-4-5-20251001",)),
    (10, ("claude-opus-4-5-20251101", "claude-sonnet-4-5-20250929"), ("claude-haiku-4-5-20251001",)),
    (17, ("claude-opus-4-6", "claude-opus-4-5-20251101", "claude-sonnet-4-5-20250929"),
     ("claude-haiku-4-5-20251001",)),
]

LANG = {
    "python": {
        "files": ["src/{pkg}/api/routes.py", "src/{pkg}/models/user.py", "src/{pkg}/services/billing.py",
                  "src/{pkg}/auth/tokens.py", "src/{pkg}/db/session.py", "src/{pkg}/config.py",
                  "src/{pkg}/workers/tasks.py", "tests/test_auth.py", "tests/test_billing.py",
                  "tests/conftest.py", "alembic/env.py", "pyproject.toml", "README.md",
                  ".github/workflows/ci.yml", "src/{pkg}/cli.py", "src/{pkg}/schemas.py"],
        "test": ["uv run pytest -q", "pytest tests/test_auth.py -x -q", "pytest -k refresh -vv",
                 "python -m pytest --lf", "uv run pytest tests/ -n 2"],
        "lint": ["ruff check .", "uv run mypy src", "ruff format --check ."],
        "other": ["git status", "git diff --stat", "git log --oneline -10", "uv pip list | grep sqlalchemy",
                  "alembic upgrade head", "alembic revision --autogenerate -m 'add invoices'",
                  "docker compose up -d postgres", "python -c 'import {pkg}; print({pkg}.__version__)'"],
        "funcs": ["refresh_access_token", "create_invoice", "get_current_user", "apply_discount",
                  "parse_webhook", "build_query", "paginate", "validate_email", "issue_token",
                  "retry_with_backoff", "load_settings", "sync_customers"],
        "tests": ["test_refresh_token_expired", "test_create_invoice_rounding", "test_login_rate_limit",
                  "test_pagination_last_page", "test_webhook_signature", "test_migration_roundtrip"],
        "deps": ["sqlalchemy", "pydantic", "fastapi", "alembic", "httpx", "celery", "pytest-asyncio"],
        "kw": ["def", "class", "return", "import", "async def", "await", "with", "raise"],
    },
    "ts": {
        "files": ["src/components/Dashboard.tsx", "src/components/UsageChart.tsx", "src/hooks/useAuth.ts",
                  "src/api/client.ts", "src/pages/settings/index.tsx", "src/store/session.ts",
                  "src/utils/format.ts", "package.json", "vite.config.ts", "tsconfig.json",
                  "src/__tests__/client.test.ts", "src/routes.tsx", "playwright.config.ts"],
        "test": ["pnpm test", "pnpm vitest run src/__tests__/client.test.ts", "npx playwright test",
                 "pnpm test -- --watch=false"],
        "lint": ["pnpm lint", "npx tsc --noEmit", "pnpm eslint src --fix"],
        "other": ["git status", "git diff", "pnpm install", "pnpm build", "ls -la src/components",
                  "pnpm why react-query", "cat .env.example"],
        "funcs": ["useAuth", "fetchUsage", "formatCurrency", "refreshSession", "SettingsPage",
                  "UsageChart", "apiClient.get", "parseQuery", "useDebounce"],
        "tests": ["refreshes the session on 401", "formats negative amounts", "renders empty state",
                  "redirects to login after logout"],
        "deps": ["react-query", "vite", "zod", "react-router", "typescript", "eslint"],
        "kw": ["const", "export function", "return", "import", "await", "interface", "type"],
    },
    "go": {
        "files": ["cmd/server/main.go", "internal/auth/jwt.go", "internal/auth/jwt_test.go",
                  "internal/store/postgres.go", "internal/http/handlers.go", "internal/webhooks/stripe.go",
                  "go.mod", "Makefile", "internal/config/config.go"],
        "test": ["go test ./...", "go test ./internal/auth -run TestRefresh -v", "go test -race ./..."],
        "lint": ["golangci-lint run", "go vet ./..."],
        "other": ["git status", "go mod tidy", "go build ./cmd/server", "make migrate"],
        "funcs": ["ParseToken", "RefreshHandler", "NewStore", "VerifySignature", "WithIdempotencyKey"],
        "tests": ["TestRefreshToken", "TestClockSkew", "TestWebhookReplay", "TestStoreTx"],
        "deps": ["golang-jwt/jwt", "pgx", "chi", "stripe-go"],
        "kw": ["func", "return", "if err != nil {", "type", "var", "defer"],
    },
    "rust": {
        "files": ["src/main.rs", "src/batch.rs", "src/sink/http.rs", "src/config.rs", "Cargo.toml",
                  "src/index/bm25.rs", "tests/integration.rs", "benches/throughput.rs"],
        "test": ["cargo test", "cargo test batch:: -- --nocapture", "cargo nextest run"],
        "lint": ["cargo clippy -- -D warnings", "cargo fmt --check"],
        "other": ["git status", "cargo build --release", "cargo bench", "cargo tree -d"],
        "funcs": ["flush_batch", "split_utf8", "Bm25::score", "Sink::send", "Config::load"],
        "tests": ["splits_at_char_boundary", "flushes_on_timeout", "scores_rare_terms_higher"],
        "deps": ["tokio", "serde", "reqwest", "memmap2", "tracing"],
        "kw": ["fn", "let", "pub fn", "impl", "match", "use", "Ok(", "return"],
    },
    "tf": {
        "files": ["main.tf", "variables.tf", "modules/eks/main.tf", "modules/vpc/main.tf",
                  "envs/prod/terraform.tfvars", "iam.tf", "outputs.tf"],
        "test": ["terraform validate", "terraform plan -var-file=envs/prod/terraform.tfvars"],
        "lint": ["tflint", "terraform fmt -check -recursive"],
        "other": ["git status", "terraform init -upgrade", "aws sts get-caller-identity"],
        "funcs": ["module.eks", "aws_iam_role.node", "var.cluster_version", "aws_security_group.db"],
        "tests": ["plan for prod", "validate modules"],
        "deps": ["hashicorp/aws", "terraform-aws-modules/eks"],
        "kw": ["resource", "variable", "module", "output", "locals", "data"],
    },
    "shell": {
        "files": [".zshrc", "install.sh", "nvim/init.lua", "git/config", "tmux.conf", "bin/backup"],
        "test": ["shellcheck install.sh bin/*", "zsh -n .zshrc"],
        "lint": ["shellcheck bin/backup"],
        "other": ["git status", "ls -la ~/.config", "stow -nv nvim"],
        "funcs": ["backup_home", "link_dotfiles", "prompt_git"],
        "tests": ["shellcheck passes"],
        "deps": ["stow", "fzf", "neovim"],
        "kw": ["export", "alias", "function", "if", "fi", "local"],
    },
}

PKG = {"coditect-core": "coditect", "billing-api": "billing", "coditect-memory": "coditect_memory",
       "ml-pipeline": "mlpipe", "data-warehouse": "dwh", "fastapi-users": "fastapi_users",
       "invoices": "invoices"}

IDENTS = ["user", "token", "invoice", "customer", "session", "amount", "retry", "config", "payload",
          "result", "cursor", "batch", "event", "claims", "expires_at", "tenant", "order", "limit",
          "offset", "items", "request", "response", "headers", "db", "cache", "logger", "status"]

PROMPTS = [
    "fix the failing {test} test",
    "fix the failing auth token refresh test, it started breaking after the last merge",
    "set up Alembic migrations for this project",
    "add pagination to the /api/{ident}s endpoint, default page size 50",
    "why does `{cmd}` fail with ENOENT: no such file or directory, open '{cwd}/.env.local'?",
    "refactor {func} so it doesn't hit the database twice",
    "write unit tests for {func}, cover the edge cases",
    "the CI is red on {branch}, can you check what's wrong?",
    "bump {dep} to the latest version and fix whatever breaks",
    "explain how {file} works, I've never touched this part",
    "add retries with exponential backoff to {func}",
    "can you look at this stack trace?\n\n```\n{trace}\n```",
    "{func} returns None when {ident} is missing, it should raise instead",
    "rename {ident} to {ident2} everywhere, including the tests",
    "add structured logging to {file}",
    "make the {test} test less flaky, it fails maybe 1 in 10 runs",
    "there's a race in {func}, two workers can pick the same {ident}",
    "create a PR for this with a good description",
    "review my changes on this branch before I push",
    "we need a migration that adds a {ident}_id column with an index",
    "lint is complaining about {file}, fix it without disabling rules",
    "speed up {func}, it takes 4 seconds on the staging data",
    "add a --dry-run flag to the cli",
    "document the {ident} flow in the README",
    "update the Dockerfile to use a multi-stage build",
    "what does this error mean: `{error}`",
    "port {file} to the new config loader",
    "I get a 401 after exactly one hour, the token refresh doesn't seem to kick in",
    "implement the TODO in {file}",
    "check why `{cmd}` is so slow",
]

FOLLOWUPS = [
    "yes", "go ahead", "continue", "ok do it", "looks good, commit it", "run the tests again",
    "no, revert that and try a different approach", "what about the edge case when the list is empty?",
    "perfect, thanks", "also update the changelog", "can you split that into two commits?",
    "use the existing helper instead of writing a new one", "push it", "keep going",
    "that broke {test}, have a look", "why did you change {file}?", "ok now the same for {file}",
    "let's stop here and summarise what's left",
]

SLASH_COMMANDS = [("/review", "review", "{branch}"), ("/init", "init", ""),
                  ("/pr-comments", "pr-comments", ""), ("/security-review", "security-review", ""),
                  ("/fix-issue", "fix-issue", "#{num}")]
LOCAL_COMMANDS = [("/model", "Set model to \x1b[1mopus (claude-opus-4-5-20251101)\x1b[22m"),
                  ("/cost", "Total cost: $1.42\nTotal duration (API): 6m 12.3s"),
                  ("/mcp", "MCP servers: github (connected), playwright (connected)"),
                  ("/context", "Context usage: 64.2k / 200k tokens (32%)")]

INTROS = [
    "I'll start by looking at {file} to see how {ident} is handled.",
    "Let me check the current state of the tests first.",
    "Let me look at how {func} is implemented.",
    "I'll search for every place that uses {ident}.",
    "First I'll reproduce the failure.",
    "Let me read the relevant files before changing anything.",
]
MIDS = [
    "The failure comes from {func}: it compares a naive datetime with an aware one.",
    "Found it. `{ident}` is never reset when the request is retried, so the second attempt reuses a stale value.",
    "The test expects {ident} to be rounded half-up, but the code uses banker's rounding.",
    "There are {n} call sites. Only two of them pass `{ident}` explicitly.",
    "The config is loaded before the environment is read, which is why the override is ignored.",
    "This is a missing `await` in {func}.",
    "Now let me update the tests to match.",
    "Let me run the linter on the changed files.",
    "That fixed the first error; there's one more in {file}.",
    "I'll make the change in {file}.",
]
SUMMARIES = [
    "Done. Summary of the changes:\n\n- `{file}`: {func} now {fix}\n- `{file2}`: added tests for the "
    "edge cases ({test})\n\nAll {n} tests pass and lint is clean.",
    "Fixed. The root cause was that {func} {cause}. I changed it to {fix} and added a regression "
    "test (`{test}`).",
    "I've made the change in `{file}`. {n} tests pass. One thing to watch: {ident} is also set in "
    "`{file2}`, which I left untouched.",
    "The migration is in place:\n\n```\n{cmd}\n```\n\nIt adds the column, backfills it in batches of "
    "1000 and creates the index concurrently.",
    "Here's how it works:\n\n1. `{func}` reads the {ident} from the request\n2. it validates it "
    "against the cache\n3. on a miss it falls back to the database\n\nThe tricky part is {cause}.",
    "Committed as `{sha}`: \"{commit}\". The branch is ready for review.",
]
CAUSES = ["compared timestamps in different time zones", "swallowed the exception from the retry",
          "read the setting at import time", "mutated the shared default argument",
          "did not close the session on error", "used the wrong index on the composite key"]
FIXES = ["uses timezone-aware datetimes throughout", "raises a clear error on a missing value",
         "reads settings lazily", "batches the queries", "closes the session in a finally block",
         "retries idempotently with a backoff"]
COMMITS = ["fix: refresh tokens before expiry", "feat: paginate list endpoints",
           "chore: set up alembic", "test: cover rounding edge cases", "refactor: extract query builder"]
THINKING = [
    "The user wants me to {task}. Let me first look at {file} to understand the current behaviour. "
    "I should check how {func} is called before changing its signature.",
    "The test output shows the assertion on {ident}. It could be the fixture or the code under test. "
    "Reading the fixture first is cheaper.",
    "Two options: patch {func} directly, or move the logic into a helper shared with {file}. "
    "The helper is cleaner but touches more files; the user asked for a minimal fix.",
    "I need to be careful not to break the public API here. {func} is exported, so callers outside "
    "this package may rely on the current return type.",
    "The error says ENOENT, so the path is resolved relative to the wrong directory. The cwd is "
    "{cwd}, but the script runs from the repository root in CI.",
]
TASKS = ["fix the failing test", "add pagination", "set up migrations", "refactor the token flow",
         "speed up the query", "add retries"]

ERRORS = [
    "Error: ENOENT: no such file or directory, open '{cwd}/.env.local'",
    "ModuleNotFoundError: No module named '{ident}'",
    "TypeError: Cannot read properties of undefined (reading '{ident}')",
    "sqlalchemy.exc.IntegrityError: duplicate key value violates unique constraint \"{ident}_pkey\"",
    "error[E0382]: borrow of moved value: `{ident}`",
    "panic: runtime error: invalid memory address or nil pointer dereference",
    "TS2322: Type 'string | undefined' is not assignable to type 'string'.",
    "jwt: token is expired by 1h0m3s",
]
TRACE = [
    "Traceback (most recent call last):",
    '  File "{cwd}/src/app/auth/tokens.py", line 88, in refresh_access_token',
    "    claims = decode(token, key, algorithms=[ALG])",
    '  File "{cwd}/.venv/lib/python3.12/site-packages/jwt/api_jwt.py", line 210, in decode',
    "    raise ExpiredSignatureError(\"Signature has expired\")",
    "jwt.exceptions.ExpiredSignatureError: Signature has expired",
]

SUBAGENT_TYPES = ["Explore", "general-purpose", "Plan", "code-reviewer"]
AGENT_TASKS = [
    ("Find all token refresh call sites", "Find every place where access tokens are refreshed or "
     "validated. Report file paths, function names and how expiry is computed. Do not edit files."),
    ("Survey the test layout", "Survey the test suite: which fixtures exist, how the database is set "
     "up, which tests are slow. Return a short structured report."),
    ("Review the diff", "Review the changes on the current branch for bugs, missing tests and "
     "naming. Be specific, cite file:line."),
    ("Research the migration tool", "Research how migrations are generated and applied in this repo "
     "and list the commands a developer needs."),
]

WEB_QUERIES = ["alembic autogenerate server_default not detected", "pydantic v2 field_validator mode before",
               "react-query v5 invalidateQueries after mutation", "golang-jwt leeway clock skew",
               "tokio select biased fairness", "terraform eks managed node group update strategy"]
PLAN_TITLES = ["Token refresh redesign", "Invoice pagination", "Alembic setup", "Ingest speedups",
               "OIDC login", "Search index"]
SLUG_WORDS = ["radiant", "floating", "music", "humble", "seeking", "umbrella", "quiet", "amber",
              "lantern", "swift", "cedar", "harbor", "velvet", "orbit", "maple", "drifting", "copper"]

DEBUG_STARTUP = [
    "[DEBUG] Claude Code {version} starting (entrypoint: {entry})",
    "[DEBUG] Loading settings from /home/dev/.claude/settings.json",
    "[DEBUG] [LSP MANAGER] Initializing LSP server manager",
    "[DEBUG] [LSP MANAGER] No LSP servers configured for {lang}",
    "[DEBUG] Ripgrep: using bundled binary (rg 14.1.1)",
    "[DEBUG] Shell snapshot created at /home/dev/.claude/shell-snapshots/snapshot-zsh-{ms}-{rand}.sh",
    "[DEBUG] Git: detected repository at {cwd} (branch {branch})",
    "[DEBUG] MCP server \"github\": Starting connection with timeout 30000ms",
    "[DEBUG] MCP server \"github\": Successfully connected to stdio server in 812ms",
    "[DEBUG] Skills: loaded 4 skills from /home/dev/.claude/skills",
    "[DEBUG] Plugins: 2 plugins enabled from marketplace claude-plugins-official",
    "[DEBUG] Session index: added 1, updated 0, removed 0 (total: {n})",
    "[DEBUG] Executing hooks for SessionStart:startup",
    "[INFO] Auto-updater: current version {version} is the latest",
]
DEBUG_TOOL = [
    "[DEBUG] Executing hooks for PreToolUse:{tool}",
    "[DEBUG] Permission check for {tool}: allowed by rule {tool}(*) in settings",
    "[DEBUG] Stream started - received first chunk",
    "[DEBUG] Executing hooks for PostToolUse:{tool}",
]
DEBUG_WRITE = ["[DEBUG] Writing to temp file: {cwd}/{file}.tmp.{pid}.{ms}",
               "[DEBUG] Renamed temp file {cwd}/{file}.tmp.{pid}.{ms} to {cwd}/{file}",
               "[DEBUG] File {cwd}/{file} written atomically"]
DEBUG_ERRORS = [
    "[ERROR] Error: ENOENT: no such file or directory, open '{cwd}/.env.local'\n"
    "    at Object.openSync (node:fs:573:18)\n    at Object.readFileSync (node:fs:452:35)\n"
    "    at loadEnv (file:///usr/lib/node_modules/@anthropic-ai/claude-code/cli.js:1421:9817)",
    "[ERROR] MCP server \"playwright\": Connection failed: spawn npx ENOENT",
    "[WARN] [LSP MANAGER] Server for typescript exited with code 1, restarting (attempt 2/3)",
    "[ERROR] API error (attempt 1/10): 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
    "\"message\":\"Overloaded\"}}",
    "[WARN] Hook PostToolUse:Edit returned non-zero exit code 1\n  stderr: ruff: 2 errors found\n"
    "  command: cd $CLAUDE_PROJECT_DIR && ruff check --fix",
]
DEBUG_MISC = [
    "[DEBUG] Hook output: {{\n  \"continue\": true,\n  \"suppressOutput\": false\n}}",
    "[DEBUG] Compacting conversation: 168 messages, ~171k tokens",
    "[DEBUG] Telemetry: flushed 12 events",
    "[DEBUG] Context window: {n}k tokens used",
    "[INFO] Permission mode changed to acceptEdits",
]

SHELL_SNAPSHOT = """# Snapshot file
# Unset all aliases to avoid conflicts with functions
unalias -a 2>/dev/null || true
# Functions
{functions}
# Shell Options
setopt nohashdirs
setopt login
setopt share_history
setopt hist_ignore_dups
# Aliases
alias -- gs='git status'
alias -- gd='git diff'
alias -- ll='ls -lah'
alias -- k=kubectl
alias -- py=python3
alias -- tf=terraform
# Check for rg availability
if ! command -v rg >/dev/null 2>&1; then
  alias rg='/usr/lib/node_modules/@anthropic-ai/claude-code/vendor/ripgrep/x64-linux/rg'
fi
export PATH=/home/dev/.local/bin:/home/dev/.cargo/bin:/home/dev/go/bin:/usr/local/bin:/usr/bin:/bin
export EDITOR=nvim
export PAGER=less
"""
SHELL_FUNCS = [
    "mkcd () {\n\tmkdir -p \"$1\" && cd \"$1\"\n}",
    "gco () {\n\tgit checkout \"$@\"\n}",
    "venv () {\n\tsource .venv/bin/activate\n}",
    "kctx () {\n\tkubectl config use-context \"$1\"\n}",
    "prompt_git () {\n\tlocal branch=$(git symbolic-ref --short HEAD 2>/dev/null)\n\t[ -n \"$branch\" ] && echo \" ($branch)\"\n}",
    "take () {\n\tmkdir -p $@ && cd ${@:$#}\n}",
]
