// Builds the studio's front end into dist/: the journey editor (served by `omnijourney studio`) and the customer
// screen (served by the studio and deployed to S3 behind CloudFront: the same files). Every bundled package's licence
// goes into dist/THIRD-PARTY-LICENSES.txt next to the code it ships with. The editor is split where its script imports
// a part later (`import()`: what typing needs, after the first paint), its chunks in dist/editor/; the customer screen
// is built apart, one file that needs nothing outside dist/customer/.
import { build } from "esbuild";
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
// The customer screen's page and style, copied as they are.
const copied = ["customer/index.html", "customer/customer.css"];

await rm(dist, { recursive: true, force: true });
const options = {
  absWorkingDir: here,
  outdir: dist,
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  legalComments: "none", // kept whole in THIRD-PARTY-LICENSES.txt instead
  metafile: true,
  logLevel: "warning",
};
const built = await Promise.all([
  build({ ...options, entryPoints: { editor: "src/editor/main.js" }, splitting: true, chunkNames: "editor/[name]-[hash]" }),
  build({ ...options, entryPoints: { "customer/app": "src/customer/main.js" } }),
]);
const metafileOutputs = Object.assign({}, ...built.map((each) => each.metafile.outputs));
for (const file of copied) {
  await mkdir(dirname(join(dist, file)), { recursive: true });
  await copyFile(join(here, file), join(dist, file));
}

// Each output folder gets the licences of the packages its bundles include, as each package published them.
async function licences(outputs) {
  const packages = new Set();
  for (const output of outputs) {
    for (const input of Object.keys(metafileOutputs[output].inputs)) {
      const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
      if (match) packages.add(match[1]);
    }
  }
  const sections = [];
  for (const name of [...packages].sort()) {
    const folder = join(here, "node_modules", name);
    const manifest = JSON.parse(await readFile(join(folder, "package.json"), "utf8"));
    const licenceFile = (await readdir(folder)).find((file) => /^(licen[cs]e|copying)(\.|$)/i.test(file));
    if (!licenceFile) throw new Error(`${name} ships no licence file: check its licence before bundling it`);
    const text = await readFile(join(folder, licenceFile), "utf8");
    sections.push(`${name} ${manifest.version} (${manifest.license})\n\n${text.trim()}\n`);
  }
  return sections.join(`\n${"-".repeat(78)}\n\n`);
}
const outputs = Object.keys(metafileOutputs).map((output) => output.replace(/^dist\//, ""));
const bundled = (folder) => outputs.filter((output) => output.endsWith(".js") && output.startsWith(folder));
await writeFile(join(dist, "THIRD-PARTY-LICENSES.txt"), await licences(bundled("").map((o) => `dist/${o}`)));
await writeFile(
  join(dist, "customer", "THIRD-PARTY-LICENSES.txt"),
  await licences(bundled("customer/").map((o) => `dist/${o}`)),
);
