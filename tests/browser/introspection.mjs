#!/usr/bin/env node
// Introspection of the live server matches the committed SDL:
//
//   node tests/browser/introspection.mjs http://127.0.0.1:PORT schema/mercado.graphql
//
// Tools (GraphiQL's docs and autocompletion, codegen, IDE plugins) learn the
// schema by introspection, so the server must (1) answer the standard
// introspection query of graphql-js, both the default one and the one with
// every optional part turned on, and (2) describe the very schema that is
// committed in the SDL file. Steps:
//
//   1. POST getIntrospectionQuery() (no options) to <base>/graphql: must
//      succeed without `errors`.
//   2. POST getIntrospectionQuery({ descriptions, specifiedByUrl,
//      directiveIsRepeatable, schemaDescription, inputValueDeprecation }):
//      must succeed without `errors`; prints the byte size and type count.
//   3. buildClientSchema() of that answer and buildSchema() of the SDL file are
//      compared after lexicographicSortSchema() + printSchema(), i.e. equal in
//      meaning, whatever the order of types and fields (the schema's own
//      description aside: see printSorted). On a mismatch the first
//      differing lines are printed (- SDL file, + server).
//
// Environment:
//   INTROSPECTION_DIFF_LINES  how many differing lines to print (default: 40)
//
// Exit status 0 on success, 1 on any failure (with a one-line reason on stderr).
// Needs only Node's built-in fetch and the `graphql` package; no browser.

import { readFile } from 'node:fs/promises';
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  GraphQLSchema,
  lexicographicSortSchema,
  printSchema,
} from 'graphql';

const REQUEST_TIMEOUT_MS = 15_000;
const TOTAL_TIMEOUT_MS = 60_000;
const DIFF_LINES = Number(process.env.INTROSPECTION_DIFF_LINES ?? 40);
const FULL_OPTIONS = {
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
};

const started = Date.now();
const log = (msg) => console.log(`[introspection ${((Date.now() - started) / 1000).toFixed(1).padStart(4)}s] ${msg}`);

class StepFailure extends Error {}

function parseArgs() {
  const [base, sdlPath] = process.argv.slice(2);
  if (!base || !sdlPath || process.argv.length > 4) {
    throw new StepFailure('usage: node tests/browser/introspection.mjs http://127.0.0.1:PORT path/to/schema.graphql');
  }
  try {
    return { url: new URL('/graphql', base).href, sdlPath };
  } catch {
    throw new StepFailure(`not a URL: ${base}`);
  }
}

// POST one introspection query; returns { data, bytes } or throws naming `what`.
async function introspect(url, what, query) {
  let res;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query, operationName: 'IntrospectionQuery' }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = err.cause ? ` (${err.cause.code ?? err.cause.message ?? err.cause})` : '';
    throw new StepFailure(`${what}: POST ${url} failed: ${err.message}${cause}`);
  }
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new StepFailure(`${what}: HTTP ${res.status} answered with non-JSON: ${oneLine(text)}`);
  }
  if (Array.isArray(body.errors) && body.errors.length) {
    const messages = body.errors.map((e) => e?.message ?? JSON.stringify(e)).join(' | ');
    throw new StepFailure(`${what} was refused (HTTP ${res.status}): ${oneLine(messages)}`);
  }
  if (!res.ok) throw new StepFailure(`${what}: HTTP ${res.status}: ${oneLine(text)}`);
  if (!body.data || !body.data.__schema) {
    throw new StepFailure(`${what}: answer has no data.__schema: ${oneLine(text)}`);
  }
  return { data: body.data, bytes: Buffer.byteLength(text) };
}

