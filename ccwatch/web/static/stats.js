// Register statistics of a month or a year, grouped as asked.
"use strict";
(async () => {
  const params = new URLSearchParams(location.search);
  const form = document.getElementById("ask");
  for (const [k, v] of params) if (form.elements[k]) form.elements[k].value = v;
  const by = params.get("by") || "office";
  const ask = new URLSearchParams([...params].filter(([k, v]) => v && k !== "by"));
  const response = await fetch(`/api/stats?${ask}`);
  const p = await response.json();
  if (!response.ok) {
    const error = document.getElementById("error");
    error.textContent = `${response.status}: ${JSON.stringify(p.detail)}`;
    error.hidden = false;
    return;
  }
  document.getElementById("period").textContent = p.summary;
  const cell = (tag, text) => { const c = document.createElement(tag); c.textContent = text; return c; };
  const head = document.createElement("tr");
  head.append(cell("th", form.elements.by.selectedOptions[0].textContent),
              ...p.columns.map((c) => cell("th", `${c.zh} ${c.en}`)));
  document.querySelector("#stats thead").replaceChildren(head);
  const rows = [...p.by[by], p.total].map((g) => {
    const tr = document.createElement("tr");
    tr.append(cell("td", g.label), ...p.columns.map((c) => cell("td", g[c.key])));
    return tr;
  });
  rows.at(-1).className = "total";
  document.querySelector("#stats tbody").replaceChildren(...rows);
})();
