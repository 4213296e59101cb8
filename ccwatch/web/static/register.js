"use strict";
// Shared by every page: local (Beijing) times, the labels of codes, table rows as text
// (never HTML), POST with the session's CSRF token, forms sent as JSON, and the outcome of
// each change shown to the user: a refusal with its reason in Chinese and English.
const ccw = {
  local(iso) {  // an instant, in Beijing time whatever the browser's zone: 2026/12/1 13:50:00
    if (!iso) return "";
    return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  },
  atLocal(value) {  // a datetime-local input's value, Beijing time (UTC+8 all year), as ISO
    return value ? `${value.length === 16 ? `${value}:00` : value}+08:00` : null;
  },
  labels() {  // the shared label table (GET /api/labels), fetched once; fills the selects
    ccw._labels ??= fetch("/api/labels").then((r) => (r.ok ? r.json() : {})).then((table) => {
      ccw.table = table;
      for (const s of document.querySelectorAll("select[data-labels]")) {
        const codes = s.dataset.codes ? s.dataset.codes.split(" ") : Object.keys(table[s.dataset.labels] || {});
        ccw.choices(s, s.dataset.labels, codes, s.dataset.selected);
      }
      return table;
    });
    return ccw._labels;
  },
  label(group, code) {  // "越界 out_of_bounds": Chinese first, then the code
    const found = ccw.table && ccw.table[group] && ccw.table[group][code];
    return found ? `${found.zh} ${code}` : code ?? "";
  },
  coded(field, group = field) {  // a column: the record's field, labelled
    return (x) => ccw.label(group, x[field]);
  },
  choices(select, group, codes, selected) {  // append a labelled option per code
    select.append(...codes.map((c) => new Option(ccw.label(group, c), c, c === selected, c === selected)));
  },
  today() {  // the local date, YYYY-MM-DD
    return new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
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
  rows(sel, list, cols) {  // cols: a field name, or a function of the record
    document.querySelector(sel + " tbody").replaceChildren(
      ...list.map((x) => ccw.row(cols.map((c) => (typeof c === "function" ? c(x) : x[c])))));
  },
  link(href, text) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  },
  subject(id) {
    return ccw.link(`/subjects/${encodeURIComponent(id)}`, id);
  },
  options(select, list, value, label) {  // fill a <select> from records
    select.replaceChildren(...list.map((x) => new Option(label(x), x[value])));
  },
  num(v) {  // a number field: empty is null
    return v === null || v === "" ? null : Number(v);
  },
  list(v) {  // "a, b c" -> ["a", "b", "c"]
    return (v || "").split(/[\s,，]+/).filter(Boolean);
  },
  async csrf() {
    ccw._csrf ??= (await (await fetch("/api/me")).json()).csrf;
    return ccw._csrf;
  },
  async post(url, body) {  // the answer, or null when refused
    const out = document.getElementById("outcome");
    out.textContent = "…";
    out.className = "";
    const r = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": await ccw.csrf() },
      body: JSON.stringify(body),
    });
    if (r.status === 401) { location.href = "/login"; return null; }  // the session ended
    const data = await r.json().catch(() => ({}));
    const d = data.detail;
    out.textContent = r.ok ? "已完成 Done"
      : d && d.zh ? `${d.zh} (${d.en})`
      : Array.isArray(d) ? `输入有误 Invalid input: ${d.map((e) => `${e.loc.at(-1)}: ${e.msg}`).join("; ")}`
      : r.status === 404 ? "没有该记录 No such record (404)"
      : r.status === 403 ? "无权操作 Not allowed (403)"
      : `失败 Failed (${r.status})`;
    out.className = r.ok ? "accepted" : "rejected";
    return r.ok ? data : null;
  },
  // On submit: POST body(FormData) to url (or url(FormData)); when done, reset the form and
  // call after(answer).
  form(id, url, body, after) {
    const f = document.getElementById(id);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const data = new FormData(f);
      const done = await ccw.post(typeof url === "function" ? url(data) : url, body(data));
      if (done) { f.reset(); after(done); }
    });
  },
};
