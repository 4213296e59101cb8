"use strict";
const id = document.body.dataset.subject;
const path = `/api/subjects/${encodeURIComponent(id)}`;
function rows(sel, list, cols) {
  document.querySelector(sel + " tbody").replaceChildren(
    ...list.map((x) => ccw.row(cols.map((c) => (typeof c === "function" ? c(x) : x[c])))));
}
async function load() {
  const r = await fetch(path);
  if (!r.ok) { document.getElementById("profile").textContent = `${r.status}: 无此对象 not found`; return; }
  const s = await r.json();
  document.getElementById("title").textContent = `${s.subject_id} ${s.name}`;
  document.getElementById("profile").textContent =
    `${s.office_id} (${s.zone}) · ${s.correction_type} · 管理等级 level ${s.level} · 积分 balance ${s.balance}`;
  const ended = s.released_on ? ` · 解矫 released ${s.released_on} (${s.end_reason}, ${s.end_document})` : "";
  document.getElementById("register").textContent =
    `决定机关 decided by ${s.decided_by ?? "-"} ${s.decision_no ?? ""} · 矫正期 term ${s.starts_on} ~ ${s.ends_on}${ended}`;
  rows("#ledger", s.ledger, [(e) => ccw.local(e.occurred_at), "rule", (e) => (e.delta > 0 ? "+" : "") + e.delta, (e) => `${e.reason_zh} / ${e.reason_en}`, (e) => e.evidence.join(" ")]);
  rows("#history", s.alerts, [(a) => ccw.local(a.opened_at), "alert_type", "state", "outcome", "reason_zh"]);
  rows("#leaves", s.leaves, [(l) => ccw.local(l.starts_at), (l) => ccw.local(l.ends_at), "destination", "status", "approver"]);
  rows("#positioning", s.positioning, ["starts_on", "ends_on", "reason", "approved_by", (p) => (p.revoked_at ? ccw.local(p.revoked_at) : "")]);
  const t = await fetch(`${path}/track`);
  if (t.ok) rows("#track", (await t.json()).slice(0, 50), [(f) => ccw.local(f.at), "lat", "lon", "accuracy_m", "source"]);
}
document.getElementById("leave-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const body = {
    starts_at: `${f.get("starts_at")}:00+08:00`,  // the officer enters Beijing time
    ends_at: `${f.get("ends_at")}:00+08:00`,
    destination: f.get("destination"),
    emergency: f.get("emergency") === "on",
  };
  if (await ccw.post(`${path}/leaves`, body)) { e.target.reset(); load(); }
});
load();
