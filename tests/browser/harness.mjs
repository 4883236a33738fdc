// Shared helpers for the browser tests: start the `muster demo` server (or a bare
// `muster serve`), read its addresses and tokens from stdout, launch Debian's
// Chromium, call the API.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const CHROMIUM_PATH = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const STARTUP_TIMEOUT_MS = 60_000;
const TAIL_LINES = 40;

export function musterBin() {
  return process.env.MUSTER_BIN
    ? path.resolve(process.env.MUSTER_BIN)
    : fileURLToPath(new URL('../../target/debug/muster', import.meta.url));
}

function pushTail(buf, line) {
  buf.push(line);
  if (buf.length > TAIL_LINES) buf.shift();
}

/**
 * Run `muster ARGS…` with its database in `tmpDir` (removed by stop()), draining both
 * pipes for the server's whole life so it never blocks on a write. Each stdout line goes
 * to `parse(line, found)`; resolves with { found, stop, logs, pid } once `isReady(found)`,
 * or stops the server and rejects (saying what `expected` lines were looked for) when it
 * exits early or is not ready within a minute. stop() is idempotent and always safe.
 */
async function launch({ args, tmpDir, parse, isReady, expected }) {
  const bin = musterBin();
  if (!fs.existsSync(bin)) {
    throw new Error(`muster binary not found at ${bin} (build it with \`cargo build --bin muster\` or set MUSTER_BIN)`);
  }
  // The lines read below are the English ones, whose form scripts may rely on (the Chinese
  // a clerk reads are tested in tests/api/cli.rs).
  const env = { ...process.env, MUSTER_LANG: 'en' };
  const child = spawn(bin, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });

  const stdoutTail = [];
  const stderrTail = [];
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => resolve({ code: null, signal: null, error: err }));
  });
  let exitInfo = null;
  exited.then((info) => { exitInfo = info; });

  // Last-resort cleanup if the test process goes away without running hooks.
  const onExit = () => { try { child.kill('SIGKILL'); } catch { /* already gone */ } };
  process.once('exit', onExit);

  readline.createInterface({ input: child.stderr }).on('line', (line) => {
    pushTail(stderrTail, line);
    if (process.env.TEST_LOG) process.stderr.write(`[muster] ${line}\n`);
  });
  const lines = readline.createInterface({ input: child.stdout });

  const logs = () =>
    `--- muster stdout (last ${TAIL_LINES} lines) ---\n${stdoutTail.join('\n')}\n` +
    `--- muster stderr (last ${TAIL_LINES} lines; set TEST_LOG=1 to stream it) ---\n${stderrTail.join('\n')}`;

  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    if (exitInfo === null && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      let timer;
      const killed = new Promise((resolve) => {
        timer = setTimeout(() => {
          try { child.kill('SIGKILL'); } catch { /* gone */ }
          resolve();
        }, 5_000);
      });
      await Promise.race([exited, killed]);
      clearTimeout(timer);
      await exited;
    }
    process.removeListener('exit', onExit);
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }

  // Those waiting for a line to come (see waitForLine), each with its pattern.
  const waiters = [];
  /**
   * The match of the first stdout line that matches `pattern`: one already printed (in
   * the tail kept), or the next to come; fails after `ms` or if the server exits first.
   */
  function waitForLine(pattern, ms = 60_000) {
    const seen = stdoutTail.map((l) => l.match(pattern)).find(Boolean);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { pattern, resolve };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`no stdout line matched ${pattern} within ${ms / 1000} s\n${logs()}`));
      }, ms);
      waiter.resolve = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      waiters.push(waiter);
      exited.then(() => reject(new Error(`muster exited before a line matched ${pattern}\n${logs()}`)));
    });
  }

  const found = {};
  const ready = new Promise((resolve, reject) => {
    let timer = null;
    const fail = (why) => {
      clearTimeout(timer);
      reject(new Error(
        `muster ${args[0]} did not become ready: ${why}\nexpected stdout lines: ${expected(found)}\n` +
        `command: ${bin} ${args.join(' ')}\n${logs()}`,
      ));
    };
    timer = setTimeout(() => fail(`timed out after ${STARTUP_TIMEOUT_MS / 1000} s`), STARTUP_TIMEOUT_MS);
    exited.then(({ code, signal, error }) =>
      fail(error ? `could not spawn: ${error.message}` : `process exited early (code ${code}, signal ${signal})`));
    lines.on('line', (line) => {
      pushTail(stdoutTail, line);
      if (process.env.TEST_LOG) process.stderr.write(`[muster:stdout] ${line}\n`);
      for (const w of waiters.slice()) {
        const m = line.match(w.pattern);
        if (m) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
      parse(line, found);
      if (isReady(found)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  try {
    await ready;
  } catch (err) {
    await stop();
    throw err;
  }
  return { found, stop, logs, waitForLine, pid: child.pid };
}

/** The address a "listening on http://…" line gives, without a trailing slash. */
function listeningOn(line) {
  const listen = line.match(/listening on (http:\/\/\S+)/);
  return listen ? listen[1].replace(/\/+$/, '') : null;
}

/**
 * Start `muster demo` on a fresh database in a temp dir, on a free port: by default with
 * `--no-drill` (the action open and quiet), or with `drill: { speed }` playing the night
 * at that many simulated seconds per real second. Resolves once stdout has given the
 * listening address and every role's pairing link (and, without a drill, said the action
 * is open), with each of `roles` paired as a phone would be. Returns { baseUrl, tmpDir,
 * stop(), logs(), waitForLine(pattern, ms), and per role { pairingUrl, code, token, url } }. stop() is idempotent
 * and always safe to call.
 */
export async function startDemoServer({ extraArgs = [], drill = null, roles = ['chief', 'operator'] } = {}) {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'muster-'));
  const play = drill ? ['--speed', String(drill.speed ?? 60)] : ['--no-drill'];
  const args = ['demo', ...play, '--db', path.join(tmpDir, 'demo.db'), '--bind', '127.0.0.1:0', ...extraArgs];
  const { found, stop, logs, waitForLine, pid } = await launch({
    args,
    tmpDir,
    parse(line, seen) {
      seen.baseUrl ??= listeningOn(line);
      if (/^action \d+ is open$/.test(line)) seen.opened = true;
      const role = line.match(/\((\w+)\)[^:]*: (http\S+)/);
      if (role && !seen[role[1]]) {
        const url = role[2];
        const code = new URL(url).searchParams.get('code');
        if (code) seen[role[1]] = { pairingUrl: url, code, line };
      }
    },
    // The admin's link is printed last: once it is here, every role's is; with
    // --no-drill the demo then opens the action and says so (the drill opens it itself).
    isReady: (seen) => seen.baseUrl && seen.chief && seen.operator && seen.admin && (drill || seen.opened),
    expected: (seen) =>
      '"listening on http://…", one with "(chief)…: http…?code=…" and one with "(operator)…: http…?code=…"; ' +
      `seen so far: listening=${seen.baseUrl ?? 'none'}, chief=${seen.chief ? 'yes' : 'no'}, operator=${seen.operator ? 'yes' : 'no'}`,
  });

  try {
    // Bring each role into service as a phone would: redeem its pairing code for a token.
    for (const who of roles) {
      if (!found[who]) throw new Error(`the demo printed no pairing link for the ${who}`);
      let res;
      let body;
      // While the drill writes, a pairing can fail with "database is locked" (a 500 that
      // changes nothing, seen on SQLite); a phone would try again, and so do we, twice.
      for (let attempt = 0; attempt < 3; attempt += 1) {
        res = await fetch(`${found.baseUrl}/api/auth/pair`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ code: found[who].code, device: 'browser test' }),
        });
        body = await res.json();
        if (res.status < 500) break;
      }
      if (res.status !== 200 || !body.token) {
        throw new Error(`pairing the ${who} failed: HTTP ${res.status} ${JSON.stringify(body)}`);
      }
      found[who].token = body.token;
      found[who].url = `${found.baseUrl}/?token=${encodeURIComponent(body.token)}`;
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { ...found, tmpDir, stop, logs, waitForLine, pid };
}

/**
 * Start `muster serve` on a new, empty SQLite database in a temp dir, on a free port, as
 * a village does on its first night. Resolves once stdout has given the first-admin setup
 * link (printed before the address) and the listening address. Returns { baseUrl,
 * setupUrl, tmpDir, stop(), logs() }.
 */
export async function startServe({ extraArgs = [] } = {}) {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'muster-'));
  const db = `sqlite://${path.join(tmpDir, 'muster.db')}`;
  const args = ['serve', '--db', db, '--bind', '127.0.0.1:0', ...extraArgs];
  const { found, stop, logs, pid } = await launch({
    args,
    tmpDir,
    parse(line, seen) {
      seen.baseUrl ??= listeningOn(line);
      const setup = line.match(/(http\S+\/setup\.html\?code=\S+)/);
      if (setup) seen.setupUrl = setup[1];
    },
    isReady: (seen) => seen.baseUrl != null,
    expected: (seen) =>
      `"  http://…/setup.html?code=…", then "listening on http://…"; seen so far: setup link=${seen.setupUrl ?? 'none'}`,
  });
  if (!found.setupUrl) {
    await stop();
    throw new Error(`muster serve on an empty database printed no setup link before it listened:\n${logs()}`);
  }
  return { ...found, tmpDir, stop, logs, pid };
}

