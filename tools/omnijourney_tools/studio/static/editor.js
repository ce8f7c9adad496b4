// The journey editor: line numbers, problems at their line as you type, the diagram redrawn while the text is
// valid, steps in the diagram that select their lines, and saving (a second, confirmed save for text with errors).
"use strict";

(function () {
  const CHECK_DELAY_MS = 300;
  const script = document.currentScript;
  const journey = script.dataset.journey;
  const csrfHeader = script.dataset.csrfHeader;
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const editor = document.getElementById("yaml");
  const gutter = document.getElementById("gutter");
  const problemList = document.getElementById("problems");
  const status = document.getElementById("status");
  const diagram = document.getElementById("diagram");
  const diagramNote = document.getElementById("diagram-note");
  const saved = document.getElementById("saved");
  const confirmBox = document.getElementById("confirm");
  let steps = {};
  let pending = null;
  let asked = 0;

  function post(action, body) {
    return fetch(`/api/journeys/${encodeURIComponent(journey)}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", [csrfHeader]: token },
      body: JSON.stringify(body),
    });
  }

  function drawGutter() {
    const lines = editor.value.split("\n").length;
    while (gutter.children.length < lines) {
      const number = document.createElement("div");
      number.dataset.line = String(gutter.children.length + 1);
      number.textContent = number.dataset.line;
      gutter.appendChild(number);
    }
    while (gutter.children.length > lines) gutter.lastChild.remove();
  }

  function lineStart(line) {
    const lines = editor.value.split("\n");
    return lines.slice(0, line - 1).reduce((total, text) => total + text.length + 1, 0);
  }

  function select(first, last) {
    const lines = editor.value.split("\n");
    editor.focus();
    editor.setSelectionRange(lineStart(first), lineStart(last) + lines[last - 1].length);
    const lineHeight = parseFloat(getComputedStyle(editor).lineHeight);
    editor.scrollTop = Math.max(0, (first - 3) * lineHeight);
    for (const number of gutter.children) {
      const line = Number(number.dataset.line);
      number.classList.toggle("selected", line >= first && line <= last);
    }
  }

  function show(checked) {
    steps = checked.steps;
    status.textContent = checked.status;
    status.className = "status " + (checked.errors ? "has-errors" : checked.warnings ? "has-warnings" : "is-valid");
    for (const number of gutter.children) {
      number.classList.remove("problem-error", "problem-warning");
      number.removeAttribute("title");
    }
    problemList.replaceChildren();
    for (const problem of checked.problems) {
      const item = document.createElement("li");
      item.className = `problem problem-${problem.severity}`;
      item.dataset.line = String(problem.line);
      if (problem.own) {
        const go = document.createElement("button");
        go.type = "button";
        go.className = "line-link";
        go.textContent = `line ${problem.line}, column ${problem.column}`;
        go.addEventListener("click", () => select(problem.line, problem.line));
        item.append(go, ` ${problem.severity}: ${problem.where ? problem.where + ": " : ""}${problem.message}`);
        const number = gutter.children[problem.line - 1];
        if (number) {
          number.classList.add(`problem-${problem.severity}`);
          number.title = problem.text;
        }
      } else {
        item.textContent = problem.text;
      }
      problemList.appendChild(item);
    }
    if (!checked.problems.length) {
      const none = document.createElement("li");
      none.className = "none";
      none.textContent = "No problems.";
      problemList.appendChild(none);
    }
    if (checked.svg !== null) diagram.innerHTML = checked.svg;
    diagram.classList.toggle("stale", checked.svg === null);
    const stale = checked.svg === null && diagram.querySelector("svg") !== null;
    diagramNote.textContent = stale
      ? "The last valid diagram, until the errors are fixed."
      : "Select a step to see its lines.";
  }

  async function check() {
    const ask = ++asked;
    const answer = await post("check", { text: editor.value });
    if (!answer.ok) {
      status.textContent = `could not check: ${await answer.text()}`;
      return;
    }
    const checked = await answer.json();
    if (ask === asked) show(checked); // an older answer never replaces a newer one
  }

  async function save(confirmed) {
    confirmBox.hidden = true;
    saved.textContent = "Saving…";
    const answer = await post("save", { text: editor.value, confirmed });
    if (answer.status === 409) {
      const checked = await answer.json();
      show(checked);
      saved.textContent = "Not saved.";
      document.getElementById("confirm-text").textContent = checked.confirm;
      confirmBox.hidden = false;
      document.getElementById("keep").focus();
      return;
    }
    if (!answer.ok) {
      saved.textContent = `Not saved: ${await answer.text()}`;
      return;
    }
    const checked = await answer.json();
    show(checked);
    saved.textContent = `Saved ${journey}.yaml.`;
    document.getElementById("proposal-note").textContent = checked.proposal.note;
    const diff = document.getElementById("diff");
    diff.textContent = checked.proposal.diff;
    diff.hidden = !checked.proposal.diff;
  }

  editor.addEventListener("input", () => {
    drawGutter();
    saved.textContent = "";
    clearTimeout(pending);
    pending = setTimeout(check, CHECK_DELAY_MS);
  });
  editor.addEventListener("scroll", () => {
    gutter.scrollTop = editor.scrollTop;
  });
  diagram.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-step]");
    if (!link) return;
    event.preventDefault();
    const lines = steps[link.dataset.step];
    if (lines) select(lines[0], lines[1]);
  });
  document.getElementById("save").addEventListener("click", () => save(false));
  document.getElementById("save-anyway").addEventListener("click", () => save(true));
  document.getElementById("keep").addEventListener("click", () => {
    confirmBox.hidden = true;
    saved.textContent = "Not saved: the file keeps its last valid text.";
  });

  show(JSON.parse(document.getElementById("checked").textContent));
  // Text typed before this script was listening (a slow load) is checked now, not at the next keystroke.
  if (editor.value !== editor.defaultValue) check();
  editor.dataset.ready = "true";
})();
