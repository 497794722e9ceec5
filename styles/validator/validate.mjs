#!/usr/bin/env node
// Validate MapLibre style JSON files against the MapLibre style specification (v8), with
// @maplibre/maplibre-gl-style-spec's own validator.
//
//   node validate.mjs [--json] STYLE.json [STYLE.json ...]
//
// Prints "file: message" for every error (messages name the offending key, e.g.
// "layers[1].paint.fill-color: ...") or, with --json, one JSON object
// {"files": [{"file", "errors": [{"message"}]}], "errors": N}; exits 1 when there is any
// error (invalid JSON included), 2 on bad usage or an unreadable file, 0 when all are valid.
// (The package's own gl-style-validate CLI does the same check; this script adds --json
// totals over many files and a stable output for the Python tests.)
import { readFileSync } from 'node:fs';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';

const args = process.argv.slice(2);
const asJson = args.includes('--json');
const files = args.filter((a) => a !== '--json');
if (files.length === 0) {
  console.error('usage: node validate.mjs [--json] STYLE.json [STYLE.json ...]');
  process.exit(2);
}

const results = [];
let total = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    console.error(`${file}: cannot read: ${err.message}`);
    process.exit(2);
  }
  let errors;
  try {
    errors = validateStyleMin(JSON.parse(text)).map((e) => ({ message: e.message }));
  } catch (err) {
    errors = [{ message: `not valid JSON: ${err.message}` }];
  }
  total += errors.length;
  results.push({ file, errors });
}

if (asJson) {
  console.log(JSON.stringify({ files: results, errors: total }));
} else {
  for (const { file, errors } of results) {
    for (const e of errors) console.log(`${file}: ${e.message}`);
  }
  console.log(`${results.length} style(s), ${total} error(s)`);
}
process.exit(total > 0 ? 1 : 0);
