#!/usr/bin/env node
// Browser smoke test for the GraphiQL page served at <base>/graphiql.
//
//   node tests/browser/graphiql.mjs http://127.0.0.1:PORT
//
// Proves, in a real browser, that the page works fully offline (every request
// stays on localhost — a CDN reference would be caught here, not by users on an
// air-gapped box) and that a query typed into the editor reaches /graphql and
// its answer is rendered, then checks the two features that live on the
// schema GraphiQL loads by introspection (so a server that refuses GraphiQL's
// introspection query fails here). Steps:
//
//   open          GET <base>/graphiql answers 2xx and the page loads;
//   editor        the query editor (CodeMirror) is visible;
//   query         GRAPHIQL_QUERY set in the editor and run; the result pane
//                 shows GRAPHIQL_EXPECT;
//   docs          the Documentation Explorer (sidebar button) lists the root
//                 types, and the Query type lists its fields `products` and
//                 `product`;
//   autocomplete  typing `{ prod` into a fresh tab's query editor pops up the
//                 CodeMirror hint list, and it offers `products`.
//
// Each step is timed in the log and a failure names its step. query, docs and
// autocomplete do not depend on each other, so all three always run and the
// failure reason lists every one that failed. Throughout, any request to a host
// other than localhost, console error, uncaught exception or HTTP status >= 400
// fails the step during which it happened.
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

const TOTAL_TIMEOUT_MS = 45_000;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

const query = process.env.GRAPHIQL_QUERY ?? '{ __typename }';
const expected = process.env.GRAPHIQL_EXPECT ?? '"__typename"';
const screenshotPath = process.env.GRAPHIQL_SCREENSHOT;
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

const started = Date.now();
const log = (msg) => console.log(`[graphiql ${((Date.now() - started) / 1000).toFixed(1).padStart(4)}s] ${msg}`);
const remaining = () => Math.max(1, TOTAL_TIMEOUT_MS - (Date.now() - started));

// What the Documentation Explorer must show for the Query type, and what the
// hint list must offer for `{ prod` (see schema/mercado.graphql).
const QUERY_FIELDS = ['products', 'product'];
const TYPED = '{ prod';
const COMPLETION = 'products';

// Problems seen by event handlers; checked after every step so the first
// report names the step during which things went wrong.
const blocked = []; // non-local URLs the page tried to reach
const pageProblems = []; // console errors, uncaught exceptions, HTTP errors
// GraphiQL's own introspection requests and what the server said to them, so
// a missing schema can be explained by the server's answer.
const introspections = []; // { summary } per answer
const pendingIntrospections = []; // handlers still reading an answer

function isLocal(url) {
  const { protocol, hostname } = new URL(url);
  // data:, blob:, about: never touch the network.
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(protocol)) return true;
  return LOCAL_HOSTS.has(hostname);
}

class StepFailure extends Error {}

// Runs one named step: times it, checks for page problems afterwards and makes
// any failure (a StepFailure, a Playwright timeout) say which step it was.
async function step(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    checkProblems();
    log(`step ${name}: ok in ${((Date.now() - t0) / 1000).toFixed(1)}s${detail ? `: ${detail}` : ''}`);
  } catch (err) {
    // Playwright timeouts carry a multi-line call log; the first line says it all.
    const reason = err instanceof StepFailure ? err.message : String(err.message ?? err).split('\n')[0];
    throw new StepFailure(`step ${name} failed after ${((Date.now() - t0) / 1000).toFixed(1)}s: ${reason}`);
  }
}

// Why GraphiQL may have no schema: the answers it got to its introspection query.
async function introspectionNote() {
  await Promise.allSettled(pendingIntrospections);
  if (!introspections.length) return ' (GraphiQL sent no introspection query)';
  return ` (GraphiQL's introspection query got ${introspections.map((i) => i.summary).join('; ')})`;
}

