// The customer page's "Done" buttons: a POST with the page's CSRF token, then the page again, without the action;
// the reloaded page says what was marked done and puts the focus on the list, where the button was.
"use strict";
(() => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const problem = document.getElementById("action-problem");
  const marked = sessionStorage.getItem("omnijourney-marked-done");
  if (marked) {
    sessionStorage.removeItem("omnijourney-marked-done");
    document.getElementById("action-done").textContent = `Marked done: ${marked}`;
    document.getElementById("actions-heading").focus();
  }
  for (const button of document.querySelectorAll("button[data-done]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      const answer = await fetch(button.dataset.done, { method: "POST", headers: { "X-CSRF-Token": token } });
      if (answer.ok) {
        sessionStorage.setItem("omnijourney-marked-done", document.getElementById(button.getAttribute("aria-describedby")).textContent);
        window.location.reload();
        return;
      }
      const body = await answer.json().catch(() => ({}));
      problem.textContent = answer.status === 404 ? "Not found: this action or customer is gone." : (body.detail || `Not recorded (${answer.status}).`);
      problem.hidden = false;
      button.disabled = false;
    });
  }
})();
