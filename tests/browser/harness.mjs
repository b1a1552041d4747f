// What the Chromium drivers (driver.mjs, status_page.mjs) share: settings from the environment,
// the driver log, the control server's replies, Chromium's launch, and one exit that saves the
// artefacts first (on /quit, SIGTERM, or when the lifetime is over).
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};

// The artefact dir (made if missing) and a `say` that appends a line to its driver.log.
export function artefactDir(dir) {
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'driver.log');
  writeFileSync(log, '');
  return (line) => appendFileSync(log, `${new Date().toISOString()} ${line}\n`);
}

export function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
  });
}

export function reply(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

// A control server on a free loopback port; resolves to its URL. `handle(req, res, path)`
// resolves to true when it replied; anything else gets 404, a throw 500.
export async function controlServer(say, handle) {
  const server = createServer(async (req, res) => {
    try {
      if (await handle(req, res, new URL(req.url, 'http://127.0.0.1').pathname)) return;
      reply(res, 404, { error: 'no such path' });
    } catch (e) {
      say(`request ${req.url}: ${e.message}`);
      reply(res, 500, { error: e.message });
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

// quit(code): runs `save` (screenshots, logs), closes the browser `browser()` returns, exits;
// once, whoever calls it first. Armed for SIGTERM, SIGINT and the end of `lifetimeS`.
export function exitOnce({ say, lifetimeS, save, browser }) {
  let quitting = false;
  const quit = async (code) => {
    if (quitting) return;
    quitting = true;
    try {
      await save();
    } catch (e) {
      say(`artefacts: ${e.message}`);
    }
    try {
      if (browser()) await browser().close();
    } catch (e) {
      say(`close: ${e.message}`);
    }
    say(`exit ${code}`);
    process.exit(code);
  };
  setTimeout(() => { say(`lifetime of ${lifetimeS} s over`); quit(3); }, lifetimeS * 1000).unref();
  process.on('SIGTERM', () => quit(0));
  process.on('SIGINT', () => quit(0));
  return quit;
}

// Debian's Chromium, headless, with `args` besides the quiet defaults.
export function launchChromium(args) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 30000,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...args],
  });
}
