// The editor's extensions: YAML highlighted with the studio's own token classes (coloured in studio.css), line
// numbers, history, the problems as lint diagnostics, keys completed from the schema, and Tab that indents.
import { autocompletion } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { yaml } from "@codemirror/lang-yaml";
import { indentUnit, syntaxHighlighting } from "@codemirror/language";
import { lintGutter, linter, lintKeymap } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers } from "@codemirror/view";
import { tagHighlighter, tags } from "@lezer/highlight";
import { schemaCompletion } from "./schema-completion.js";

export const CHECK_DELAY_MS = 300;

// Stable class names rather than generated ones, so the page's stylesheet (and its contrast checks) owns the colours.
const tokens = tagHighlighter([
  { tag: tags.definition(tags.propertyName), class: "tok-key" },
  { tag: tags.content, class: "tok-value" },
  { tag: tags.string, class: "tok-string" },
  { tag: tags.comment, class: "tok-comment" },
  { tag: [tags.separator, tags.punctuation, tags.brace, tags.squareBracket, tags.meta], class: "tok-punctuation" },
  { tag: [tags.labelName, tags.typeName, tags.keyword], class: "tok-anchor" },
]);

// `check` is the lint source (the studio's check route); `loadSchema` resolves to the journey schema.
export function extensions({ label, describedBy, check, loadSchema }) {
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightActiveLine(),
    drawSelection(),
    history(),
    EditorState.tabSize.of(2),
    indentUnit.of("  "),
    yaml(),
    syntaxHighlighting(tokens),
    linter(check, { delay: CHECK_DELAY_MS }),
    lintGutter(),
    autocompletion({ override: [schemaCompletion(loadSchema)] }),
    // Tab indents; Escape then Tab leaves the editor (CodeMirror's own escape hatch), so focus is never trapped.
    keymap.of([...lintKeymap, ...historyKeymap, indentWithTab, ...defaultKeymap]),
    // tabindex says outright what contenteditable implies, for checkers (axe) that ask whether the scroller can be
    // reached by keyboard.
    EditorView.contentAttributes.of({
      "aria-label": label,
      "aria-describedby": describedBy,
      tabindex: "0",
      "data-ready": "true",
    }),
  ];
}
