"use strict";
async function load() {
  await ccw.labels();
  ccw.rows("#subjects", await (await fetch("/api/subjects")).json(), [(s) => ccw.subject(s.subject_id),
    "name", "office_id", ccw.coded("correction_type"), ccw.coded("level"), "starts_on", "last_day"]);
  ccw.rows("#expiring", await (await fetch("/api/positioning/expiring?within_days=7")).json(), [
    (a) => ccw.subject(a.subject_id), "name", "office_id", "ends_on", "days_left",
    (a) => (a.term_ends ? "至矫正期满 to the term's end" : "")]);
}
ccw.form("intake-form", "/api/subjects", (f) => ({
  ...Object.fromEntries([...f].filter(([, v]) => v !== "")),
  home_lat: ccw.num(f.get("home_lat")),
  home_lon: ccw.num(f.get("home_lon")),
  devices: ccw.list(f.get("devices")),
  victims: ccw.list(f.get("victims")),
}), (made) => {
  document.getElementById("outcome").append(" ", ccw.subject(made.subject_id));
  load();
});
load();
