"use strict";
// Change one's own password; after an administrator's reset, nothing else is allowed until
// this is done. Every session of the user ends; this browser gets a new one.
(async () => {
  const me = await (await fetch("/api/me")).json();
  document.getElementById("must").hidden = !me.must_change_password;
})();
const form = document.getElementById("password-form");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(form);
  if (f.get("new_password") !== f.get("again")) {
    const out = document.getElementById("outcome");
    out.textContent = "两次输入的新密码不同 The new passwords differ";
    out.className = "rejected";
    return;
  }
  const done = await ccw.post("/api/me/password",
    { current_password: f.get("current_password"), new_password: f.get("new_password") });
  if (done) location.href = "/";
});
document.getElementById("logout").addEventListener("click", async () => {
  await fetch("/api/logout", { method: "POST", headers: { "X-CSRF-Token": await ccw.csrf() } });
  location.href = "/login";
});