/** Launch Debian's Chromium through playwright-core. */
/** A UUID v7: the time in its first 48 bits, as a page's outbox makes one. */
export function uuidv7() {
  const bytes = crypto.randomBytes(16);
  const ms = BigInt(Date.now());
  for (let i = 0; i < 6; i += 1) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium, or run scripts/test)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** Calls the API as one of the server's paired roles and asserts a 200; the answer's JSON. */
export async function callAs(server, role, method, urlPath, body) {
  const answer = await api(server.baseUrl, server[role].token, method, urlPath, body);
  if (answer.status !== 200) throw new Error(`${role}: ${describeAnswer(method, urlPath, answer)}`);
  return answer.body;
}

/**
 * A page of its own (a new context: its own storage) signed in as one of the server's
 * roles, at `viewport` (a phone's is mobile and touch), opened at `urlPath`.
 */
export async function pageAs(browser, server, role, viewport, urlPath) {
  const mobile = viewport.width < 500 ? { isMobile: true, hasTouch: true } : {};
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, locale: 'zh-CN', ...mobile });
  const page = await context.newPage();
  await page.goto(`${server.baseUrl}${urlPath}${urlPath.includes('?') ? '&' : '?'}token=${encodeURIComponent(server[role].token)}`);
  return { page, context };
}

/**
 * Call the API with a bearer token. Returns { status, body, text } where body is the
 * parsed JSON (or undefined if the answer was not JSON).
 */
export async function api(baseUrl, token, method, urlPath, json) {
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  const init = { method, headers };
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  }
  const res = await fetch(baseUrl + urlPath, init);
  const text = await res.text();
  let body;
  try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
  return { status: res.status, body, text };
}

/** Short description of an API answer for failure messages. */
export function describeAnswer(method, urlPath, answer) {
  const text = answer.text.length > 2000 ? `${answer.text.slice(0, 2000)}…` : answer.text;
  return `${method} ${urlPath} -> HTTP ${answer.status}: ${text}`;
}

/** Parse a count shown on the page ("1,234", "1 234" and "1234" all read as 1234). */
export function parseCount(text) {
  if (text == null) return NaN;
  const t = String(text).replace(/[\s,\u00a0\u202f]/g, '');
  return /^\d+$/.test(t) ? Number(t) : NaN;
}
