// coditect-memory web UI: plain JS over /api/v1 (no build step). The token pasted on the
// login page is kept in localStorage and sent as `Authorization: Bearer`.
"use strict";
const API = "/api/v1";
const main = document.getElementById("main");
const REPORTS = ["project-activity", "timeline", "component-usage", "error-analysis", "usage",
                 "extraction-progress"];

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;"}[c]));
}
function when(iso) { return iso ? iso.slice(0, 16).replace("T", " ") : "—"; }
function num(n) { return typeof n === "number" ? n.toLocaleString("en-US") : esc(n); }
function token() { return localStorage.getItem("memory-token"); }

async function api(path, params) {
  const url = new URL(API + path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (Array.isArray(v)) v.forEach(x => url.searchParams.append(k, x));
    else if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const r = await fetch(url, {headers: {Authorization: "Bearer " + token()}});
  const body = await r.json();
  const message = body.error ? body.error.message : r.statusText;
  if (r.status === 401 && !location.hash.startsWith("#/login")) {
    localStorage.removeItem("memory-token");
    location.hash = "#/login";
  }
  if (!r.ok) throw new Error(message);
  return body;
}

function show(html) { main.innerHTML = html; }
function fail(e) { show(`<div class="card err">${esc(e.message)}</div>`); }
function query() {
  const q = location.hash.split("?")[1] || "";
  return new URLSearchParams(q);
}

// --- login -------------------------------------------------------------------------------
function login() {
  show(`<div class="card login"><h1>Log in</h1>
    <p class="muted">Paste an API token (make one with <code>memory auth token --name me --scope read</code>).
    It stays in this browser only.</p>
    <form id="login"><input name="token" placeholder="eyJ…" autocomplete="off">
    <button>Log in</button></form><p id="msg" class="err"></p></div>`);
  document.getElementById("login").onsubmit = async ev => {
    ev.preventDefault();
    localStorage.setItem("memory-token", ev.target.token.value.trim());
    try { await api("/projects"); location.hash = "#/search"; }
    catch (e) { localStorage.removeItem("memory-token"); document.getElementById("msg").textContent = e.message; }
  };
}

// --- search ------------------------------------------------------------------------------
const FILTERS = ["project", "source", "type", "role", "tool", "component", "level"];
const FACET_PARAM = {project: "project", source_kind: "source", type: "type", role: "role",
                     tool: "tool", component: "component", level: "level"};

function highlight(text, marks) {
  let out = "", at = 0;
  for (const [a, b] of marks || []) { out += esc(text.slice(at, a)) + "<mark>" + esc(text.slice(a, b)) + "</mark>"; at = b; }
  return out + esc(text.slice(at));
}

async function search() {
  const p = query();
  const params = {q: p.get("q") || "", sort: p.get("sort") || "relevance", since: p.get("since"),
                  until: p.get("until"), limit: 25, offset: p.get("offset") || 0, facets: "true"};
  for (const f of FILTERS) params[f] = p.getAll(f);
  const chips = FILTERS.flatMap(f => p.getAll(f).map(v => `<span class="tag">${esc(f)}: ${esc(v)}</span>`)).join(" ");
  show(`<form class="searchbar" id="sf">
      <input name="q" value="${esc(params.q)}" placeholder='words, "phrases", prefix*, -not, tool:Bash'>
      <input name="since" value="${esc(params.since || "")}" placeholder="since (7d, 2025-11-01)" size="14">
      <input name="until" value="${esc(params.until || "")}" placeholder="until" size="10">
      <select name="sort">${["relevance", "newest", "oldest"].map(s => `<option ${s === params.sort ? "selected" : ""}>${s}</option>`).join("")}</select>
      <button>Search</button></form><div>${chips}</div><div id="out"><p class="muted">Searching…</p></div>`);
  document.getElementById("sf").onsubmit = ev => {
    ev.preventDefault();
    const f = new FormData(ev.target), next = new URLSearchParams();
    for (const [k, v] of f) if (v) next.set(k, v);
    for (const k of FILTERS) p.getAll(k).forEach(v => next.append(k, v));
    location.hash = "#/search?" + next;
  };
  let res;
  try { res = await api("/search", params); } catch (e) { return fail(e); }
  const facets = Object.entries(res.facets || {}).filter(([, v]) => Object.keys(v).length).map(([name, counts]) =>
    `<h3>${esc(name)}</h3>` + Object.entries(counts).slice(0, 12).map(([k, n]) => {
      const next = new URLSearchParams(p); next.append(FACET_PARAM[name] || name, k); next.delete("offset");
      return `<a href="#/search?${next}"><span>${esc(k)}</span><span class="muted">${num(n)}</span></a>`;
    }).join("")).join("");
  const results = res.results.map(r => `<a class="card result" href="#/session/${encodeURIComponent(r.session_id || "")}?at=${encodeURIComponent(r.uid)}">
      <div class="meta"><span>${when(r.timestamp)}</span><span>${esc(r.project_name || "")}</span>
      <span class="tag ${r.is_error ? "err" : ""}">${esc(r.type)}${r.tool_name ? " · " + esc(r.tool_name) : ""}</span>
      <span>${esc(r.source_file || "")}${r.source_line ? ":" + r.source_line : ""}</span></div>
      <div class="snippet">${highlight(r.snippet, r.highlights)}</div></a>`).join("");
  const offset = Number(params.offset), more = offset + res.results.length < res.total;
  const page = d => { const n = new URLSearchParams(p); n.set("offset", Math.max(0, offset + d)); return "#/search?" + n; };
  document.getElementById("out").innerHTML = `<p class="muted" id="total">${num(res.total)} results in ${res.took_ms} ms (${esc(res.mode)})
      ${res.notes.map(n => " · " + esc(n)).join("")}</p>
    <div class="layout"><aside class="facets">${facets}</aside><section id="results">${results || "<p>No results.</p>"}
    <div class="pager">${offset ? `<a href="${page(-25)}">← previous</a>` : ""}${more ? `<a href="${page(25)}">next →</a>` : ""}</div></section></div>`;
}

// --- a session ---------------------------------------------------------------------------
function message(m, target) {
  const cls = ["msg", m.type, m.is_error || m.level === "error" ? "error" : "", m.is_sidechain ? "side" : "",
               m.uid === target ? "target" : ""].join(" ");
  const head = `<div class="meta"><span>${when(m.timestamp)}</span><span class="tag ${m.is_error ? "err" : ""}">${esc(m.type)}</span>
    ${m.tool_name ? `<span>${esc(m.tool_name)}</span>` : ""}${m.is_sidechain ? `<span class="tag">sub-agent ${esc(m.agent_id || "")}</span>` : ""}
    ${m.model ? `<span>${esc(m.model)}</span>` : ""}</div>`;
  const text = m.content || "";
  let body;
  if (m.type === "tool_use" || m.type === "tool_result" || m.type === "thinking" || m.type === "log" || text.length > 4000) {
    const label = m.type === "thinking" ? "thinking" : m.type === "tool_use" ? `call ${esc(m.tool_name || "")}` :
      m.type === "tool_result" ? (m.is_error ? "error result" : "result") : `${text.length.toLocaleString()} characters`;
    body = `<details ${m.uid === target || m.is_error ? "open" : ""}><summary>${label}</summary><pre>${esc(text)}</pre></details>`;
  } else {
    body = `<div class="text">${esc(text)}</div>`;
  }
  return `<div class="${cls}" id="m-${esc(m.uid)}">${head}${body}</div>`;
}

const HIDDEN = new Set(["progress", "file-history-snapshot", "queue-operation", "last-prompt",
  "permission-mode", "agent-setting", "turn_duration"]);

async function session(id) {
  const target = query().get("at");
  let s;
  try { s = await api("/sessions/" + encodeURIComponent(id)); } catch (e) { return fail(e); }
  const shown = s.messages.filter(m => m.uid === target || !(HIDDEN.has(m.type) || m.is_meta || m.linked_uid ||
    (m.type === "log" && m.level !== "warn" && m.level !== "error") ||
    ((m.type === "user" || m.type === "assistant") && !(m.content || "").trim())));
  const agents = new Set(s.messages.filter(m => m.is_sidechain).map(m => m.agent_id)).size;
  show(`<div class="card"><h1 id="title">${esc(s.title || s.first_prompt || s.session_id)}</h1>
    <div class="meta"><span>${esc(s.project || "")}</span><span>${when(s.started_at)} → ${when(s.ended_at)}</span>
    <span>${esc(s.git_branch || "")}</span><span>${esc(s.model || "")}</span>${(s.tags || []).map(t => `<span class="tag">${esc(t)}</span>`).join("")}</div>
    <div class="stats" style="margin-top:10px">
      <div><b>${num(s.message_count)}</b>messages</div><div><b>${num(s.prompt_count)}</b>prompts</div>
      <div><b>${num(s.tool_call_count)}</b>tool calls</div><div><b class="${s.error_count ? "err" : ""}">${num(s.error_count)}</b>errors</div>
      <div><b>${agents}</b>sub-agents</div>
      <div><b>${num(s.input_tokens + s.output_tokens)}</b>tokens in+out</div>
      <div><b>${num(s.cache_read_tokens)}</b>cache read</div><div><b>${num(s.cache_write_tokens)}</b>cache write</div></div>
    <p class="muted">${shown.length.toLocaleString()} of ${s.messages.length.toLocaleString()} lines shown (bookkeeping hidden) ·
      <code>memory show session ${esc(s.session_id)}</code></p></div>
    <section id="conversation">${shown.map(m => message(m, target)).join("")}</section>`);
  if (target) { const el = document.getElementById("m-" + target); if (el) el.scrollIntoView({block: "center"}); }
}

// --- timeline ----------------------------------------------------------------------------
async function timeline(day) {
  let t;
  try { t = await api(day ? "/timeline/" + encodeURIComponent(day) : "/timeline"); } catch (e) { return fail(e); }
  const days = t.days.map(d => `<div class="card"><h2>${esc(d.date)} <span class="muted">· ${num(d.hours)} h ·
      ${num(d.messages)} messages · <span class="${d.errors ? "err" : ""}">${num(d.errors)} errors</span> · ${d.projects.map(esc).join(", ")}</span></h2>
    ${d.sessions.map(s => `<div class="msg ${s.errors ? "" : ""}">
      <div class="meta"><span>${when(s.from)} → ${when(s.to).slice(11)}</span><span>${esc(s.project_name)}</span>
      <span>${num(s.prompts)} prompts · ${num(s.tool_calls)} tool calls · ${num(s.errors)} errors</span></div>
      <a href="#/session/${encodeURIComponent(s.session_id)}"><b>${esc(s.title || s.first_prompt || s.session_id)}</b></a>
      <ul>${s.prompts_said.map(p => `<li><span class="muted">${when(p.timestamp).slice(11)}</span> ${esc(p.text)}</li>`).join("")}</ul>
      ${s.error_samples.length ? `<details><summary class="err">errors</summary>${s.error_samples.map(e => `<pre>${esc(e.component)}: ${esc(e.message)}</pre>`).join("")}</details>` : ""}
    </div>`).join("")}</div>`).join("");
  const prev = t.days.length ? new Date(Date.parse(t.days[0].date) - 86400000).toISOString().slice(0, 10) : "";
  const next = t.days.length ? new Date(Date.parse(t.days[0].date) + 86400000).toISOString().slice(0, 10) : "";
  show(`<h1>Timeline</h1><p><a href="#/timeline/${prev}">← ${prev}</a> · <a href="#/timeline/${next}">${next} →</a></p>
    ${days || "<p class='muted'>Nothing recorded that day.</p>"}`);
}

// --- reports -----------------------------------------------------------------------------
function chart(rows, label, value) {
  const top = rows.filter(r => typeof r[value] === "number").slice(0, 15);
  const max = Math.max(1, ...top.map(r => r[value]));
  return `<div class="chart">${top.map(r => `<div class="label" title="${esc(r[label])}">${esc(r[label] ?? "(none)")}</div>
    <div><div class="bar" style="width:${(100 * r[value] / max).toFixed(1)}%"></div></div><div class="num">${num(r[value])}</div>`).join("")}</div>`;
}
function table(rows) {
  if (!rows || !rows.length) return "<p class='muted'>No rows.</p>";
  const cols = Object.keys(rows[0]).filter(c => rows.some(r => r[c] === null || typeof r[c] !== "object"));
  return `<table><tr>${cols.map(c => `<th>${esc(c)}</th>`).join("")}</tr>${rows.slice(0, 200).map(r =>
    `<tr>${cols.map(c => `<td class="${typeof r[c] === "number" ? "num" : ""}">${typeof r[c] === "number" ? num(r[c]) : esc(r[c])}</td>`).join("")}</tr>`).join("")}</table>`;
}
const CHARTS = {"project-activity": ["project_name", "messages"], "timeline": ["date", "messages"],
  "component-usage": ["component", "uses"], "error-analysis": ["component", "errors"],
  "usage": ["date", "total_tokens"], "extraction-progress": ["run_id", "messages_new"]};

async function report(name) {
  const tabs = REPORTS.map(r => `<a class="${r === name ? "on" : ""}" href="#/reports/${r}">${r}</a>`).join("");
  let rep;
  try { rep = await api("/reports/" + encodeURIComponent(name), Object.fromEntries(query())); }
  catch (e) { show(`<div class="tabs">${tabs}</div>`); main.insertAdjacentHTML("beforeend", `<div class="card err">${esc(e.message)}</div>`); return; }
  const [label, value] = CHARTS[name] || ["", ""];
  show(`<div class="tabs">${tabs}</div><h1 id="report-title">${esc(rep.report)}</h1>
    ${rep.totals ? `<div class="stats card">${Object.entries(rep.totals).filter(([, v]) => typeof v === "number").map(([k, v]) => `<div><b>${num(v)}</b>${esc(k)}</div>`).join("")}</div>` : ""}
    <div class="card"><h2>${esc(value)} by ${esc(label)}</h2>${chart(rep.rows || [], label, value)}</div>
    <div class="card">${table(rep.rows)}</div>`);
}

// --- backups -----------------------------------------------------------------------------
async function backups() {
  let list;
  try { list = await api("/backups"); } catch (e) { return show(`<h1>Backups</h1><div class="card err">${esc(e.message)}</div>`); }
  const ok = list.filter(b => !b.damaged), last = ok[ok.length - 1];
  const age = last ? Math.round((Date.now() - Date.parse(last.created_at)) / 3600000) : null;
  show(`<h1>Backups</h1><div class="card stats"><div><b>${ok.length}</b>backups</div>
    <div><b>${last ? when(last.created_at) : "never"}</b>newest</div><div><b class="${age === null || age > 48 ? "err" : ""}">${age === null ? "—" : age + " h"}</b>age</div>
    <div><b class="${list.length - ok.length ? "err" : ""}">${list.length - ok.length}</b>damaged</div></div>
    <div class="card">${table(list.slice().reverse())}</div>`);
}

// --- routing -----------------------------------------------------------------------------
async function route() {
  const [path] = location.hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  document.querySelectorAll("#nav a").forEach(a => a.classList.toggle("on", a.getAttribute("href").split("/")[1] === parts[0]));
  if (parts[0] === "login") { localStorage.removeItem("memory-token"); return login(); }
  if (!token()) { history.replaceState(null, "", "#/login"); return login(); }
  if (parts[0] === "session") return session(parts[1]);
  if (parts[0] === "timeline") return timeline(parts[1]);
  if (parts[0] === "reports") return report(parts[1] || "project-activity");
  if (parts[0] === "backups") return backups();
  return search();
}
window.addEventListener("hashchange", route);
route();
