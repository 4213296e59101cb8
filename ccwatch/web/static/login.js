// Log in; the board takes over from there. A refusal says why, and how long to wait.
"use strict";
function wait(s) {  // "15 分钟 (15 min)", "8 秒 (8 s)"
  return s >= 120 ? `${Math.ceil(s / 60)} 分钟 (${Math.ceil(s / 60)} min)` : `${s} 秒 (${s} s)`;
}
document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const r = await fetch("/api/login", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: f.get("username"), password: f.get("password")})});
  if (r.ok) { location.href = "/"; return; }
  const error = document.getElementById("error");
  if (r.status !== 429) { error.textContent = "登录失败 Log-in failed"; return; }
  const d = await r.json().catch(() => ({}));
  const s = Number(d.retry_after_s ?? r.headers.get("Retry-After") ?? 1);
  error.textContent = d.locked
    ? `失败次数过多，账户已锁定：请 ${wait(s)} 后再试，或请管理员解锁。 Too many failed log-ins: the account is locked; try again in ${wait(s)} or ask an administrator.`
    : `尝试过于频繁：请 ${wait(s)} 后再试。 Too many attempts: try again in ${wait(s)}.`;
});
