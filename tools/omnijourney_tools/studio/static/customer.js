// The customer page's "Done" buttons: a POST with the page's CSRF token, then the page again, without the action.
"use strict";
(() => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const problem = document.getElementById("action-problem");
  for (const button of document.querySelectorAll("button[data-done]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      const answer = await fetch(button.dataset.done, { method: "POST", headers: { "X-CSRF-Token": token } });
      if (answer.ok) {
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
