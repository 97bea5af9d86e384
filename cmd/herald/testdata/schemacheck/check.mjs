// Validates request bodies against the JSON Schemas of Herald's event
// catalog with Ajv: node check.mjs input.json, where input.json is
// {"catalogs": [[entry, ...], ...], "bodies": [{"source", "body"}, ...]}
// (an entry as GET /rest/webhooks/event-types?include=catalog gives it; a
// body as the receiver got it, a string). Every catalog's own examples are
// checked too. A body is checked against its workspace's catalog (the one
// whose examples name its workspaceId), or else the first, whose event
// types every workspace has; one that neither has fails. Prints a summary;
// exits 1 on any failure.
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);

const compiled = new Map(); // schema text -> validate function
const validator = (schema) => {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) compiled.set(key, ajv.compile(schema));
  return compiled.get(key);
};

const failures = [];
let checked = 0;
const check = (source, name, format, schema, body) => {
  checked++;
  const validate = validator(schema);
  if (!validate(body)) {
    failures.push(`${source}: ${name} (${format}): ${ajv.errorsText(validate.errors)}\n  ${JSON.stringify(body).slice(0, 2000)}`);
  }
};

for (const cat of input.catalogs) {
  for (const e of cat) {
    for (const format of Object.keys(e.schemas)) {
      check("catalog example", e.name, format, e.schemas[format], e.examples[format]);
    }
  }
}
const byWorkspace = new Map(); // workspaceId -> catalog
for (const cat of input.catalogs.slice(1)) {
  const ws = cat.length > 0 && cat[0].examples.herald.workspaceId;
  if (ws) byWorkspace.set(ws, cat);
}
const types = new Set();
for (const { source, body: raw } of input.bodies) {
  let body;
  try {
    body = JSON.parse(raw);
  } catch (err) {
    failures.push(`${source}: a body that is not JSON: ${raw.slice(0, 200)}`);
    continue;
  }
  const format = "eventName" in body ? "twenty" : "herald";
  const name = format === "twenty" ? body.eventName : body.event;
  const entry = [byWorkspace.get(body.workspaceId) || [], input.catalogs[0]].map((c) => c.find((e) => e.name === name)).find((e) => e);
  if (!entry) {
    failures.push(`${source}: no catalog has the event type ${JSON.stringify(name)}`);
    continue;
  }
  types.add(`${name} (${format})`);
  check(source, name, format, entry.schemas[format], body);
}
console.log(`${checked} bodies and examples checked against their schemas; received event types: ${[...types].sort().join(", ")}`);
if (failures.length > 0) {
  console.log(`${failures.length} do not match:\n${failures.slice(0, 50).join("\n")}`);
  process.exit(1);
}
