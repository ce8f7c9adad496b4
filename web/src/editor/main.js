// The journey page: the editor (CodeMirror), its problems at their line and in the Problems list as you type, the
// diagram redrawn while the text is valid (faded while not), each send step's previews following the text, steps in
// the diagram that select their lines, saving (a second, confirmed save for text with errors over a valid file), and
// what a pull request would propose. The page carries the saved text's check: only text typed since is sent to the
// studio to check, and git's answer, slower, is fetched once the page is shown.
import { setDiagnostics } from "@codemirror/lint";
import { EditorSelection } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { extensions, typing } from "./setup.js";

const host = document.getElementById("editor");
const journey = host.dataset.journey;
const csrfHeader = host.dataset.csrfHeader;
const token = document.querySelector('meta[name="csrf-token"]').content;
// The page's Content-Security-Policy lets in the style sheet CodeMirror writes only with this answer's nonce.
const styleNonce = document.querySelector('meta[name="csp-nonce"]').content;
const problemList = document.getElementById("problems");
const status = document.getElementById("status");
const diagram = document.getElementById("diagram");
const diagramNote = document.getElementById("diagram-note");
const previews = document.getElementById("previews");
const previewsNote = document.getElementById("previews-note");
const saved = document.getElementById("saved");
const confirmBox = document.getElementById("confirm");
const loaded = JSON.parse(document.getElementById("journey").textContent);
let steps = {};
let drawn = null;
let previewed = null;
let schema = null;
let loadedDoc = null; // the text as the page brought it, checked already
let savedHere = false;

const NO_ANSWER = "the studio does not answer: is it still running?";