// Reports (and forgets) the problems seen so far, so a later step fails only
// for problems of its own.
function checkProblems() {
  if (blocked.length) {
    const urls = [...new Set(blocked.splice(0))];
    throw new StepFailure(`page tried to reach non-localhost URL(s): ${urls.join(', ')}`);
  }
  if (pageProblems.length) throw new StepFailure(`page reported: ${pageProblems.splice(0).join(' | ')}`);
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
    page.on('requestfinished', (req) => {
      if ((req.postData() ?? '').includes('__schema')) pendingIntrospections.push(recordIntrospection(req));
    });
    const recordIntrospection = async (req) => {
      const res = await req.response().catch(() => null);
      const body = res ? await res.text().catch(() => '') : '';
      let summary = `HTTP ${res ? res.status() : '(none)'}`;
      try {
        const { data, errors } = JSON.parse(body);
        if (errors?.length) summary += ` with errors: ${errors.map((e) => e.message).join(' | ')}`;
        else if (data?.__schema) summary += ` with ${data.__schema.types?.length ?? '?'} types`;
      } catch {
        summary += `: ${oneLine(body)}`;
      }
      introspections.push({ summary: oneLine(summary) });
    };

    await step('open', async () => {
      const response = await page.goto(pageUrl, { waitUntil: 'load', timeout: remaining() });
      if (!response || !response.ok()) {
        throw new StepFailure(`GET ${pageUrl} answered ${response ? response.status() : 'nothing'}`);
      }
      return `${pageUrl} (HTTP ${response.status()}, ${response.headers()['content-type'] ?? 'no content-type'})`;
    });

    // GraphiQL 3 edits with CodeMirror 5, which exposes its API on the wrapper element.
    const queryEditor = '.graphiql-query-editor .CodeMirror';
    await step('editor', async () => {
      await page.waitForSelector(queryEditor, { state: 'visible', timeout: remaining() });
      return 'query editor is visible';
    });

    // The last three steps do not depend on each other: run them all, so one
    // run reports every broken feature, then fail with all their reasons.
    const failures = [];
    for (const [name, fn] of [
      ['query', () => runQuery(page, queryEditor)],
      ['docs', () => browseDocs(page)],
      ['autocomplete', () => autocomplete(page, queryEditor)],
    ]) {
      try {
        await step(name, fn);
      } catch (err) {
        if (!(err instanceof StepFailure)) throw err;
        log(err.message);
        failures.push(err.message);
      }
    }
    if (failures.length) throw new StepFailure(failures.join('; '));
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

// The response pane is a read-only CodeMirror too; read its full value
// (the DOM only holds the lines currently scrolled into view).
function responseText(page) {
  return page.$eval('.graphiql-response', (el) => {
    const cm = el.querySelector('.CodeMirror');
    return cm && cm.CodeMirror ? cm.CodeMirror.getValue() : el.textContent;
  });
}

// Step `query`: GRAPHIQL_QUERY typed into the editor, run, GRAPHIQL_EXPECT in the result pane.
async function runQuery(page, queryEditor) {
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
    const got = await responseText(page).catch(() => '(no .graphiql-response)');
    checkProblems();
    throw new StepFailure(`result pane never contained ${JSON.stringify(expected)}; it shows: ${oneLine(got)}`);
  }
  return `result pane contains ${JSON.stringify(expected)}: ${oneLine(await responseText(page))}`;
}

