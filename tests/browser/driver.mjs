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
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import {
  artefactDir, controlServer, env, exitOnce, launchChromium, readBody, reply,
} from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const wss = env('TALKGATE_BROWSER_WSS');
const dn = env('TALKGATE_BROWSER_DN', '1002');
const password = env('TALKGATE_BROWSER_PASSWORD');
const mode = env('TALKGATE_BROWSER_MODE', 'bridge');
const artefacts = env('TALKGATE_BROWSER_ARTEFACTS');
const lifetimeS = Number(env('TALKGATE_BROWSER_LIFETIME_S', '120'));
const say = artefactDir(artefacts);

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
const quit = exitOnce({
  say,
  lifetimeS,
  browser: () => browser,
  save: async () => {
    if (!page) return;
    await page.screenshot({ path: join(artefacts, 'screenshot.png'), fullPage: true, timeout: 5000 });
    writeFileSync(join(artefacts, 'page.log'), await page.evaluate(() => window.agent.log()));
  },
});

// The control server: each handled request returns true (see controlServer).
async function handle(req, res, path) {
  if (req.method === 'GET' && files[path]) {
    res.writeHead(200, { 'Content-Type': files[path][0] });
    res.end(files[path][1]);
    return true;
  }
  const text = await readBody(req);
  if (req.method === 'GET' && path === '/state') {
    const state = await page.evaluate(() => window.agent.state());
    reply(res, 200, { ...state, bridge_requests: bridgeRequests });
    return true;
  }
  if (req.method === 'POST' && path === '/control/hangup') {
    reply(res, 200, { done: await page.evaluate(() => window.agent.hangup()) });
    return true;
  }
  if (req.method === 'POST' && path === '/control/quit') {
    reply(res, 200, {});
    setImmediate(() => quit(0));
    return true;
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
    return true;
  }
  return false;
}

try {
  const url = await controlServer(say, handle);
  browser = await launchChromium(['--disable-quic', '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required',
    `--ignore-certificate-errors-spki-list=${spki}`]);
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
