"use strict";
const id = document.body.dataset.subject;
const path = `/api/subjects/${encodeURIComponent(id)}`;
const hours = (h) => (h ? `${h[0]}-${h[1]}时 h` : "全天 all day");
const zones = (o) => o.zones.map((z) => `${z.name} (${hours(z.hours)})`).join("; ");
const curfew = (o) => (o.curfew ? `${hours(o.curfew.hours)}, ${o.curfew.home_radius_m} m` : "");
async function load() {
  await ccw.labels();
  const r = await fetch(path);
  if (!r.ok) { document.getElementById("profile").textContent = `${r.status}: 无此对象 not found`; return; }
  const s = await r.json();
  document.getElementById("title").textContent = `${s.subject_id} ${s.name}`;
  document.getElementById("profile").textContent =
    `${s.office_id} (${ccw.label("zone", s.zone)}) · ${ccw.label("correction_type", s.correction_type)} · 管理等级 level ${ccw.label("level", s.level)} · 积分 balance ${s.balance}`;
  const ended = s.released_on ? ` · 解矫 released ${s.released_on} (${ccw.label("end_reason", s.end_reason)}, ${s.end_document})` : "";
  document.getElementById("register").textContent =
    `决定机关 decided by ${s.decided_by ?? "-"} ${s.decision_no ?? ""} · 矫正期 term ${s.starts_on} ~ ${s.ends_on}${ended}` +
    (s.victims.length ? ` · 被害人 victims ${s.victims.join(", ")}` : "");
  ccw.rows("#ledger", s.ledger, [(e) => ccw.local(e.occurred_at), "rule", (e) => (e.delta > 0 ? "+" : "") + e.delta, (e) => `${e.reason_zh} / ${e.reason_en}`, (e) => e.evidence.join(" ")]);
  ccw.rows("#history", s.alerts, [(a) => ccw.local(a.opened_at), ccw.coded("alert_type"),
    (a) => ccw.label("alert_state", a.state) + (a.escalated ? ` ${ccw.label("transition", "escalated")}` : ""),
    ccw.coded("outcome"), "reason_zh"]);
  ccw.rows("#leaves", s.leaves, [(l) => ccw.local(l.starts_at), (l) => ccw.local(l.ends_at), "destination",
    ccw.coded("status", "leave_status"), ccw.coded("approver")]);
  ccw.rows("#positioning", s.positioning, ["starts_on", "ends_on", ccw.coded("reason", "positioning_reason"),
    "approved_by", (p) => ccw.local(p.revoked_at)]);
  const live = s.positioning.filter((p) => !p.revoked_at);
  for (const f of ["extend-form", "revoke-form"]) {
    ccw.options(document.forms[f].approval_id, live, "id",
      (p) => `${p.starts_on} ~ ${p.ends_on} ${ccw.label("positioning_reason", p.reason)}`);
  }
  const orders = await (await fetch(`${path}/orders`)).json();
  ccw.rows("#orders", orders, ["document", "issued_by", "starts_on",
    (o) => (o.lifted_on ? `解除 lifted ${o.lifted_on}` : o.last_day ?? "矫正期满 term end"),
    zones, curfew, (o) => o.no_contact.join(", ")]);
  ccw.options(document.forms["lift-form"].order_id, orders.filter((o) => !o.lifted_on), "order_id",
    (o) => `${o.document} (${o.starts_on})`);
  const t = await fetch(`${path}/track`);
  if (t.ok) ccw.rows("#track", (await t.json()).slice(0, 50), [(f) => ccw.local(f.at), "lat", "lon", "accuracy_m", ccw.coded("source")]);
}
ccw.form("transfer-form", `${path}/transfer`, (f) => ({
  office_id: f.get("office_id"), officer_id: f.get("officer_id") || null }), load);
ccw.form("release-form", `${path}/release`, (f) => Object.fromEntries(f), load);
ccw.form("leave-form", `${path}/leaves`, (f) => ({
  starts_at: ccw.atLocal(f.get("starts_at")),  // the officer enters Beijing time
  ends_at: ccw.atLocal(f.get("ends_at")),
  destination: f.get("destination"),
  emergency: f.get("emergency") === "on",
}), load);
ccw.form("order-form", `${path}/orders`, (f) => ({
  document: f.get("document"),
  issued_by: f.get("issued_by"),
  starts_on: f.get("starts_on"),
  ends_on: f.get("ends_on") || null,
  zones: f.get("zone_name") ? [{
    name: f.get("zone_name"), lat: ccw.num(f.get("zone_lat")), lon: ccw.num(f.get("zone_lon")),
    radius_m: ccw.num(f.get("zone_radius_m")),
    from_hour: ccw.num(f.get("zone_from_hour")), to_hour: ccw.num(f.get("zone_to_hour")),
  }] : [],
  curfew: f.get("curfew_from_hour") || f.get("curfew_to_hour") ? {
    from_hour: ccw.num(f.get("curfew_from_hour")), to_hour: ccw.num(f.get("curfew_to_hour")),
    radius_m: ccw.num(f.get("curfew_radius_m")),
  } : null,
  no_contact: ccw.list(f.get("no_contact")),
}), load);
ccw.form("lift-form", (f) => `/api/orders/${encodeURIComponent(f.get("order_id"))}/lift`,
  (f) => ({ on: f.get("on"), reason: f.get("reason") }), load);
ccw.form("positioning-form", `${path}/positioning`, (f) => Object.fromEntries(f), load);
ccw.form("extend-form", (f) => `/api/positioning/${encodeURIComponent(f.get("approval_id"))}/extend`,
  (f) => ({ approved_by: f.get("approved_by"), ends_on: f.get("ends_on"), note: f.get("note") }), load);
ccw.form("revoke-form", (f) => `/api/positioning/${encodeURIComponent(f.get("approval_id"))}/revoke`,
  () => ({}), load);
load();

(async () => {  // named places fill the zone's name, centre and radius
  const places = await (await fetch("/api/places")).json();
  const select = document.getElementById("place");
  for (const [i, p] of places.entries()) {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = p.name;
    select.append(option);
  }
  select.addEventListener("change", () => {
    const p = places[Number(select.value)];
    if (!p) return;
    const form = document.getElementById("order-form");
    form.elements.zone_name.value = p.name;
    form.elements.zone_lat.value = p.lat;
    form.elements.zone_lon.value = p.lon;
    form.elements.zone_radius_m.value = p.radius_m;
  });
})();
