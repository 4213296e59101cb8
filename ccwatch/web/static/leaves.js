"use strict";
function button(label, leaveId, decision) {
  const b = document.createElement("button");
  b.textContent = label;
  b.dataset.decision = decision;
  b.addEventListener("click", async () => {
    if (await ccw.post(`/api/leaves/${encodeURIComponent(leaveId)}/${decision}`, {})) load();
  });
  return b;
}
async function load() {
  await ccw.labels();
  const list = await (await fetch("/api/leaves/pending")).json();
  document.querySelector("#pending tbody").replaceChildren(...list.map((p) => {
    const link = document.createElement("a");
    link.href = `/subjects/${encodeURIComponent(p.subject_id)}`;
    link.textContent = p.subject_id;
    const actions = document.createElement("span");
    actions.append(button("批准 Approve", p.leave_id, "approve"), " ", button("不批准 Reject", p.leave_id, "reject"));
    return ccw.row([link, ccw.local(p.starts_at), ccw.local(p.ends_at), p.destination,
      p.emergency ? "是 yes" : "", ccw.label("approver", p.approver), actions]);
  }));
}
load();
