// The page's CSS, injected once as a <style> element (the server serves no CSS file of ours; CSP
// allows inline styles but not inline scripts).
export const css = `
:root { --fg:#1f2328; --muted:#656d76; --line:#d0d7de; --bg:#f6f8fa; --ok:#1a7f37; --bad:#cf222e; --warn:#9a6700; --link:#0969da; }
* { box-sizing: border-box; }
body { margin:0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
.layout { display:flex; min-height:100vh; }
.nav { width:170px; flex:none; background:#24292f; color:#fff; padding:10px 0; }
.nav .brand { font-weight:600; padding:4px 14px 12px; }
.nav a { display:block; color:#d0d7de; padding:5px 14px; }
.nav a.current { background:#3d444d; color:#fff; }
.main { flex:1; min-width:0; padding:10px 16px; }
.topbar { display:flex; gap:12px; align-items:center; border-bottom:1px solid var(--line); padding-bottom:6px; margin-bottom:10px; }
.topbar .spacer { flex:1; }
h1 { font-size:18px; margin:4px 0 10px; }
h2 { font-size:14px; margin:0 0 6px; }
h2 .right { float:right; font-weight:normal; }
.cards { display:grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap:10px; }
.card.wide { grid-column: 1 / -1; }
.card { border:1px solid var(--line); border-radius:6px; padding:8px 10px; margin-bottom:10px; background:#fff; overflow:auto; }
table { border-collapse: collapse; width:100%; }
th, td { text-align:left; padding:3px 6px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background: var(--bg); font-weight:600; white-space:nowrap; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
.txt { white-space: pre-wrap; word-break: break-all; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
pre.value { white-space: pre-wrap; word-break: break-all; background: var(--bg); padding:6px; max-height:480px; overflow:auto; margin:4px 0; }
.muted { color: var(--muted); }
.badge { display:inline-block; padding:0 6px; border-radius:10px; font-size:11px; font-weight:600; color:#fff; }
.badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); }
.warn { color: var(--warn); font-weight:600; } .bad { color: var(--bad); font-weight:600; } .ok { color: var(--ok); }
.badge.ok, .badge.bad { color:#fff; }
.error { border:1px solid var(--bad); background:#ffebe9; color:#82071e; padding:6px 8px; border-radius:6px; margin:6px 0; white-space:pre-wrap; }
.error.conflict { border-color: var(--warn); background:#fff8c5; color:#4d2d00; }
.notice { border:1px solid var(--ok); background:#dafbe1; padding:6px 8px; border-radius:6px; margin:6px 0; }
.tabs { display:flex; gap:2px; border-bottom:1px solid var(--line); margin-bottom:8px; flex-wrap:wrap; }
.tab { padding:4px 10px; border:1px solid transparent; border-bottom:none; border-radius:6px 6px 0 0; }
.tab.current { border-color: var(--line); background:#fff; font-weight:600; margin-bottom:-1px; }
form.row, .row { display:flex; gap:6px; flex-wrap:wrap; align-items:end; margin:6px 0; }
label { display:flex; flex-direction:column; font-size:11px; color: var(--muted); gap:2px; }
input, select, textarea, button { font: inherit; font-size:12px; }
input, select, textarea { border:1px solid var(--line); border-radius:4px; padding:3px 5px; color: var(--fg); }
textarea { font-family: ui-monospace, monospace; width:100%; min-height:80px; }
button { border:1px solid var(--line); background: var(--bg); border-radius:4px; padding:3px 10px; cursor:pointer; }
button:disabled { opacity:.5; cursor:default; }
button.primary { background:#1f883d; color:#fff; border-color:#1a7f37; }
button.danger { background:#fff; color: var(--bad); border-color: var(--bad); }
.confirm { background:#fff8c5; padding:2px 6px; border-radius:4px; }
.split { display:flex; gap:10px; align-items:flex-start; }
.tree { width:320px; flex:none; max-height:80vh; overflow:auto; }
.tree ul { list-style:none; padding-left:14px; margin:0; }
.tree > ul { padding-left:0; }
.tree li { white-space:nowrap; }
.tree button.toggle { border:none; background:none; padding:0 2px; width:16px; }
.tree a.selected { font-weight:700; background:#ddf4ff; }
.detail { flex:1; min-width:0; }
.progress { background: var(--bg); border:1px solid var(--line); border-radius:4px; height:14px; width:240px; overflow:hidden; display:inline-block; vertical-align:middle; }
.progress > div { background:#2da44e; height:100%; }
.pager { margin:6px 0; }
.chart { display:inline-block; margin:4px; }
.stat { display:inline-block; margin-right:16px; }
.stat b { font-size:16px; display:block; }
`;
