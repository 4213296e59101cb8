// The security period in force, its rules, and each office's daily zero reports.
"use strict";
(async () => {
  const p = await (await fetch("/api/periods")).json();
  document.getElementById("active").textContent = p.active.length
    ? p.active.map((a) => `${a.name}: ${a.starts_at} ~ ${a.ends_at} (${a.offices.join(", ") || "全县 county"})`).join("; ")
    : "当前无安保期 No security period in force";
  document.querySelector("#rules tbody").replaceChildren(...Object.entries(p.rules).map(([k, v]) => {
    const tr = document.createElement("tr");
    for (const x of [k, JSON.stringify(v)]) { const td = document.createElement("td"); td.textContent = x; tr.append(td); }
    return tr;
  }));
  document.querySelector("#zero tbody").replaceChildren(...p.zero_reports.map((z) => {
    const tr = document.createElement("tr");
    for (const x of [z.day, z.office_id, z.status, z.alerts_opened, z.alerts_open]) { const td = document.createElement("td"); td.textContent = x; tr.append(td); }
    return tr;
  }));
})();
