"""The archive's one shared CSS file (light and dark, by `prefers-color-scheme`) and the
index's search script (no library, no request: the index carries the entries)."""

CSS = """
:root { color-scheme: light dark; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       padding: 24px 32px; max-width: 1400px; }
nav.site { margin: 0 0 12px; font-size: 14px; }
#q { width: 100%; max-width: 640px; font-size: 16px; padding: 6px 8px; box-sizing: border-box; }
#hits { padding-left: 20px; } #hits li { margin: 4px 0; } #hits .p { color: #888; font-size: 13px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 4px 8px; border-bottom: 1px solid #8884; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; } td.d { white-space: nowrap; }
@media (prefers-color-scheme: dark) {
  body { background: #16181c; color: #ddd; }
  a { color: #8ab4f8; } th { background: #23262b; }
  pre, .md pre, .md code { background: #23262b; }
  .who-user { color: #8ab4f8; } .who-assistant { color: #7fd18b; } .err { color: #f28b82; }
  details { color: #bbb; } .scope, dl.summary dt, .conversation .t { color: #999; }
}
"""

SEARCH_JS = """
(() => {
  const data = JSON.parse(document.getElementById('search-data').textContent);
  const q = document.getElementById('q'), hits = document.getElementById('hits');
  const text = e => `${e.title || ''} ${e.prompt || ''} ${e.project || ''} ${e.id}`.toLowerCase();
  q.addEventListener('input', () => {
    const words = q.value.toLowerCase().split(/\\s+/).filter(Boolean);
    hits.replaceChildren();
    if (!words.length) return;
    for (const e of data.filter(e => words.every(w => text(e).includes(w))).slice(0, 100)) {
      const li = document.createElement('li'), a = document.createElement('a');
      a.href = e.href; a.textContent = e.title || e.prompt || e.id;
      const p = document.createElement('span'); p.className = 'p'; p.textContent = ' ' + (e.project || '');
      li.append(a, p); hits.append(li);
    }
  });
})();
"""
