// Log in; the board takes over from there.
"use strict";
document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const r = await fetch("/api/login", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: f.get("username"), password: f.get("password")})});
  if (r.ok) { location.href = "/"; } else { document.getElementById("error").textContent = "登录失败 Log-in failed"; }
});
