// Shared pieces of the browser tests: launching Debian's chromium through playwright-core,
// signing in, waiting for a page, calling the API directly, screenshots.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const kSourceDir = path.resolve(here, '..', '..');
// playwright-core is a dependency of the dashboard package (web/node_modules).
const require = createRequire(path.join(kSourceDir, 'web', 'package.json'));
const { chromium } = require('playwright-core');

export const kChromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
];
// Generous: the machine is shared with compilers; no assertion is ever about time.
export const kTimeoutMs = 120_000;

export async function launchBrowser() {
  const executablePath = process.env.LIGHTCONE_CHROMIUM || '/usr/bin/chromium';
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lightcone-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath, headless: true, args: kChromiumArgs,
    viewport: { width: 1440, height: 900 }, acceptDownloads: true, timeout: kTimeoutMs,
  });
  context.setDefaultTimeout(kTimeoutMs);
  const requests = [];
  context.on('request', (r) => requests.push(r.url()));
  return {
    context, requests,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

// A fresh page signed in with `token` through the sign-in form.
export async function signIn(browser, baseUrl, token) {
  const page = await browser.context.newPage();
  page.on('pageerror', (e) => console.error(`  [page error] ${e.message}`));
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('main[data-loaded="true"]').waitFor();
  return page;
}

// Navigates to a hash route and waits until the page finished rendering.
export async function open(page, hashRoute) {
  await page.evaluate(() => { const m = document.querySelector('main'); if (m) delete m.dataset.loaded; });
  await page.evaluate((h) => { location.hash = h; }, hashRoute);
  await page.locator('main[data-loaded="true"]').waitFor();
  const err = await page.locator('main > .error').count();
  if (err) throw new Error(`page ${hashRoute} shows an error: ${await page.locator('main > .error').first().innerText()}`);
}

export async function screenshot(page, artifactsDir, name) {
  fs.mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

// Direct API call from node (the test's own view of the truth).
export async function apiCall(baseUrl, token, pathAndQuery, { method = 'GET', body } = {}) {
  const res = await fetch(`${baseUrl}/api/v1${pathAndQuery}`, {
    method, headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* CSV or empty */ }
  return { status: res.status, json, text };
}

export async function apiListAll(baseUrl, token, p, params = {}) {
  const items = [];
  let after = 0;
  for (;;) {
    const qs = new URLSearchParams({ ...params, limit: '10000', ...(after ? { after_id: String(after) } : {}) });
    const r = await apiCall(baseUrl, token, `${p}?${qs}`);
    if (r.status !== 200) throw new Error(`GET ${p}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    items.push(...(r.json.items || []));
    after = r.json.next_after_id || 0;
    if (!after) return items;
  }
}

// Counts canvas pixels of a colour (±tolerance per channel) inside an element's canvas.
export async function countCanvasColor(page, selector, rgb, tolerance = 12) {
  return page.evaluate(([sel, [r, g, b], tol]) => {
    const c = document.querySelector(sel);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.abs(d[i] - r) <= tol && Math.abs(d[i + 1] - g) <= tol && Math.abs(d[i + 2] - b) <= tol) n++;
    }
    return n;
  }, [selector, rgb, tolerance]);
}

// Enrolls a new GPU on a new host through the agent API with `agentToken`; returns
// {id, uuid, model}.
export async function enrollGpu(baseUrl, agentToken) {
  const hex = (n) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const uuid = `GPU-${hex(4)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(6)}`;
  const model = 'NVIDIA H100 80GB HBM3';
  const r = await apiCall(baseUrl, agentToken, '/enroll', { method: 'POST', body: {
    hostname: `browser-test-${hex(3)}`, probe_address: '', agent_version: 'browser-test',
    devices: [{ uuid, serial: `T${Date.now()}`, model, architecture: 'Hopper', vbios: '96.00.5E.00.01', pci_bus_id: '00000000:17:00.0', ueid: '', nvlink_peers: [] }],
  } });
  if (r.status !== 200) throw new Error(`POST /enroll: ${r.status} ${r.text.slice(0, 300)}`);
  return { id: r.json.devices[0].id, uuid, model };
}

// Sets the dashboard's refresh period for this tab (web/src/main.js kRefreshMsKey; the
// production default is 15 s); it applies from the next page opened.
export async function setRefreshPeriod(page, ms) {
  await page.evaluate((v) => sessionStorage.setItem('lightcone.refreshMs', String(v)), ms);
}
