// The sampling point's camera: a household card held up to it. The card is the one the
// server prints (GET /api/cards); its QR code is drawn into a video file that Chromium's
// fake camera plays (--use-file-for-fake-video-capture), so the page reads it as a phone
// would (jsQR here: Chromium on Linux has no BarcodeDetector), resolves it through
// /api/codes and opens the confirm of the household's one resident; Enter records them.
// Screenshots go to target/screenshots/scan/.
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/camera.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, REPO_ROOT, api, launchBrowser, startDemoServer } from './harness.mjs';

const SHOTS = path.join(REPO_ROOT, 'target', 'screenshots', 'scan');
const W = 640;
const H = 480;
const SEEN_TIMEOUT_MS = 20_000;

let server;
let video;

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startDemoServer({ roles: ['chief', 'operator'] });
});

after(async () => {
  await server?.stop();
  if (video) fs.rmSync(path.dirname(video), { recursive: true, force: true });
});

/** The first household's card as printed, its QR code drawn into a grey frame: luma bytes. */
async function cardFrame(household) {
  const browser = await launchBrowser();
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.baseUrl}/api/cards?household=${household}&token=${encodeURIComponent(server.chief.token)}`);
    // The QR code as the card prints it, drawn on a blank page (the card's own page allows
    // no images from script, by its content-security policy).
    const svgText = await page.evaluate(() => {
      const svg = document.querySelector('svg.qr').cloneNode(true);
      svg.setAttribute('width', '380');
      svg.setAttribute('height', '380');
      return new XMLSerializer().serializeToString(svg);
    });
    await page.goto('about:blank');
    const luma = await page.evaluate(async ({ W, H, svgText }) => {
      const blob = new Blob([svgText], { type: 'image/svg+xml' });
      const img = new Image();
      img.src = URL.createObjectURL(blob);
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = W;
      canvas.height = H;
      const g = canvas.getContext('2d');
      g.fillStyle = '#fff';
      g.fillRect(0, 0, W, H);
      const side = 380;
      g.imageSmoothingEnabled = false;
      g.drawImage(img, (W - side) / 2, (H - side) / 2, side, side);
      const { data } = g.getImageData(0, 0, W, H);
      let s = '';
      for (let i = 0; i < data.length; i += 4) {
        s += String.fromCharCode(Math.round(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]));
      }
      return btoa(s);
    }, { W, H, svgText });
    return Buffer.from(luma, 'base64');
  } finally {
    await browser.close();
  }
}

/** One grey 4:2:0 frame as a Y4M file (Chromium's fake camera loops it). */
function writeY4m(luma) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'muster-camera-'));
  const file = path.join(dir, 'card.y4m');
  const chroma = Buffer.alloc((W / 2) * (H / 2), 128);
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\nFRAME\n`), luma, chroma, chroma]));
  return file;
}

test('a household card held up to the camera opens its resident\'s confirm, and Enter records them', { timeout: 90_000 }, async () => {
  const [action] = (await api(server.baseUrl, server.chief.token, 'GET', '/api/actions')).body;
  const household = 1;
  const residents = (await api(server.baseUrl, server.chief.token, 'GET', `/api/actions/${action.id}/lookup?q=DHS0001`)).body.residents;
  const theirs = residents.filter((r) => r.household_id === household);
  assert.equal(theirs.length, 1, 'the first household has one resident');
  video = writeY4m(await cardFrame(household));

  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'zh-CN', permissions: ['camera'], isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto(`${server.baseUrl}/scan?token=${encodeURIComponent(server.operator.token)}`);
    await page.locator('[data-testid="camera"]').click();
    const confirm = page.locator('[data-testid="confirm"]');
    await confirm.waitFor({ state: 'visible', timeout: SEEN_TIMEOUT_MS });
    assert.equal(await confirm.getAttribute('data-id'), String(theirs[0].id), 'the card\'s resident');
    await page.screenshot({ path: path.join(SHOTS, 'phone-camera-card.png') });
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
      .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)
      .slice(0, 5));
    assert.deepEqual(wide, [], `nothing runs off the phone's right edge (360 px)`);
    const before = (await api(server.baseUrl, server.chief.token, 'GET', `/api/actions/${action.id}`)).body.totals.sampled;
    await page.keyboard.press('Enter');
    await page.waitForFunction(async ({ base, token, id, before }) => {
      const r = await fetch(`${base}/api/actions/${id}`, { headers: { Authorization: `Bearer ${token}` } });
      return (await r.json()).totals.sampled === before + 1;
    }, { base: server.baseUrl, token: server.chief.token, id: action.id, before }, { timeout: SEEN_TIMEOUT_MS, polling: 250 });
    await context.close();
  } finally {
    await browser.close();
  }
});
