// What the editor needs once the marketer types, loaded after the first paint: history, keys completed from the
// schema, and the keymaps (Tab indents). `data-ready` says the editor takes keys as a code editor does from here on.
import { autocompletion } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { lintKeymap } from "@codemirror/lint";
import { EditorView, keymap } from "@codemirror/view";
import { schemaCompletion } from "./schema-completion.js";

// `loadSchema` resolves to the journey schema.
export function typingExtensions({ loadSchema }) {
  return [
    history(),
    autocompletion({ override: [schemaCompletion(loadSchema)] }),
    // Tab indents; Escape then Tab leaves the editor (CodeMirror's own escape hatch), so focus is never trapped.
    keymap.of([...lintKeymap, ...historyKeymap, indentWithTab, ...defaultKeymap]),
    EditorView.contentAttributes.of({ "data-ready": "true" }),
  ];
}
