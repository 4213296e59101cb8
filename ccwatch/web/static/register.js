"use strict";
// Shared by the register pages: local times, table rows as text (never HTML), POST with
// the session's CSRF token, and the outcome of each change shown to the user.
const ccw = {
  local(iso) {
    return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  },
  row(cells) {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      if (c instanceof Node) td.append(c); else td.textContent = c ?? "";
      tr.append(td);
    }
    return tr;
  },
  async csrf() {
    ccw._csrf ??= (await (await fetch("/api/me")).json()).csrf;
    return ccw._csrf;
  },
  async post(url, body) {
    const r = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": await ccw.csrf() },
      body: JSON.stringify(body),
    });
    const data = await r.json().catch(() => ({}));
    const d = data.detail;
    const text = r.ok ? "已完成 Done" : (d && d.zh ? `${d.zh} (${d.en})` : `失败 Failed (${r.status})`);
    const out = document.getElementById("outcome");
    out.textContent = text;
    out.className = r.ok ? "accepted" : "rejected";
    return r.ok;
  },
};
