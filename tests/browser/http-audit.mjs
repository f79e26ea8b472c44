#!/usr/bin/env node
// GraphQL-over-HTTP conformance audit of <base>/graphql with the audit suite of
// the `graphql-http` package (the reference implementation of the spec):
//
//   node tests/browser/http-audit.mjs http://127.0.0.1:PORT
//
// Runs every audit of `serverAudits()` one after the other (so the output order
// is stable and the server sees one request at a time) and prints one line per
// audit:
//
//   ok     2C94 MUST accept POST requests
//   warn   9ABE SHOULD respond with 4xx status code if content-type is not supplied on POST requests
//          -> Response status code is not 400 [HTTP 200 application/json; body: {"data":…}]
//
// then a summary line and, as the very last line of stdout, a JSON object with
// the counts per status: {"ok":N,"notice":N,"warn":N,"error":N}.
//
// Statuses come from the audit name: a failed MUST is an `error`, a failed
// SHOULD a `warn`, a failed MAY a `notice`. This script is strict: it exits 0
// only when every audit is `ok` (no notices, warnings or errors), 1 otherwise
// (with a one-line reason on stderr). An audit that cannot run at all (the
// server is down, a request hangs) counts as an `error`.
//
// Environment:
//   HTTP_AUDIT_TIMEOUT_MS  per-audit time limit in ms   (default: 10000)
//
// Needs only Node's built-in fetch; no browser.

import { serverAudits } from 'graphql-http';

const AUDIT_TIMEOUT_MS = Number(process.env.HTTP_AUDIT_TIMEOUT_MS ?? 10_000);
const TOTAL_TIMEOUT_MS = 120_000;
const BODY_SNIPPET = 160;
const STATUSES = ['ok', 'notice', 'warn', 'error'];

class StepFailure extends Error {}

function endpoint() {
  const base = process.argv[2];
  if (!base || process.argv.length > 3) {
    throw new StepFailure('usage: node tests/browser/http-audit.mjs http://127.0.0.1:PORT');
  }
  try {
    return new URL('/graphql', base).href;
  } catch {
    throw new StepFailure(`not a URL: ${base}`);
  }
}

// Every request of an audit goes through this fetch, so a hung server fails
// the audit instead of the whole run.
function fetchWithTimeout(input, init = {}) {
  return fetch(input, { ...init, signal: AbortSignal.timeout(AUDIT_TIMEOUT_MS) });
}

// One audit, never throwing: graphql-http throws (instead of returning a
// result) only when the audit itself could not be carried out.
async function runAudit(audit) {
  try {
    return await audit.fn();
  } catch (err) {
    const cause = err?.cause ? ` (${err.cause.code ?? err.cause.message ?? err.cause})` : '';
    return {
      id: audit.id,
      name: audit.name,
      status: 'error',
      reason: `audit could not run: ${err?.message ?? err}${cause}`,
    };
  }
}

// "HTTP 200 application/json; body: {...}" from the failing response, if the
// result carries one. Some audits have already read the body; say so.
async function describeResponse(res) {
  if (!res || typeof res.status !== 'number') return '';
  const type = res.headers?.get('content-type') ?? 'no content-type';
  let body;
  if (res.bodyUsed) {
    body = '(already read by the audit)';
  } else {
    try {
      body = oneLine(await res.text(), BODY_SNIPPET);
    } catch (err) {
      body = `(unreadable: ${err.message})`;
    }
  }
  return ` [HTTP ${res.status} ${type}; body: ${body}]`;
}

function oneLine(text, max = 200) {
  const flat = String(text).replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat || '(empty)';
}

async function main() {
  const url = endpoint();
  const audits = serverAudits({ url, fetchFn: fetchWithTimeout });
  console.log(`[http-audit] ${audits.length} GraphQL-over-HTTP audits (graphql-http) against ${url}`);

  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  let firstFailure; // for the one-line reason on stderr
  const started = Date.now();
  for (const audit of audits) {
    const result = await runAudit(audit);
    counts[result.status] = (counts[result.status] ?? 0) + 1;
    const head = `${result.status.padEnd(6)} ${result.id} ${result.name}`;
    if (result.status === 'ok') {
      console.log(head);
    } else {
      firstFailure ??= `${result.status} ${result.id}: ${result.reason}`;
      console.log(`${head}\n       -> ${result.reason}${await describeResponse(result.response)}`);
    }
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const summary = STATUSES.map((s) => `${counts[s]} ${s}`).join(', ');
  const allOk = counts.ok === audits.length;
  console.log(`[http-audit] ${allOk ? 'PASS' : 'FAIL'}: ${audits.length} audits in ${seconds}s: ${summary}`);
  console.log(JSON.stringify({ ok: counts.ok, notice: counts.notice, warn: counts.warn, error: counts.error }));
  if (!allOk) {
    throw new StepFailure(
      `${audits.length - counts.ok} of ${audits.length} audits not ok ` +
        `(${counts.notice} notice, ${counts.warn} warn, ${counts.error} error); first: ${firstFailure}`,
    );
  }
}

// Hard stop: nothing below may hang CI.
const watchdog = setTimeout(() => {
  console.error(`[http-audit] FAIL: gave up after ${TOTAL_TIMEOUT_MS / 1000}s`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);

main().then(
  () => {
    clearTimeout(watchdog);
    process.exit(0);
  },
  (err) => {
    clearTimeout(watchdog);
    const reason = err instanceof StepFailure ? err.message : String(err?.message ?? err).split('\n')[0];
    console.error(`[http-audit] FAIL: ${reason}`);
    process.exit(1);
  },
);
