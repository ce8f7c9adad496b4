// The editor's extensions for its first paint: YAML highlighted with the studio's own token classes (coloured in
// studio.css), line numbers, and the problems as lint diagnostics. What typing needs (typing.js: history, completion,
// the keymaps) comes in a chunk of its own once the page is shown, into the `typing` compartment.
import { yaml } from "@codemirror/lang-yaml";
import { indentUnit, syntaxHighlighting } from "@codemirror/language";
import { lintGutter, linter } from "@codemirror/lint";
import { Compartment, EditorState } from "@codemirror/state";
import { drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, lineNumbers } from "@codemirror/view";
import { tagHighlighter, tags } from "@lezer/highlight";

export const CHECK_DELAY_MS = 300;
export const typing = new Compartment();

// Stable class names rather than generated ones, so the page's stylesheet (and its contrast checks) owns the colours.
const tokens = tagHighlighter([
  { tag: tags.definition(tags.propertyName), class: "tok-key" },
  { tag: tags.content, class: "tok-value" },
  { tag: tags.string, class: "tok-string" },
  { tag: tags.comment, class: "tok-comment" },
  { tag: [tags.separator, tags.punctuation, tags.brace, tags.squareBracket, tags.meta], class: "tok-punctuation" },
  { tag: [tags.labelName, tags.typeName, tags.keyword], class: "tok-anchor" },
]);

// `check` is the lint source (the studio's check route).
export function extensions({ label, describedBy, check }) {
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightActiveLine(),
    drawSelection(),
    EditorState.tabSize.of(2),
    indentUnit.of("  "),
    yaml(),
    syntaxHighlighting(tokens),
    linter(check, { delay: CHECK_DELAY_MS }),
    lintGutter(),
    typing.of([]),
    // tabindex says outright what contenteditable implies, for checkers (axe) that ask whether the scroller can be
    // reached by keyboard.
    EditorView.contentAttributes.of({ "aria-label": label, "aria-describedby": describedBy, tabindex: "0" }),
  ];
}
