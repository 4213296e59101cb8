// Live alert board: the list from /api/alerts, then changes pushed by server-sent events.
// Escalated alerts first, then the most severe and oldest. A new high-severity alert shows
// the banner until it is acknowledged (or dispatched, resolved), or for FLASH_S at most.
"use strict";
const FLASH_S = 300;  // the banner of a new high-severity alert clears after 5 minutes
const rows = new Map();
const rank = {high: 0, medium: 1, low: 2};
const pending = new Map();  // action id -> what was asked, until the workers answer
const flashing = new Map();  // alert id -> its banner's timer
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
function order(a, b) {
  return (Number(Boolean(b.escalated)) - Number(Boolean(a.escalated))) || (rank[a.severity] - rank[b.severity])
    || (new Date(a.opened_at) - new Date(b.opened_at));
}
function flash(a) {  // the banner names the new alerts it is for
  flashing.set(a.alert_id, setTimeout(() => unflash(a.alert_id), FLASH_S * 1000));
  banner();
  beep();
}
function unflash(id) {
  clearTimeout(flashing.get(id));
  if (flashing.delete(id)) banner();
}
function banner() {
  const p = document.getElementById("flash");
  const named = [...flashing.keys()].map((id) => rows.get(id)).filter(Boolean)
    .map((a) => `${ccw.label("alert_type", a.alert_type)} ${a.subject_id}`);
  p.textContent = `新的高危告警 New high-severity alert: ${named.join("; ")}`;
  p.hidden = flashing.size === 0;
}
function typeCell(a) {  // the type, and the escalation badge
  const td = cell(ccw.label("alert_type", a.alert_type));
  if (a.escalated) {
    const badge = document.createElement("span");
    badge.className = "badge escalated";
    badge.textContent = ccw.label("transition", "escalated");
    td.append(" ", badge);
  }
  return td;
}
function render() {
  const body = document.querySelector("#alerts tbody");
  const list = [...rows.values()].sort(order);
  body.replaceChildren(...list.map((a) => {
    const tr = document.createElement("tr");
    tr.className = a.severity + (a.fresh ? " fresh" : "") + (a.escalated ? " escalated" : "");
    tr.dataset.alert = a.alert_id;
    const who = cell(""); const link = document.createElement("a"); link.href = `/subjects/${encodeURIComponent(a.subject_id)}`; link.textContent = a.subject_id; who.append(link);
    tr.append(cell(ccw.label("severity", a.severity)), typeCell(a), who, cell(a.office_id),
      cell(ccw.label("alert_state", a.state)), cell(ccw.local(a.opened_at)), cell("", "sla"), cell(a.reason_zh));
    const act = document.createElement("td");
    for (const name of ["acknowledge", "dispatch", "resolve"]) {
      const b = document.createElement("button"); b.textContent = ccw.label("action", name); b.dataset.action = name; act.append(b);
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
    if (t.transition !== "opened" && t.transition !== "escalated") unflash(t.alert_id);  // handled
    if (t.transition === "resolved") { rows.delete(t.alert_id); render(); return; }
    const a = Object.assign(known ?? {opened_at: t.occurred_at, state: "open"}, t, {fresh: !known});
    if (t.transition === "acknowledged" || t.transition === "dispatched") a.state = t.transition;
    if (t.transition === "escalated") a.escalated = true;
    if (t.transition === "opened" && !matches(a)) return;
    rows.set(a.alert_id, a);
    render();
    if (!known && a.severity === "high") flash(a);
  });
}
document.querySelector("#alerts").addEventListener("click", async (e) => {
  const b = e.target.closest("button[data-action]"); if (!b) return;
  const id = b.closest("tr").dataset.alert;
  const action = b.dataset.action;
  const outcomes = ["false_alarm", "verified_violation", "explained"].map((o) => ccw.label("outcome", o)).join(" / ");
  const body = action === "resolve" ? {outcome: prompt(`结论 Outcome: ${outcomes}`, "false_alarm"), note: prompt("备注 Note") || ""}
    : action === "dispatch" ? {assignee: prompt("派发至 Dispatch to (office or officer id)", rows.get(id).office_id)} : {};
  const r = await fetch(`/api/alerts/${encodeURIComponent(id)}/${action}`, {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body)});
  const answer = await r.json().catch(() => ({}));
  const asked = `${ccw.label("action", action)} ${rows.get(id)?.subject_id ?? id}`;
  if (!r.ok) { outcome(`被拒绝 rejected: ${asked}: ${JSON.stringify(answer.detail ?? r.status)}`, false); return; }
  pending.set(answer.requested, asked);
  outcome(`已提交 requested: ${asked}`, true);
});
document.querySelector("#filters").addEventListener("change", load);
document.getElementById("logout").addEventListener("click", async () => { await fetch("/api/logout", {method: "POST", headers: {"X-CSRF-Token": csrf}}); location.href = "/login"; });
me().then(ccw.labels).then(load).then(live);
setInterval(tick, 1000);
