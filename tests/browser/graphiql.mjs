#!/usr/bin/env node
// Browser smoke test for the GraphiQL page served at <base>/graphiql.
//
//   node tests/browser/graphiql.mjs http://127.0.0.1:PORT
//
// Proves, in a real browser, that the page works fully offline (every request
// stays on localhost — a CDN reference would be caught here, not by users on an
// air-gapped box) and that a query typed into the editor reaches /graphql and
// its answer is rendered.
//
// Environment:
//   GRAPHIQL_QUERY       query to run                  (default: { __typename })
//   GRAPHIQL_EXPECT      text the result pane must contain (default: "__typename",
//                        quotes included, i.e. the JSON key in the response)
//   GRAPHIQL_SCREENSHOT  optional path for a PNG of the final (or failing) page
//   CHROMIUM             browser binary                (default: /usr/bin/chromium)
//
// Exit status 0 on success, 1 on any failure (with a one-line reason on stderr).
// Uses the system Chromium through playwright-core; it never downloads a browser.

import { chromium } from 'playwright-core';

const TOTAL_TIMEOUT_MS = 30_000;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

const query = process.env.GRAPHIQL_QUERY ?? '{ __typename }';
const expected = process.env.GRAPHIQL_EXPECT ?? '"__typename"';
const screenshotPath = process.env.GRAPHIQL_SCREENSHOT;
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

const started = Date.now();
const log = (msg) => console.log(`[graphiql ${((Date.now() - started) / 1000).toFixed(1).padStart(4)}s] ${msg}`);
const remaining = () => Math.max(1, TOTAL_TIMEOUT_MS - (Date.now() - started));

// Problems seen by event handlers; checked after every step so the first
// report names the step during which things went wrong.
const blocked = []; // non-local URLs the page tried to reach
const pageProblems = []; // console errors, uncaught exceptions, HTTP errors

function isLocal(url) {
  const { protocol, hostname } = new URL(url);
  // data:, blob:, about: never touch the network.
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(protocol)) return true;
  return LOCAL_HOSTS.has(hostname);
}

class StepFailure extends Error {}

function checkProblems() {
  if (blocked.length) {
    throw new StepFailure(`page tried to reach non-localhost URL(s): ${[...new Set(blocked)].join(', ')}`);
  }
  if (pageProblems.length) throw new StepFailure(`page reported: ${pageProblems.join(' | ')}`);
}

