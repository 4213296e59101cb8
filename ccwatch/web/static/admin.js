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
async function load() {
  const offices = await (await fetch("/api/admin/offices")).json();
  ccw.rows("#offices", offices, ["office_id", "name_zh", "name_en", "zone", "lat", "lon"]);
  for (const f of ["terminal-form", "move-form"]) {
    ccw.options(document.forms[f].office_id, offices, "office_id", (o) => `${o.name_zh} ${o.office_id}`);
  }
  const terminals = await (await fetch("/api/admin/terminals")).json();
  ccw.rows("#terminals", terminals, ["terminal_id", "office_id", "lat", "lon", (t) => t.keys.join(", "),
    (t) => (t.retired_at ? ccw.local(t.retired_at) : ""), (t) => (t.retired_at ? "" : retire(t))]);
  const live = terminals.filter((t) => !t.retired_at);
  ccw.options(document.forms["move-form"].terminal_id, live, "terminal_id", (t) => `${t.terminal_id} (${t.office_id})`);
}
ccw.form("office-form", "/api/admin/offices", (f) => ({
  ...Object.fromEntries(f), lat: ccw.num(f.get("lat")), lon: ccw.num(f.get("lon")) }), load);
ccw.form("terminal-form", "/api/admin/terminals", (f) => ({ terminal_id: f.get("terminal_id"), ...place(f) }), (made) => {
  const secret = document.getElementById("secret");  // shown this once, for the terminal
  secret.textContent = `${made.key_id} 密钥仅显示一次 secret, shown once: ${made.secret}`;
  secret.hidden = false;
  load();
});
ccw.form("move-form", (f) => `/api/admin/terminals/${encodeURIComponent(f.get("terminal_id"))}/move`, place, load);
load();
