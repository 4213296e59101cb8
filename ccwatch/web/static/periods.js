// The security period in force, its rules, and each office's daily zero reports; local times.
"use strict";
async function load() {
  await ccw.labels();
  const p = await (await fetch("/api/periods")).json();
  const offices = (a) => a.offices.join(", ") || "全县 county";
  document.getElementById("active").textContent = p.active.length
    ? p.active.map((a) => `${a.name}: ${ccw.local(a.starts_at)} ~ ${ccw.local(a.ends_at)} (${offices(a)})`).join("; ")
    : "当前无安保期 No security period in force";
  ccw.rows("#rules", Object.entries(p.rules), [([k]) => ccw.label("threshold", k),
    ([, v]) => (typeof v === "object" ? Object.entries(v).map(([s, n]) => `${ccw.label("severity", s)}: ${n}`).join("; ") : v)]);
  ccw.rows("#zero", p.zero_reports, ["day", "office_id", ccw.coded("status", "zero_report"), "alerts_opened", "alerts_open"]);
}
if (document.getElementById("period-form")) {  // administrators declare periods, in Beijing time
  ccw.form("period-form", "/api/periods", (f) => ({
    name: f.get("name"), starts_at: ccw.atLocal(f.get("starts_at")), ends_at: ccw.atLocal(f.get("ends_at")),
    offices: ccw.list(f.get("offices")),
  }), load);
}
load();
