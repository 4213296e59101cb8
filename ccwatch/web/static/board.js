// Live alert board: the list from /api/alerts, then changes pushed by server-sent events.
"use strict";
const rows = new Map();
const rank = {high: 0, medium: 1, low: 2};
const pending = new Map();  // action id -> what was asked, until the workers answer
const verbs = {acknowledge: "签收 acknowledge", dispatch: "派发 dispatch", resolve: "处置 resolve"};
function outcome(text, ok) {
  const p = document.getElementById("outcome");
  p.textContent = text;
  p.className = ok ? "accepted" : "rejected";
}
let csrf = null;

async function me() { const r = await fetch("/api/me"); if (!r.ok) { location.href = "/login"; } csrf = (await r.json()).csrf; }
function filters() {
  const q = new URLSearchParams();
  for (const el of document.querySelectorAll("#filters [name]")) { if (el.value) q.set(el.name, el.value); }
  return q;
}
function matches(a) {
  const f = filters();
  return (!f.get("zone") || a.zone === f.get("zone")) && (!f.get("office") || a.office_id === f.get("office"))
    && (!f.get("type") || a.alert_type === f.get("type"));
}
function cell(text, cls) { const td = document.createElement("td"); td.textContent = text ?? ""; if (cls) td.className = cls; return td; }
function render() {
  const body = document.querySelector("#alerts tbody");
  const list = [...rows.values()].sort((a, b) => (rank[a.severity] - rank[b.severity]) || a.opened_at.localeCompare(b.opened_at));
  body.replaceChildren(...list.map((a) => {
    const tr = document.createElement("tr");
    tr.className = a.severity + (a.fresh ? " fresh" : "");
    tr.dataset.alert = a.alert_id;
    const who = cell(""); const link = document.createElement("a"); link.href = `/subjects/${encodeURIComponent(a.subject_id)}`; link.textContent = a.subject_id; who.append(link);
    tr.append(cell(a.severity), cell(a.alert_type), who, cell(a.office_id), cell(a.state),
      cell(new Date(a.opened_at).toLocaleString()), cell("", "sla"), cell(a.reason_zh));
    const act = document.createElement("td");
    for (const [name, label] of [["acknowledge", "签收 Ack"], ["dispatch", "派发 Dispatch"], ["resolve", "处置 Resolve"]]) {
      const b = document.createElement("button"); b.textContent = label; b.dataset.action = name; act.append(b);
    }
    tr.append(act);
    return tr;
  }));
  tick();
}
function tick() {  // SLA countdown
  for (const tr of document.querySelectorAll("#alerts tbody tr")) {
    const a = rows.get(tr.dataset.alert);
    if (!a || !a.sla_due || a.state !== "open") continue;
    const left = Math.round((new Date(a.sla_due) - Date.now()) / 1000);
    tr.querySelector(".sla").textContent = left > 0 ? `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}` : "超时 overdue";
    tr.classList.toggle("overdue", left <= 0);
  }
}
async function load() {
  const q = filters();
  const r = await fetch("/api/alerts?" + q.toString());
  rows.clear();
  for (const a of await r.json()) rows.set(a.alert_id, a);
  render();
}
function beep() {
  try { const c = new AudioContext(); const o = c.createOscillator(); o.connect(c.destination); o.start(); o.stop(c.currentTime + 0.2); } catch (e) { /* no audio */ }
}
function live() {
  const source = new EventSource("/api/alerts/stream");
  source.addEventListener("action", (e) => {  // what the workers made of an action of ours
    const o = JSON.parse(e.data);
    const asked = pending.get(o.action_id);
    if (!asked) return;
    pending.delete(o.action_id);
    outcome(o.accepted ? `已受理 accepted: ${asked}` : `被拒绝 rejected: ${asked}: ${o.reason}`, o.accepted);
  });
  // The stream ends with the session; the browser's reconnection is then refused: log in.
  source.addEventListener("error", () => { if (source.readyState === EventSource.CLOSED) location.href = "/login"; });
  source.addEventListener("alert", (e) => {
    const t = JSON.parse(e.data);
    const known = rows.get(t.alert_id);
    if (t.transition === "resolved") { rows.delete(t.alert_id); render(); return; }
    const a = Object.assign(known ?? {opened_at: t.occurred_at, state: "open"}, t, {fresh: !known});
    if (t.transition === "acknowledged" || t.transition === "dispatched") a.state = t.transition;
    if (t.transition === "opened" && !matches(a)) return;
    rows.set(a.alert_id, a);
    if (!known && a.severity === "high") { document.getElementById("flash").hidden = false; beep(); }
    render();
  });
}
document.querySelector("#alerts").addEventListener("click", async (e) => {
  const b = e.target.closest("button[data-action]"); if (!b) return;
  const id = b.closest("tr").dataset.alert;
  const action = b.dataset.action;
  const body = action === "resolve" ? {outcome: prompt("false_alarm / verified_violation / explained", "false_alarm"), note: prompt("备注 Note") || ""}
    : action === "dispatch" ? {assignee: prompt("派发至 Dispatch to (office or officer id)", rows.get(id).office_id)} : {};
  const r = await fetch(`/api/alerts/${encodeURIComponent(id)}/${action}`, {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body)});
  const answer = await r.json().catch(() => ({}));
  const asked = `${verbs[action]} ${rows.get(id)?.subject_id ?? id}`;
  if (!r.ok) { outcome(`被拒绝 rejected: ${asked}: ${JSON.stringify(answer.detail ?? r.status)}`, false); return; }
  pending.set(answer.requested, asked);
  outcome(`已提交 requested: ${asked}`, true);
});
document.querySelector("#filters").addEventListener("change", load);
document.getElementById("logout").addEventListener("click", async () => { await fetch("/api/logout", {method: "POST", headers: {"X-CSRF-Token": csrf}}); location.href = "/login"; });
me().then(load).then(live);
setInterval(tick, 1000);
