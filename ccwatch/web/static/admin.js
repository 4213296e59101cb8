"use strict";
const place = (f) => ({ office_id: f.get("office_id"), lat: ccw.num(f.get("lat")), lon: ccw.num(f.get("lon")) });
function retire(t) {
  const b = document.createElement("button");
  b.textContent = "停用 Retire";
  b.dataset.terminal = t.terminal_id;
  b.addEventListener("click", async () => {
    if (await ccw.post(`/api/admin/terminals/${encodeURIComponent(t.terminal_id)}/retire`, {})) load();
  });
  return b;
}
function showSecret(text) {  // shown this once
  const secret = document.getElementById("secret");
  secret.textContent = text;
  secret.hidden = false;
}
function userAction(u, action, label) {  // a button that POSTs /api/users/{id}/{action}
  const b = document.createElement("button");
  b.textContent = label;
  b.addEventListener("click", async () => {
    const done = await ccw.post(`/api/users/${encodeURIComponent(u.id)}/${action}`, {});
    if (done && done.temporary_password) {
      showSecret(`${u.id} 临时密码仅显示一次 temporary password, shown once: ${done.temporary_password}`);
    }
    if (done) load();
  });
  return b;
}
function userActions(u) {
  const span = document.createElement("span");
  span.append(u.active ? userAction(u, "deactivate", "停用 Deactivate") : userAction(u, "reactivate", "启用 Reactivate"),
    userAction(u, "reset-password", "重置密码 Reset password"), userAction(u, "end-sessions", "结束登录 End sessions"));
  return span;
}
async function load() {
  await ccw.labels();
  const offices = await (await fetch("/api/admin/offices")).json();
  ccw.rows("#offices", offices, ["office_id", "name_zh", "name_en", ccw.coded("zone"), "lat", "lon"]);
  for (const f of ["terminal-form", "move-form"]) {
    ccw.options(document.forms[f].office_id, offices, "office_id", (o) => `${o.name_zh} ${o.office_id}`);
  }
  for (const f of ["user-form", "access-form"]) {
    ccw.options(document.forms[f].office_id, [{ office_id: "" }, ...offices], "office_id",
      (o) => (o.office_id ? `${o.name_zh} ${o.office_id}` : "无 none"));
  }
  const users = await (await fetch("/api/users")).json();
  ccw.rows("#users", users, ["id", "name", ccw.coded("role"), "office_id", (u) => (u.active ? "是 yes" : "否 no"),
    (u) => (u.must_change_password ? "是 yes" : ""), "sessions", userActions]);
  ccw.options(document.forms["access-form"].user_id, users, "id", (u) => `${u.id} (${ccw.label("role", u.role)})`);
  const terminals = await (await fetch("/api/admin/terminals")).json();
  ccw.rows("#terminals", terminals, ["terminal_id", "office_id", "lat", "lon", (t) => t.keys.join(", "),
    (t) => (t.retired_at ? ccw.local(t.retired_at) : ""), (t) => (t.retired_at ? "" : retire(t))]);
  const live = terminals.filter((t) => !t.retired_at);
  ccw.options(document.forms["move-form"].terminal_id, live, "terminal_id", (t) => `${t.terminal_id} (${t.office_id})`);
}
ccw.form("office-form", "/api/admin/offices", (f) => ({
  ...Object.fromEntries(f), lat: ccw.num(f.get("lat")), lon: ccw.num(f.get("lon")) }), load);
ccw.form("terminal-form", "/api/admin/terminals", (f) => ({ terminal_id: f.get("terminal_id"), ...place(f) }), (made) => {
  showSecret(`${made.key_id} 密钥仅显示一次 secret, shown once: ${made.secret}`);  // for the terminal
  load();
});
ccw.form("user-form", "/api/users", (f) => ({ id: f.get("id"), name: f.get("name"), role: f.get("role"),
  office_id: f.get("office_id") || null, password: f.get("password"),
  must_change_password: f.get("must_change_password") === "on" }), load);
ccw.form("access-form", (f) => `/api/users/${encodeURIComponent(f.get("user_id"))}/access`,
  (f) => ({ role: f.get("role"), office_id: f.get("office_id") || null }), load);
ccw.form("move-form", (f) => `/api/admin/terminals/${encodeURIComponent(f.get("terminal_id"))}/move`, place, load);
load();
function unlock(row) {
  const b = document.createElement("button");
  b.textContent = "解锁 Unlock";
  b.addEventListener("click", async () => {
    if (await ccw.post(`/api/users/${encodeURIComponent(row.user)}/unlock`, {})) lockouts();
  });
  return b;
}
async function lockouts() {
  const rows = await (await fetch("/api/lockouts")).json();
  ccw.rows("#lockouts", rows, ["user", "failures", (r) => ccw.local(r.last_attempt_at),
    (r) => ccw.local(r.locked_until), unlock]);
}
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;
function detail(d) {  // "key: value; ..." with times in local time
  return Object.entries(d || {}).map(([k, v]) =>
    `${k}: ${typeof v === "string" && ISO.test(v) ? ccw.local(v) : typeof v === "object" ? JSON.stringify(v) : v}`).join("; ");
}
// The audit log, newest first, 200 at a time: a search starts again from the newest; only
// the answer to the latest request is shown.
const audit = { query: new URLSearchParams(), oldest: null, asked: 0 };
async function auditPage(more) {
  const asked = ++audit.asked;
  const q = new URLSearchParams(audit.query);
  if (more && audit.oldest) q.set("before", audit.oldest);
  await ccw.labels();
  const r = await fetch(`/api/audit?${q}`);
  const entries = r.ok ? await r.json() : [];
  if (asked !== audit.asked) return;  // a later search is under way
  const rows = entries.map((e) => ccw.row([ccw.local(e.at), e.user, ccw.label("audit_action", e.action), e.target, detail(e.detail)]));
  const body = document.querySelector("#audit tbody");
  if (more) body.append(...rows); else body.replaceChildren(...rows);
  audit.oldest = entries.length ? entries.at(-1).id : audit.oldest;
  document.getElementById("audit-older").hidden = entries.length < 200;
}
document.getElementById("audit-form").addEventListener("submit", (e) => {
  e.preventDefault();
  audit.query = new URLSearchParams([...new FormData(e.target)].filter(([, v]) => v.trim()));
  audit.oldest = null;
  auditPage(false);
});
document.getElementById("audit-older").addEventListener("click", () => auditPage(true));
lockouts();
auditPage(false);
