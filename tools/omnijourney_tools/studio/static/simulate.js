// The Simulate page: start a run (a shipped scenario or an upload), follow its progress on the bar, and show the
// result when it is ready (the page is rendered again: the result is the server's, charts included), with the focus on
// the result's heading, so a keyboard or screen reader user goes on from the result, not from the top of the page.
(() => {
  const POLL_MS = 400;
  const RESULT = "#result-heading";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const csrfHeader = document.currentScript.dataset.csrfHeader;
  const run = document.querySelector(".run");
  const bar = document.getElementById("progress");
  const said = document.getElementById("progress-text");
  const problem = document.getElementById("run-error");
  const buttons = [document.getElementById("run"), document.getElementById("run-upload")];

  function show(progress) {
    bar.max = progress.total || 1;
    bar.value = progress.done;
    buttons.forEach((button) => { button.disabled = progress.state === "running"; });
    if (progress.state === "running") said.textContent = `${progress.scenario}: ${progress.done} of ${progress.total} lines`;
    if (progress.state === "failed") said.textContent = `${progress.scenario} failed: ${progress.error}`;
    if (progress.state === "finished") said.textContent = `${progress.scenario}: done`;
  }

  async function follow(progress) {
    show(progress);
    if (progress.state === "running") {
      setTimeout(async () => follow(await (await fetch("/api/simulation")).json()), POLL_MS);
    } else if (progress.state === "finished") {
      window.history.replaceState(null, "", RESULT);
      window.location.reload();
    }
  }

  async function start(body) {
    problem.textContent = "";
    const answer = await fetch("/api/simulation", {
      method: "POST",
      headers: { "Content-Type": "application/json", [csrfHeader]: csrf },
      body: JSON.stringify(body),
    });
    const sent = await answer.json().catch(() => ({}));
    if (!answer.ok) {
      problem.textContent = sent.detail || `The studio answered ${answer.status}.`;
      return;
    }
    follow(sent);
  }

  document.getElementById("run").addEventListener("click", () => start({ scenario: document.getElementById("scenario").value }));
  document.getElementById("run-upload").addEventListener("click", async () => {
    const file = document.getElementById("upload").files[0];
    if (!file) {
      problem.textContent = "Choose a .jsonl file to upload first.";
      return;
    }
    start({ upload: file.name, text: await file.text() });
  });
  // A customer's timeline is fetched the first time the customer is opened (a result of 200 customers would be a
  // megabyte of them to read before the page shows anything).
  async function showTimeline(customer) {
    const place = customer.querySelector(".timeline-place");
    if (place.dataset.asked) return;
    place.dataset.asked = "yes";
    const answer = await fetch(customer.dataset.timeline);
    if (answer.ok) {
      place.innerHTML = await answer.text(); // the studio's own HTML, every text escaped by its templates
      return;
    }
    const sent = await answer.json().catch(() => ({}));
    place.textContent = sent.detail || `The studio answered ${answer.status}.`;
  }
  for (const customer of document.querySelectorAll("details.customer")) {
    customer.addEventListener("toggle", () => { if (customer.open) showTimeline(customer); });
    if (customer.open) showTimeline(customer);
  }

  if (window.location.hash === RESULT) document.querySelector(RESULT)?.focus();
  // A run already playing when the page was opened (started before a reload, or in another tab): follow it.
  if (run.dataset.state === "running") fetch("/api/simulation").then((answer) => answer.json()).then(follow);
})();
