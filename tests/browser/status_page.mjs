// Opens talkgate's live web page (GET / of its status server) in headless Chromium through
// playwright-core, as an operator would, and lets a test drive it and read what it shows on a
// loopback HTTP server of its own:
//   GET  /snapshot        what the page shows (window.talkgatePage.snapshot(), from the DOM)
//   POST /login           {"token": T}: types T into the login form and submits it
//   POST /select          {"id": ID}: clicks the table row of call ID
//   POST /screenshot      {"name": N}: N.png into the artefact dir
//   POST /reload          reloads the page (the tab's session storage stays)
//   POST /quit            final screenshot + page log into the artefact dir, then exit
// Settings (environment): TALKGATE_PAGE_URL (the status server's base URL),
// TALKGATE_BROWSER_ARTEFACTS (dir: ready, *.png, page.log, driver.log),
// TALKGATE_BROWSER_LIFETIME_S (exits after this long whatever happens; default 120).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  artefactDir, controlServer, env, exitOnce, launchChromium, readBody, reply,
} from './harness.mjs';

const pageUrl = env('TALKGATE_PAGE_URL');
const artefacts = env('TALKGATE_BROWSER_ARTEFACTS');
const lifetimeS = Number(env('TALKGATE_BROWSER_LIFETIME_S', '120'));
const say = artefactDir(artefacts);
const pageLog = [];

let page = null;
let browser = null;

async function screenshot(name) {
  await page.screenshot({ path: join(artefacts, `${name}.png`), fullPage: true, timeout: 5000 });
}

const quit = exitOnce({
  say,
  lifetimeS,
  browser: () => browser,
  save: async () => {
    writeFileSync(join(artefacts, 'page.log'), pageLog.join('\n') + '\n');
    if (page) await screenshot('screenshot');
  },
});

async function readJson(req) {
  const text = await readBody(req);
  try { return text ? JSON.parse(text) : {}; } catch { return {}; }
}

// The control server: each handled request returns true (see controlServer).
async function handle(req, res, path) {
  const body = await readJson(req);
  if (req.method === 'GET' && path === '/snapshot') {
    const snap = await page.evaluate(() => (window.talkgatePage ? window.talkgatePage.snapshot() : null));
    reply(res, 200, snap ?? { error: 'the page has no talkgatePage' });
    return true;
  }
  if (req.method === 'POST' && path === '/login') {
    await page.fill('#token', String(body.token ?? ''), { timeout: 5000 });
    await page.click('#login button[type=submit]', { timeout: 5000 });
    reply(res, 200, {});
    return true;
  }
  if (req.method === 'POST' && path === '/select') {
    const clicked = await page.evaluate((id) => {
      const row = [...document.querySelectorAll('tr[data-id]')].find((tr) => tr.dataset.id === id);
      if (row) row.click();
      return Boolean(row);
    }, String(body.id ?? ''));
    reply(res, clicked ? 200 : 404, { clicked });
    return true;
  }
  if (req.method === 'POST' && path === '/screenshot') {
    const name = String(body.name ?? '').replace(/[^A-Za-z0-9_-]/g, '_') || 'shot';
    await screenshot(name);
    reply(res, 200, { file: `${name}.png` });
    return true;
  }
  if (req.method === 'POST' && path === '/reload') {
    await page.reload({ timeout: 10000 });
    reply(res, 200, {});
    return true;
  }
  if (req.method === 'POST' && path === '/quit') {
    reply(res, 200, {});
    setImmediate(() => quit(0));
    return true;
  }
  return false;
}

try {
  const url = await controlServer(say, handle);
  browser = await launchChromium([]);
  page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  page.on('console', (m) => pageLog.push(`console ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => { pageLog.push(`page error: ${e.message}`); say(`page error: ${e.message}`); });
  page.on('requestfailed', (r) => pageLog.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(pageUrl, { timeout: 15000 });
  await page.waitForFunction(() => window.talkgatePage !== undefined, null, { timeout: 10000 });
  writeFileSync(join(artefacts, 'ready'), url);
  say(`page ${pageUrl} open; control on ${url}`);
} catch (e) {
  say(`start failed: ${e.stack}`);
  writeFileSync(join(artefacts, 'failed'), e.message);
  await quit(2);
}