async function main() {
  const base = process.argv[2];
  if (!base || process.argv.length > 3) {
    throw new StepFailure('usage: node tests/browser/graphiql.mjs http://127.0.0.1:PORT');
  }
  let pageUrl;
  try {
    pageUrl = new URL('/graphiql', base).href;
  } catch {
    throw new StepFailure(`not a URL: ${base}`);
  }
  if (!isLocal(pageUrl)) throw new StepFailure(`base URL must be on localhost, got ${base}`);

  const browser = await chromium.launch({
    executablePath,
    timeout: remaining(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  let page;
  try {
    log(`launched ${executablePath} (Chromium ${browser.version()})`);

    // Service workers would fetch outside context.route(), so forbid them.
    const context = await browser.newContext({ serviceWorkers: 'block', viewport: { width: 1280, height: 800 } });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isLocal(url)) return route.continue();
      blocked.push(url);
      return route.abort('blockedbyclient');
    });
    // WebSockets bypass context.route(); only non-local ones are intercepted,
    // local ones (subscriptions on /graphql) go through untouched.
    await context.routeWebSocket(
      (url) => !isLocal(url.href),
      (ws) => {
        blocked.push(ws.url());
        return ws.close({ code: 1008, reason: 'blocked: not localhost' });
      },
    );

    page = await context.newPage();
    page.setDefaultTimeout(remaining());
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageProblems.push(`console error: ${msg.text()}`);
    });
    page.on('pageerror', (err) => pageProblems.push(`uncaught exception: ${err.message}`));
    page.on('response', (res) => {
      if (res.status() >= 400) pageProblems.push(`HTTP ${res.status()} for ${res.url()}`);
    });

    const response = await page.goto(pageUrl, { waitUntil: 'load', timeout: remaining() });
    if (!response || !response.ok()) {
      throw new StepFailure(`GET ${pageUrl} answered ${response ? response.status() : 'nothing'}`);
    }
    checkProblems();
    log(`opened ${pageUrl} (HTTP ${response.status()}, ${response.headers()['content-type'] ?? 'no content-type'})`);

    // GraphiQL 3 edits with CodeMirror 5, which exposes its API on the wrapper element.
    const queryEditor = '.graphiql-query-editor .CodeMirror';
    await page.waitForSelector(queryEditor, { state: 'visible', timeout: remaining() });
    checkProblems();
    log('query editor is visible');

    // Set the text through CodeMirror rather than typing: typing would trigger
    // bracket auto-closing and autocompletion and mangle the query.
    const actual = await page.$eval(
      queryEditor,
      (el, text) => {
        el.CodeMirror.setValue(text);
        return el.CodeMirror.getValue();
      },
      query,
    );
    if (actual !== query) throw new StepFailure(`editor holds ${JSON.stringify(actual)} instead of the query`);
    // GraphiQL re-parses the edit asynchronously and picks HTTP or WebSocket
    // from the parsed operation; clicking at once would use the stale parse
    // (a subscription would then be POSTed). A short pause lets it catch up.
    await page.waitForTimeout(250);
    checkProblems();
    log(`query set to ${JSON.stringify(query)}`);

    await page.click('.graphiql-execute-button', { timeout: remaining() });
    checkProblems();
    log('clicked the execute button');

    // The response pane is a read-only CodeMirror too; read its full value
    // (the DOM only holds the lines currently scrolled into view).
    const responseText = () =>
      page.$eval('.graphiql-response', (el) => {
        const cm = el.querySelector('.CodeMirror');
        return cm && cm.CodeMirror ? cm.CodeMirror.getValue() : el.textContent;
      });
    try {
      await page.waitForFunction(
        (needle) => {
          const el = document.querySelector('.graphiql-response .CodeMirror');
          return Boolean(el && el.CodeMirror && el.CodeMirror.getValue().includes(needle));
        },
        expected,
        { timeout: remaining() },
      );
    } catch (err) {
      const got = await responseText().catch(() => '(no .graphiql-response)');
      checkProblems();
      throw new StepFailure(`result pane never contained ${JSON.stringify(expected)}; it shows: ${oneLine(got)}`);
    }
    checkProblems();
    log(`result pane contains ${JSON.stringify(expected)}: ${oneLine(await responseText())}`);
  } finally {
    if (page && screenshotPath) {
      await page.screenshot({ path: screenshotPath, timeout: 5_000 }).then(
        () => log(`screenshot saved to ${screenshotPath}`),
        (err) => log(`could not save screenshot: ${err.message}`),
      );
    }
    await browser.close().catch(() => {});
  }
}

function oneLine(text) {
  const flat = String(text).replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat || '(empty)';
}

// Hard stop: nothing below may hang CI. Playwright kills the browser on exit.
const watchdog = setTimeout(() => {
  console.error(`[graphiql] FAIL: gave up after ${TOTAL_TIMEOUT_MS / 1000}s`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS + 5_000);

main().then(
  () => {
    clearTimeout(watchdog);
    log('PASS');
    process.exit(0);
  },
  (err) => {
    clearTimeout(watchdog);
    // Playwright timeouts carry a multi-line call log; the first line says it all.
    const reason = err instanceof StepFailure ? err.message : String(err.message ?? err).split('\n')[0];
    console.error(`[graphiql ${((Date.now() - started) / 1000).toFixed(1).padStart(4)}s] FAIL: ${reason}`);
    process.exit(1);
  },
);