// Step `docs`: the sidebar's Documentation Explorer shows the root types, and
// the Query type lists its fields. Selectors are those of the vendored
// GraphiQL 3.9 bundle (web-client/graphiql/vendor/graphiql.min.js).
async function browseDocs(page) {
  await page.click('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]', { timeout: remaining() });
  const explorer = page.locator('section.graphiql-doc-explorer[aria-label="Documentation Explorer"]');
  await explorer.waitFor({ state: 'visible', timeout: remaining() });
  log('docs: Documentation Explorer is open');

  // While the schema loads the explorer shows a spinner; then either the root
  // types or an error ("Error fetching schema", "No GraphQL schema available",
  // "Schema is invalid: …").
  const rootTypes = explorer.locator('.graphiql-doc-explorer-root-type');
  const explorerError = explorer.locator('.graphiql-doc-explorer-error');
  await rootTypes.or(explorerError).first().waitFor({ state: 'visible', timeout: remaining() });
  if (await explorerError.count()) {
    const text = (await explorerError.allTextContents()).join(' | ');
    throw new StepFailure(`Documentation Explorer shows "${oneLine(text)}" instead of the root types${await introspectionNote()}`);
  }
  // Each root type is a <div><span class=root-type>query</span>: <a class=type-name>Query</a></div>.
  const roots = await explorer
    .locator('div:has(> .graphiql-doc-explorer-root-type)')
    .evaluateAll((divs) => divs.map((d) => d.textContent.replace(/\s+/g, ' ').trim()));
  log(`docs: root types ${roots.join(', ')}`);

  const queryLink = explorer
    .locator('div:has(> .graphiql-doc-explorer-root-type:text-is("query"))')
    .locator('a.graphiql-doc-explorer-type-name');
  if (!(await queryLink.count())) throw new StepFailure(`no "query" root type among: ${roots.join(', ') || '(none)'}`);
  const queryType = (await queryLink.first().textContent()).trim();
  await queryLink.first().click({ timeout: remaining() });
  await explorer
    .locator('.graphiql-doc-explorer-title', { hasText: new RegExp(`^${queryType}$`) })
    .waitFor({ state: 'visible', timeout: remaining() });
  log(`docs: opened root type ${queryType}`);

  const fieldLinks = explorer.locator('.graphiql-doc-explorer-content a.graphiql-doc-explorer-field-name');
  await fieldLinks.first().waitFor({ state: 'visible', timeout: remaining() });
  const fields = (await fieldLinks.allTextContents()).map((f) => f.trim());
  const missing = QUERY_FIELDS.filter((f) => !fields.includes(f));
  if (missing.length) {
    throw new StepFailure(`${queryType} lists no field ${missing.join(', ')}; it lists: ${oneLine(fields.join(', '))}`);
  }
  return `${queryType} lists ${fields.length} fields, among them ${QUERY_FIELDS.join(', ')}`;
}

// Step `autocomplete`: in a fresh tab, typing `{ prod` pops up CodeMirror's
// hint list (GraphiQL opens it on typing; Ctrl-Space as a fallback) and it
// offers `products`.
async function autocomplete(page, queryEditor) {
  await page.click('button.graphiql-tab-add[aria-label="Add tab"]', { timeout: remaining() });
  // The new tab reuses the one editor; empty it and put the cursor in.
  await page.$eval(queryEditor, (el) => {
    el.CodeMirror.setValue('');
    el.CodeMirror.focus();
  });
  await page.keyboard.type(TYPED, { delay: 40 });
  const typed = await page.$eval(queryEditor, (el) => el.CodeMirror.getValue());
  log(`autocomplete: editor holds ${JSON.stringify(typed)}`);

  const hints = page.locator('ul.CodeMirror-hints li.CodeMirror-hint');
  let how = 'on typing';
  try {
    await hints.first().waitFor({ state: 'visible', timeout: Math.min(3_000, remaining()) });
  } catch {
    how = 'on Ctrl-Space';
    checkProblems();
    await page.keyboard.press('Control+Space');
    try {
      await hints.first().waitFor({ state: 'visible', timeout: Math.min(5_000, remaining()) });
    } catch {
      checkProblems();
      throw new StepFailure(`no hint list (.CodeMirror-hints) appeared for ${JSON.stringify(typed)}, not even on Ctrl-Space${await introspectionNote()}`);
    }
  }
  const offered = (await hints.allTextContents()).map((h) => h.trim());
  if (!offered.includes(COMPLETION)) {
    throw new StepFailure(`hint list for ${JSON.stringify(typed)} does not offer ${COMPLETION}: ${oneLine(offered.join(', '))}`);
  }
  return `hint list appeared ${how} and offers ${oneLine(offered.join(', '))}`;
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
