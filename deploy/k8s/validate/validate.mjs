#!/usr/bin/env node
// Offline checks of Kubernetes manifests, run by tests/MobileNet.Orleans.Deploy.Tests:
//   node validate.mjs [--lint DIR]... [RENDERED.yaml | -]...
// Each RENDERED file (or stdin, `-`) is the output of `kubectl kustomize <overlay>`: every object in it is
// validated against the Kubernetes API schemas of the npm package kubernetes-models (types, required
// fields, formats such as quantities), and KEDA objects against @kubernetes-models/keda. Objects of an
// unknown apiVersion/kind fail: nothing goes unchecked. Each --lint DIR has every *.yaml/*.yml source under
// it linted (YAML syntax, duplicate keys, tabs) with yaml-lint and the `yaml` parser in strict mode.
// Prints one line per finding and a summary; exits 0 when everything passed, 1 otherwise, 2 on bad usage.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { lint } from "yaml-lint";

// API groups served by packages other than kubernetes-models (custom resources).
const customResourcePackages = new Map([["keda.sh", "@kubernetes-models/keda"]]);

function usage(message) {
  console.error(`error: ${message}`);
  console.error("usage: node validate.mjs [--lint DIR]... [RENDERED.yaml | -]...");
  process.exit(2);
}

function parseArgs(argv) {
  const lintDirs = [];
  const inputs = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--lint") {
      if (i + 1 >= argv.length) usage("--lint needs a directory");
      lintDirs.push(argv[++i]);
    } else if (argv[i].startsWith("--")) {
      usage(`unknown option '${argv[i]}'`);
    } else {
      inputs.push(argv[i]);
    }
  }
  if (lintDirs.length === 0 && inputs.length === 0) usage("nothing to check");
  return { lintDirs, inputs };
}

function yamlFilesUnder(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules") continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...yamlFilesUnder(path));
    else if (/\.ya?ml$/.test(entry)) found.push(path);
  }
  return found.sort();
}

// Strict parse with the `yaml` package: syntax errors, duplicate keys and warnings all count.
function parseStrict(text, source, findings) {
  const docs = parseAllDocuments(text, { uniqueKeys: true, strict: true, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    for (const e of doc.errors) findings.push(`${source}: YAML error: ${e.message.split("\n")[0]}`);
    for (const w of doc.warnings) findings.push(`${source}: YAML warning: ${w.message.split("\n")[0]}`);
  }
  return list;
}

async function lintFile(path, findings) {
  const text = readFileSync(path, "utf8");
  if (/\t/.test(text)) findings.push(`${path}: contains a tab character`);
  try {
    await lint(text);
  } catch (e) {
    findings.push(`${path}: yaml-lint: ${String(e.message ?? e).split("\n")[0]}`);
  }
  parseStrict(text, path, findings);
}

async function modelClass(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const pkg = customResourcePackages.get(group) ?? "kubernetes-models";
  let module;
  try {
    module = await import(`${pkg}/${apiVersion}`);
  } catch {
    return undefined;
  }
  return module[kind];
}

async function validateObject(obj, source, findings) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    findings.push(`${source}: a document is not a Kubernetes object`);
    return undefined;
  }
  const { apiVersion, kind } = obj;
  const name = obj.metadata?.name;
  const id = `${kind ?? "?"}/${name ?? "?"}`;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    findings.push(`${source}: ${id}: apiVersion and kind are required`);
    return id;
  }
  if (typeof name !== "string" || name.length === 0) {
    findings.push(`${source}: ${id}: metadata.name is required`);
    return id;
  }
  const Model = await modelClass(apiVersion, kind);
  if (typeof Model !== "function") {
    findings.push(`${source}: ${id}: no schema for ${apiVersion} ${kind} (unknown apiVersion or kind)`);
    return id;
  }
  // kustomize folds long base64 Secret values over several lines; the API server's decoder skips the line
  // breaks, the schema's "byte" format does not, so compare like the server.
  if (apiVersion === "v1" && kind === "Secret" && obj.data && typeof obj.data === "object") {
    for (const key of Object.keys(obj.data)) {
      if (typeof obj.data[key] === "string") obj.data[key] = obj.data[key].replace(/[\r\n]/g, "");
    }
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    findings.push(`${source}: ${id} (${apiVersion}): ${e.message}`);
  }
  return id;
}

async function main() {
  const { lintDirs, inputs } = parseArgs(process.argv.slice(2));
  const findings = [];
  let linted = 0;
  let validated = 0;
  for (const dir of lintDirs) {
    for (const file of yamlFilesUnder(dir)) {
      await lintFile(file, findings);
      linted++;
    }
  }
  for (const input of inputs) {
    const source = input === "-" ? "<stdin>" : relative(process.cwd(), input) || input;
    const text = readFileSync(input === "-" ? 0 : input, "utf8");
    const docs = parseStrict(text, source, findings).filter((d) => d.contents !== null);
    if (docs.length === 0) findings.push(`${source}: no objects`);
    for (const doc of docs) {
      const id = await validateObject(doc.toJS(), source, findings);
      if (id !== undefined) {
        validated++;
        console.log(`checked ${source}: ${id}`);
      }
    }
  }
  for (const f of findings) console.log(`FAIL ${f}`);
  console.log(`${validated} objects validated, ${linted} files linted, ${findings.length} problems`);
  process.exit(findings.length === 0 ? 0 : 1);
}

await main();