// Tiny LCS line diff; the printed schemas are a few thousand lines, fine here.
function lineDiff(expectedLines, actualLines) {
  const n = expectedLines.length;
  const m = actualLines.length;
  // Skip the common head and tail so the table stays small.
  let head = 0;
  while (head < n && head < m && expectedLines[head] === actualLines[head]) head++;
  let tail = 0;
  while (tail < n - head && tail < m - head && expectedLines[n - 1 - tail] === actualLines[m - 1 - tail]) tail++;
  const a = expectedLines.slice(head, n - tail);
  const b = actualLines.slice(head, m - tail);
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j >= b.length || (i < a.length && lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push(`${String(head + i + 1).padStart(5)} - ${a[i++]}`);
    } else {
      out.push(`${String(head + j + 1).padStart(5)} + ${b[j++]}`);
    }
  }
  return out;
}

function oneLine(text, max = 300) {
  const flat = String(text).replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat || '(empty)';
}

// async-graphql 7.2 answers `__schema { description }` with the __Schema type's own
// description, hard-coded, whatever the schema says; it is not part of our contract, so the
// schema-level description is left out of the comparison (types, fields, arguments and their
// descriptions are all compared).
function printSorted(schema) {
  const config = schema.toConfig();
  return printSchema(lexicographicSortSchema(new GraphQLSchema({ ...config, description: undefined })));
}

async function main() {
  const { url, sdlPath } = parseArgs();

  // Read and build the SDL first: a broken file is not the server's fault.
  let sdl;
  try {
    sdl = await readFile(sdlPath, 'utf8');
  } catch (err) {
    throw new StepFailure(`cannot read ${sdlPath}: ${err.message}`);
  }
  let fileSchema;
  try {
    fileSchema = buildSchema(sdl);
  } catch (err) {
    throw new StepFailure(`${sdlPath} is not a valid schema: ${oneLine(err.message)}`);
  }
  log(`built ${sdlPath}: ${Object.keys(fileSchema.getTypeMap()).length} types`);

  // Both queries are always sent, so one run reports every refusal.
  const failures = [];
  let full;
  for (const [what, options] of [
    ['default introspection query', undefined],
    ['full introspection query (all options)', FULL_OPTIONS],
  ]) {
    try {
      const answer = await introspect(url, what, getIntrospectionQuery(options));
      log(`${what}: ${answer.data.__schema.types.length} types, ${answer.bytes} bytes`);
      if (options === FULL_OPTIONS) full = answer;
    } catch (err) {
      if (!(err instanceof StepFailure)) throw err;
      log(`${what}: FAILED: ${err.message}`);
      failures.push(err.message);
    }
  }
  if (failures.length) throw new StepFailure(failures.join('; '));

  let serverSchema;
  try {
    serverSchema = buildClientSchema(full.data);
  } catch (err) {
    throw new StepFailure(`buildClientSchema rejected the server's introspection: ${oneLine(err.message)}`);
  }

  const expected = printSorted(fileSchema);
  const actual = printSorted(serverSchema);
  if (expected !== actual) {
    const diff = lineDiff(expected.split('\n'), actual.split('\n'));
    console.log(`--- ${sdlPath} (sorted)\n+++ ${url} introspection (sorted)`);
    for (const line of diff.slice(0, DIFF_LINES)) console.log(line);
    if (diff.length > DIFF_LINES) console.log(`… ${diff.length - DIFF_LINES} more differing lines`);
    throw new StepFailure(`server schema differs from ${sdlPath}: ${diff.length} differing lines (first: ${oneLine(diff[0], 160)})`);
  }
  log(`server schema equals ${sdlPath} (${actual.split('\n').length} printed lines)`);
}

// Hard stop: nothing below may hang CI.
const watchdog = setTimeout(() => {
  console.error(`[introspection] FAIL: gave up after ${TOTAL_TIMEOUT_MS / 1000}s`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);

main().then(
  () => {
    clearTimeout(watchdog);
    log('PASS');
    process.exit(0);
  },
  (err) => {
    clearTimeout(watchdog);
    const reason = err instanceof StepFailure ? err.message : String(err?.message ?? err).split('\n')[0];
    console.error(`[introspection ${((Date.now() - started) / 1000).toFixed(1).padStart(4)}s] FAIL: ${reason}`);
    process.exit(1);
  },
);
