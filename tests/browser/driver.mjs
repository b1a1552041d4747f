// Runs the lab's WebRTC agent page (agent.html + agent.js, JsSIP) in headless Chromium through
// playwright-core, and plays the agent desktop's local bridge for it: talkgate's bridge API calls
// (POST /answer/{dn}, POST /genesys-call-notify) reach the page as they would reach a desktop.
// The test reads the page's state and controls it on the same loopback HTTP server:
//   GET /state          the page's call state, NOTIFYs seen, getStats() figures, bridge requests
//   POST /control/hangup the agent hangs up
//   POST /control/quit   screenshot + page log into the artefact dir, then exit
// Settings (environment): TALKGATE_BROWSER_WSS (wss URL), TALKGATE_BROWSER_DN,
// TALKGATE_BROWSER_PASSWORD, TALKGATE_BROWSER_CERT (the lab certificate, PEM: the only one
// Chromium accepts without a CA), TALKGATE_BROWSER_MODE (bridge | notify | never),
// TALKGATE_BROWSER_LIBRARY (jssip: agent.js, default | sipjs: sipjs-agent.js),
// TALKGATE_BROWSER_ARTEFACTS (dir: ready, screenshot.png, page.log, driver.log),
// TALKGATE_BROWSER_LIFETIME_S (exits after this long whatever happens; default 120).
import { createHash, X509Certificate } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const wss = env('TALKGATE_BROWSER_WSS');
const dn = env('TALKGATE_BROWSER_DN', '1002');
const password = env('TALKGATE_BROWSER_PASSWORD');
const mode = env('TALKGATE_BROWSER_MODE', 'bridge');
const artefacts = env('TALKGATE_BROWSER_ARTEFACTS');
const lifetimeS = Number(env('TALKGATE_BROWSER_LIFETIME_S', '120'));
mkdirSync(artefacts, { recursive: true });
const driverLog = join(artefacts, 'driver.log');
writeFileSync(driverLog, '');
const say = (line) => appendFileSync(driverLog, `${new Date().toISOString()} ${line}\n`);

// Chromium trusts the lab's self-signed certificate by its public key only (no CA, no
// --ignore-certificate-errors for everything).
const cert = new X509Certificate(readFileSync(env('TALKGATE_BROWSER_CERT')));
const spki = createHash('sha256')
  .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
  .digest('base64');

// The SIP library as one browser script (JsSIP ships CommonJS, SIP.js ES modules).
const library = {
  jssip: { entry: 'node_modules/jssip/lib/JsSIP.js', global: 'JsSIP', page: 'agent.js' },
  sipjs: { entry: 'node_modules/sip.js/lib/index.js', global: 'SIP', page: 'sipjs-agent.js' },
}[env('TALKGATE_BROWSER_LIBRARY', 'jssip')];
if (!library) throw new Error('TALKGATE_BROWSER_LIBRARY: jssip or sipjs');
const bundle = await esbuild.build({
  entryPoints: [join(here, library.entry)],
  bundle: true, format: 'iife', globalName: library.global, platform: 'browser', write: false,
  logLevel: 'silent',
});
const files = {
  '/': ['text/html', readFileSync(join(here, 'agent.html'))],
  '/agent.js': ['text/javascript', readFileSync(join(here, library.page))],
  '/library.js': ['text/javascript', bundle.outputFiles[0].contents],
};

let page = null;
let browser = null;
const bridgeRequests = [];
let quitting = false;

async function quit(code) {
  if (quitting) return;
  quitting = true;
  try {
    if (page) {
      await page.screenshot({ path: join(artefacts, 'screenshot.png'), fullPage: true, timeout: 5000 });
      writeFileSync(join(artefacts, 'page.log'), await page.evaluate(() => window.agent.log()));
    }
  } catch (e) {
    say(`artefacts: ${e.message}`);
  }
  try {
    if (browser) await browser.close();
  } catch (e) {
    say(`close: ${e.message}`);
  }
  say(`exit ${code}`);
  process.exit(code);
}
setTimeout(() => { say(`lifetime of ${lifetimeS} s over`); quit(3); }, lifetimeS * 1000).unref();
process.on('SIGTERM', () => quit(0));
process.on('SIGINT', () => quit(0));

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
  });
}

function reply(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = createServer(async (req, res) => {
  try {
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    if (req.method === 'GET' && files[path]) {
      res.writeHead(200, { 'Content-Type': files[path][0] });
      res.end(files[path][1]);
      return;
    }
    const text = await readBody(req);
    if (req.method === 'GET' && path === '/state') {
      const state = await page.evaluate(() => window.agent.state());
      reply(res, 200, { ...state, bridge_requests: bridgeRequests });
      return;
    }
    if (req.method === 'POST' && path === '/control/hangup') {
      reply(res, 200, { done: await page.evaluate(() => window.agent.hangup()) });
      return;
    }
    if (req.method === 'POST' && path === '/control/quit') {
      reply(res, 200, {});
      setImmediate(() => quit(0));
      return;
    }
    // The bridge API stand-in: what talkgate sends the agent's desktop.
    if (req.method === 'POST' && (path.startsWith('/answer/') || path === '/genesys-call-notify')) {
      let body = null;
      try { body = text ? JSON.parse(text) : null; } catch { body = null; }
      bridgeRequests.push({ path, body });
      say(`bridge ${path} ${text}`);
      let acted = false;
      if (mode === 'bridge') {
        if (path === `/answer/${dn}`) acted = await page.evaluate(() => window.agent.answer());
        else if (body && body.dn === dn && body.event) {
          acted = await page.evaluate((e) => window.agent.genesysEvent(e), body.event);
        }
      }
      reply(res, 200, { acted });
      return;
    }
    reply(res, 404, { error: 'no such path' });
  } catch (e) {
    say(`request ${req.url}: ${e.message}`);
    reply(res, 500, { error: e.message });
  }
});

try {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 30000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      `--ignore-certificate-errors-spki-list=${spki}`],
  });
  page = await browser.newPage();
  page.on('console', (m) => say(`console ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => say(`page error: ${e.message}`));
  await page.goto(url + '/', { timeout: 15000 });
  await page.evaluate((c) => window.agent.start(c),
    { wss, dn, password, domain: new URL(wss).hostname, mode });
  await page.waitForFunction(() => document.getElementById('state').textContent !== 'registering',
    null, { timeout: 20000 });
  const status = await page.evaluate(() => document.getElementById('state').textContent);
  say(`page: ${status}`);
  writeFileSync(join(artefacts, status === 'registered' ? 'ready' : 'failed'),
    status === 'registered' ? url : status);
  if (status !== 'registered') await quit(2);
} catch (e) {
  say(`start failed: ${e.stack}`);
  writeFileSync(join(artefacts, 'failed'), e.message);
  await quit(2);
}
