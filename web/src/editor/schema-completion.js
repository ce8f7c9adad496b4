// Keys (and enum values) completed from the journey schema, along the YAML path of the cursor. The path comes from the
// indentation of the lines above, not from a parse: the text being typed is often not valid YAML yet.

const LINE = /^(\s*)((?:-\s+)*)(.*)$/;
const KEY = /^([A-Za-z_][\w-]*)\s*:(?:\s|$)/;
const TYPING_KEY = /^(\s*)((?:-\s+)*)([\w-]*)$/;
const TYPING_VALUE = /^(\s*)((?:-\s+)*)([A-Za-z_][\w-]*):\s+([\w-]*)$/;

// The document ({column: -1}), then each open mapping key ({column, key}) and sequence item ({column, key: null})
// that holds the line after `lines`; each with the keys written in it so far (`keys`).
function openedBy(lines) {
  const path = [{ column: -1, key: null, keys: new Set() }];
  for (const text of lines) {
    if (!text.trim() || text.trim().startsWith("#")) continue;
    enter(path, text);
    const [, , , rest] = LINE.exec(text);
    const key = KEY.exec(rest);
    if (key) {
      path[path.length - 1].keys.add(key[1]);
      path.push({ column: text.length - rest.length, key: key[1], keys: new Set() });
    }
  }
  return path;
}

// A line closes whatever is indented as far as it, or further (a sequence may sit at its key's own column), then
// opens an item per dash it starts with.
function enter(path, text) {
  const [, indent, dashes] = LINE.exec(text);
  const column = indent.length;
  const top = () => path[path.length - 1];
  while (path.length > 1 && (top().column > column || (top().column === column && !(dashes && top().key !== null)))) {
    path.pop();
  }
  let at = column;
  for (const dash of dashes.match(/-\s+/g) ?? []) {
    path.push({ column: at, key: null, keys: new Set() });
    at += dash.length;
  }
}

function lookup(schema, ref) {
  return ref
    .replace(/^#\//, "")
    .split("/")
    .reduce((node, part) => node?.[part.replace(/~1/g, "/").replace(/~0/g, "~")], schema);
}

// A schema and every alternative it allows ($ref, anyOf, oneOf, allOf), each as a plain schema.
function alternatives(schema, node) {
  if (!node || typeof node !== "object") return [];
  if (node.$ref) return alternatives(schema, lookup(schema, node.$ref));
  const branches = [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])];
  return [node, ...branches.flatMap((branch) => alternatives(schema, branch))];
}

function schemasAt(schema, path) {
  let nodes = alternatives(schema, schema);
  for (const { key } of path.slice(1)) {
    nodes = nodes.flatMap((node) => alternatives(schema, key === null ? node.items : node.properties?.[key]));
  }
  return nodes;
}

function described(schema, node) {
  const found = alternatives(schema, node).find((each) => each.description || each.title);
  return found ? found.description || found.title : undefined;
}

function keyOptions(schema, nodes, written) {
  const options = new Map();
  for (const node of nodes) {
    for (const [key, property] of Object.entries(node.properties ?? {})) {
      if (!options.has(key) && !written.has(key)) {
        options.set(key, { label: key, type: "property", info: described(schema, property), apply: `${key}: ` });
      }
    }
  }
  return [...options.values()];
}

function valueOptions(nodes) {
  const values = new Set(nodes.flatMap((node) => [...(node.enum ?? []), ...(node.type === "boolean" ? [true, false] : [])]));
  return [...values].map((value) => ({ label: String(value), type: "enum" }));
}

// A completion source for @codemirror/autocomplete; `loadSchema` resolves to the schema (fetched on first use).
export function schemaCompletion(loadSchema) {
  return async (context) => {
    const line = context.state.doc.lineAt(context.pos);
    const before = line.text.slice(0, context.pos - line.from);
    const key = TYPING_KEY.exec(before);
    const value = key ? null : TYPING_VALUE.exec(before);
    if (!key && !value) return null;
    const word = key ? key[3] : value[4];
    if (!word && !context.explicit) return null;
    const schema = await loadSchema();
    const above = [];
    for (let number = 1; number < line.number; number++) above.push(context.state.doc.line(number).text);
    const path = openedBy(above);
    enter(path, before);
    const options = key
      ? keyOptions(schema, schemasAt(schema, path), path[path.length - 1].keys)
      : valueOptions(schemasAt(schema, [...path, { key: value[3] }]));
    return options.length ? { from: context.pos - word.length, options, validFor: /^[\w-]*$/ } : null;
  };
}