// The answer, or null when the studio cannot be reached (stopped, say).
async function post(action, body) {
  try {
    return await fetch(`/api/journeys/${encodeURIComponent(journey)}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", [csrfHeader]: token },
      body: JSON.stringify(body),
    });
  } catch {
    return null;
  }
}

// Every refusal of the studio is a problem+json: its `detail` is the sentence to show.
async function detailOf(answer) {
  try {
    return (await answer.json()).detail ?? answer.statusText;
  } catch {
    return answer.statusText;
  }
}

function loadSchema() {
  schema ??= fetch("/journey.schema.json").then((answer) => answer.json());
  return schema;
}

function select(view, from, to) {
  view.dispatch({
    selection: EditorSelection.range(from, to),
    effects: EditorView.scrollIntoView(from, { y: "start", yMargin: 48 }),
  });
  view.focus();
}

function selectLines(view, first, last) {
  const doc = view.state.doc;
  select(view, doc.line(Math.min(first, doc.lines)).from, doc.line(Math.min(last, doc.lines)).to);
}

// Where a problem's line and column are in the text; marked to the end of the word there.
function diagnostics(doc, problems) {
  return problems
    .filter((problem) => problem.own && problem.line >= 1)
    .map((problem) => {
      const line = doc.line(Math.min(problem.line, doc.lines));
      const from = Math.min(line.from + Math.max(problem.column - 1, 0), line.to);
      const word = /^[^\s:,{}[\]]+/.exec(line.text.slice(from - line.from));
      const message = `${problem.where ? problem.where + ": " : ""}${problem.message}`;
      return { from, to: from + (word ? word[0].length : 0), severity: problem.severity, message };
    });
}

function showProblems(view, problems) {
  problemList.replaceChildren();
  for (const problem of problems) {
    const item = document.createElement("li");
    item.className = `problem problem-${problem.severity}`;
    if (problem.own) {
      const go = document.createElement("button");
      go.type = "button";
      go.className = "line-link";
      go.textContent = `line ${problem.line}, column ${problem.column}`;
      go.addEventListener("click", () => {
        const line = view.state.doc.line(Math.min(problem.line, view.state.doc.lines));
        const at = Math.min(line.from + problem.column - 1, line.to);
        select(view, at, at);
      });
      item.append(go, ` ${problem.severity}: ${problem.where ? problem.where + ": " : ""}${problem.message}`);
    } else {
      item.textContent = problem.text;
    }
    problemList.appendChild(item);
  }
  if (!problems.length) {
    const none = document.createElement("li");
    none.className = "none";
    none.textContent = "No problems.";
    problemList.appendChild(none);
  }
}

// Redrawn only when the picture changed: a step focused or about to be clicked stays where it is.
function showDiagram(svg) {
  if (svg !== null && svg !== drawn) {
    diagram.innerHTML = svg;
    drawn = svg;
  }
  diagram.classList.toggle("stale", svg === null);
  const stale = svg === null && diagram.querySelector("svg") !== null;
  diagramNote.textContent = stale
    ? "The last valid diagram, until the errors are fixed."
    : "Select a step to see its lines.";
}

// Redrawn only when a preview changed, keeping open the ones the marketer opened.
function showPreviews(shown) {
  previews.classList.toggle("stale", shown === null);
  if (shown === null) {
    previewsNote.textContent = previewed
      ? "The messages of the last valid text, until the errors are fixed."
      : "No messages to show while the journey has errors.";
    return;
  }
  previewsNote.textContent = shown.length
    ? "Each send step's template in every language it has, as omnijourney templates preview prints it, for the text in the editor."
    : "No send steps.";
  const text = JSON.stringify(shown);
  if (text === previewed) return;
  previewed = text;
  const open = new Set([...previews.querySelectorAll("details[open]")].map((details) => details.dataset.key));
  previews.replaceChildren(
    ...shown.map((preview) => {
      const details = document.createElement("details");
      details.dataset.key = `${preview.step} ${preview.template}`;
      details.open = open.has(details.dataset.key);
      const summary = document.createElement("summary");
      summary.textContent = `${preview.step} · ${preview.channel} · ${preview.template}`;
      const body = document.createElement("pre");
      body.textContent = preview.text;
      details.append(summary, body);
      return details;
    }),
  );
}

function show(view, checked) {
  steps = checked.steps;
  status.textContent = checked.status;
  status.className = "status " + (checked.errors ? "has-errors" : checked.warnings ? "has-warnings" : "is-valid");
  showProblems(view, checked.problems);
  showDiagram(checked.svg);
  showPreviews(checked.previews);
}

// The lint source: the studio checks the text (saving nothing); an answer for text typed over since is dropped.
async function check(view) {
  const doc = view.state.doc;
  if (doc === loadedDoc) return diagnostics(doc, loaded.checked.problems);
  const answer = await post("check", { text: doc.toString() });
  if (!answer?.ok) {
    status.textContent = `Could not check: ${answer ? await detailOf(answer) : NO_ANSWER}`;
    return [];
  }
  const checked = await answer.json();
  if (view.state.doc !== doc) return [];
  show(view, checked);
  return diagnostics(doc, checked.problems);
}

async function save(view, confirmed) {
  confirmBox.hidden = true;
  saved.textContent = "Saving…";
  const doc = view.state.doc;
  const answer = await post("save", { text: doc.toString(), confirmed });
  if (answer === null) {
    saved.textContent = `Not saved: ${NO_ANSWER}`;
    return;
  }
  if (answer.status === 409) {
    const checked = await answer.json();
    show(view, checked);
    saved.textContent = "Not saved.";
    document.getElementById("confirm-text").textContent = checked.confirm;
    confirmBox.hidden = false;
    document.getElementById("keep").focus();
    return;
  }
  if (!answer.ok) {
    saved.textContent = `Not saved: ${await detailOf(answer)}`;
    return;
  }
  const checked = await answer.json();
  if (view.state.doc === doc) show(view, checked);
  saved.textContent = `Saved ${journey}.yaml.`;
  savedHere = true;
  showProposal(checked.proposal);
}

function showProposal({ note, diff }) {
  document.getElementById("proposal-note").textContent = note;
  const shown = document.getElementById("diff");
  shown.textContent = diff;
  shown.hidden = !diff;
}

// git's answer for the file as saved; a save's own answer, newer, wins over it.
async function fetchProposal() {
  let proposal;
  try {
    const answer = await fetch(`/api/journeys/${encodeURIComponent(journey)}/proposal`);
    proposal = answer.ok ? await answer.json() : { note: `Could not compare: ${await detailOf(answer)}`, diff: "" };
  } catch {
    proposal = { note: `Could not compare: ${NO_ANSWER}`, diff: "" };
  }
  if (!savedHere) showProposal(proposal);
}

const view = new EditorView({
  doc: loaded.text,
  parent: host,
  extensions: [
    ...extensions({ label: "the journey's YAML", describedBy: "problems", check }),
    EditorView.cspNonce.of(styleNonce),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) saved.textContent = "";
    }),
  ],
});
diagram.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-step]");
  if (!link) return;
  event.preventDefault();
  const lines = steps[link.dataset.step];
  if (lines) selectLines(view, lines[0], lines[1]);
});
document.getElementById("save").addEventListener("click", () => save(view, false));
document.getElementById("save-anyway").addEventListener("click", () => save(view, true));
document.getElementById("keep").addEventListener("click", () => {
  confirmBox.hidden = true;
  saved.textContent = "Not saved: the file keeps its last valid text.";
});
loadedDoc = view.state.doc;
drawn = diagram.querySelector("svg") ? loaded.checked.svg : null;
show(view, loaded.checked);
view.dispatch(setDiagnostics(view.state, diagnostics(view.state.doc, loaded.checked.problems)));
import("./typing.js").then(({ typingExtensions }) => {
  view.dispatch({ effects: typing.reconfigure(typingExtensions({ loadSchema })) });
});
fetchProposal();
