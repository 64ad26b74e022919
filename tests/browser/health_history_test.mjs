// A GPU's page draws its health history from GET /devices/{id}/telemetry: one chart per
// metric (temperature, power, utilization, uncorrected ECC, XIDs) whose point counts and
// latest values are what the API answers for the same range, for each range the person
// picks; the XID chart marks the instants where the XID count or the last XID changed.
import assert from 'node:assert/strict';
import { signIn, open, screenshot, apiCall, apiListAll, countCanvasColor, setRefreshPeriod } from './lib.mjs';

const kMetrics = ['temperature_c', 'power_w', 'utilization_pct', 'ecc_uncorrected', 'xid_count'];
const kLimit = 10000;  // what the page asks for (web/src/pages/gpu.js kTelemetryLimit)
// How many GPUs' histories the tests read through the API looking for a suitable one.
const kMaxCandidates = 60;
// The temperature line's colour (web/src/pages/gpu.js kHealthMetrics).
const kTemperatureRgb = [0xb5, 0x53, 0x2f];
// The XID marks' colour (web/src/charts.js drawMarks; the XID line itself is slate #4a5a8c).
const kXidMarkRgb = [0xc0, 0x26, 0x2d];

function isoSeconds(ms) { return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d+Z$/, 'Z'); }

async function telemetry(baseUrl, token, id, since, until) {
  const qs = new URLSearchParams({ since, until, limit: String(kLimit) });
  const r = await apiCall(baseUrl, token, `/devices/${id}/telemetry?${qs}`);
  assert.equal(r.status, 200, `GET /devices/${id}/telemetry: ${r.text.slice(0, 300)}`);
  return r.json;
}

// The instants where xid_count or last_xid differ from the sample before (as the page marks).
function xidChanges(items) {
  const out = [];
  for (let i = 1; i < items.length; i++) {
    if ((items[i].xid_count ?? 0) !== (items[i - 1].xid_count ?? 0) || (items[i].last_xid ?? 0) !== (items[i - 1].last_xid ?? 0)) out.push(items[i]);
  }
  return out;
}

// Waits until the page's health history shows `range` and returns what it drew.
async function drawnHistory(page, range) {
  await page.locator(`.health-history[data-range="${range}"]:is([data-state="charts"], [data-state="empty"])`).waitFor();
  const state = await page.locator('.health-history').getAttribute('data-state');
  if (state === 'charts') await page.waitForFunction((n) => document.querySelectorAll('.health-history .chart[data-drawn="true"]').length === n, kMetrics.length);
  return page.evaluate(() => ({
    history: { ...document.querySelector('.health-history').dataset },
    charts: Object.fromEntries([...document.querySelectorAll('.health-history .chart')].map((c) => [c.dataset.metric, { ...c.dataset, canvases: c.querySelectorAll('canvas').length }])),
    text: document.querySelector('.health-history').innerText,
  }));
}

// Every chart's point count and latest value equal the API's answer for the page's range.
async function assertMatchesApi(drawn, baseUrl, token, id) {
  const { since, until } = drawn.history;
  assert.ok(since && until, 'the page exposes the range it asked for');
  const api = await telemetry(baseUrl, token, id, since, until);
  assert.equal(Number(drawn.history.samples), api.items.length, `samples ${since}..${until}`);
  assert.equal(drawn.history.truncated, String(api.truncated), 'truncated as the API says');
  if (!api.items.length) {
    assert.equal(drawn.history.state, 'empty');
    assert.match(drawn.text, /No health history was reported/);
    return api;
  }
  assert.equal(drawn.history.state, 'charts');
  const last = api.items[api.items.length - 1];
  for (const m of kMetrics) {
    const c = drawn.charts[m];
    assert.ok(c, `a chart of ${m}`);
    assert.ok(c.canvases > 0, `${m} drawn on a canvas`);
    assert.equal(Number(c.points), api.items.filter((s) => s[m] !== undefined && s[m] !== null).length, `${m}: points`);
    assert.equal(c.latest, last[m] == null ? '' : String(last[m]), `${m}: latest value`);
    assert.equal(new Date(c.lastTime).getTime(), new Date(last.time).getTime(), `${m}: last sample time`);
  }
  assert.equal(Number(drawn.charts.xid_count.xidEvents), xidChanges(api.items).length, 'one mark per XID change');
  assert.equal(drawn.charts.xid_count.lastXid, String(last.last_xid ?? 0), 'last XID');
  return api;
}

export async function testGpuPageDrawsHealthHistory({ baseUrl, tokens, browser, artifacts, log }) {
  const devices = await apiListAll(baseUrl, tokens.admin, '/devices');
  assert.ok(devices.length > 0, 'the seeded fleet has GPUs');
  // The GPU with the most samples over the page's default range (7 days) among the first few.
  const now = Date.now();
  const since = isoSeconds(now - 7 * 86400e3), until = isoSeconds(now + 60e3);
  let chosen = null, most = 0;
  for (const d of devices.slice(0, kMaxCandidates)) {
    const n = (await telemetry(baseUrl, tokens.admin, d.id, since, until)).items.length;
    if (n > most) { chosen = d; most = n; }
  }
  // The seeder reports every GPU's health each round and the server keeps the history.
  assert.ok(chosen, `none of ${Math.min(devices.length, kMaxCandidates)} GPUs has a health history over the last 7 days`);
  if (!tokens.seededThroughApi) assert.ok(most >= 2, `the best GPU has ${most} sample(s): one per seeding round expected`);
  log(`GPU ${chosen.id}: ${most} samples over 7 days`);

  const page = await signIn(browser, baseUrl, tokens.admin);
  await open(page, `#/gpu/${chosen.id}`);
  const drawn = await drawnHistory(page, '7d');
  const api = await assertMatchesApi(drawn, baseUrl, tokens.admin, chosen.id);
  assert.ok(api.items.length > 0, 'the page shows the samples the API has');
  // The temperature line (or its points) is on its canvas in its colour.
  assert.ok(await countCanvasColor(page, '.health-history .chart[data-metric="temperature_c"] canvas', kTemperatureRgb, 30) > 0, 'temperature drawn');
  const section = page.locator('section[aria-labelledby="sec-health"]');
  await section.scrollIntoViewIfNeeded();
  await section.screenshot({ path: `${artifacts}/gpu-health-history.png` });

  // Every other range: the page asks again and shows what the API answers for it.
  for (const range of ['30d', '24h']) {
    await page.getByLabel('Time range').selectOption(range);
    const again = await drawnHistory(page, range);
    await assertMatchesApi(again, baseUrl, tokens.admin, chosen.id);
    log(`${range}: ${again.history.samples} samples`);
  }
  await screenshot(page, artifacts, 'gpu-health-history-24h');
}

// Finds a GPU whose history (30 days) holds an XID change: one the seeded world has (`demo
// seed` gives a few GPUs an XID 79), else - in a world seeded through the API only - one made
// now through the agent API (two reports, the second with one more XID).
async function gpuWithXidChange(baseUrl, tokens, log) {
  const now = Date.now();
  const since = isoSeconds(now - 30 * 86400e3);
  const reportsXid = [];
  for (const l of await apiListAll(baseUrl, tokens.admin, '/licences')) {
    const rep = await apiCall(baseUrl, tokens.admin, `/reports/licences/${l.id}?format=json`);
    if (rep.status === 200) reportsXid.push(...(rep.json.devices || []).filter((d) => d.xid_count > 0).map((d) => d.uuid));
  }
  const devices = await apiListAll(baseUrl, tokens.admin, '/devices');
  const byUuid = new Map(devices.map((d) => [d.uuid, d]));
  for (const uuid of reportsXid.slice(0, kMaxCandidates)) {
    const dev = byUuid.get(uuid);
    assert.ok(dev, `the report's GPU ${uuid} is listed by /devices`);
    const h = await telemetry(baseUrl, tokens.admin, dev.id, since, isoSeconds(now + 60e3));
    if (xidChanges(h.items).length) { log(`seeded GPU ${dev.id} has ${xidChanges(h.items).length} XID change(s)`); return dev; }
  }
  assert.ok(tokens.seededThroughApi, `the demo seed world has no GPU whose history holds an XID change (${reportsXid.length} GPUs report XIDs)`);
  // None in the API-seeded world: report one through POST /telemetry as an agent would.
  const agent = tokens.all.find((t) => t.role === 'agent' && devices.some((d) => d.organization_id === t.organization_id));
  assert.ok(agent, 'an agent token of an organization with GPUs');
  const dev = devices.find((d) => d.organization_id === agent.organization_id);
  const before = (await apiCall(baseUrl, tokens.admin, `/devices/${dev.id}`)).json.telemetry || {};
  const base = { uuid: dev.uuid, temperature_c: before.temperature_c ?? 60, power_w: before.power_w ?? 400, utilization_pct: before.utilization_pct ?? 90, ecc_uncorrected: before.ecc_uncorrected ?? 0 };
  const xid = before.xid_count ?? 0;
  for (const [ago, count, last] of [[120e3, xid, before.last_xid ?? 0], [60e3, xid + 1, 79]]) {
    const r = await apiCall(baseUrl, agent.token, '/telemetry', { method: 'POST', body: { devices: [{ ...base, time: isoSeconds(Date.now() - ago), xid_count: count, last_xid: last }] } });
    assert.ok(r.status === 204 || r.status === 200, `POST /telemetry: ${r.status} ${r.text.slice(0, 200)}`);
  }
  log(`no seeded GPU with an XID change among ${reportsXid.length} with XIDs: reported XID 79 for GPU ${dev.id} through POST /telemetry`);
  return dev;
}

export async function testXidChangeIsMarked({ baseUrl, tokens, browser, artifacts, log }) {
  const dev = await gpuWithXidChange(baseUrl, tokens, log);
  const page = await signIn(browser, baseUrl, tokens.admin);
  await open(page, `#/gpu/${dev.id}`);
  await page.locator('.health-history[data-range="7d"]').waitFor();
  await page.getByLabel('Time range').selectOption('30d');
  const drawn = await drawnHistory(page, '30d');
  const api = await assertMatchesApi(drawn, baseUrl, tokens.admin, dev.id);
  const changes = xidChanges(api.items);
  assert.ok(changes.length > 0, `the API's history of GPU ${dev.id} has an XID change`);
  assert.equal(Number(drawn.charts.xid_count.xidEvents), changes.length);
  // Each change is listed (time, counts, last XID) and marked on the XID chart.
  const rows = await page.locator('table.xid-changes tbody tr').allInnerTexts();
  assert.equal(rows.length, changes.length, 'one row per XID change');
  assert.doesNotMatch(drawn.text, /\bnull\b|\bundefined\b/, 'no stray null/undefined text under the charts');
  const lastChange = changes[changes.length - 1];
  assert.ok(rows[0].includes(String(lastChange.last_xid)), `newest change row "${rows[0]}" names XID ${lastChange.last_xid}`);
  assert.ok(await countCanvasColor(page, '.health-history .chart[data-metric="xid_count"] canvas', kXidMarkRgb, 20) > 0, 'XID change marked on the chart');
  if (lastChange.last_xid) assert.match(await page.locator('.health-history .chart[data-metric="xid_count"] .u-title').innerText(), new RegExp(`last XID ${api.items[api.items.length - 1].last_xid}`));
  const chart = page.locator('.health-history .chart[data-metric="xid_count"]');
  await chart.scrollIntoViewIfNeeded();
  await chart.screenshot({ path: `${artifacts}/gpu-xid-chart.png` });
}

// A GPU that never reported its health (enrolled just now through the agent API) shows the
// empty state for every range, not a blank chart.
// Enrolls a new GPU on a new host through the agent API; returns {id, uuid, agent}.
async function enrollFreshGpu(baseUrl, tokens) {
  const agent = tokens.all.find((t) => t.role === 'agent');
  assert.ok(agent, 'an agent token');
  const hex = (n) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const uuid = `GPU-${hex(4)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(6)}`;
  const enroll = await apiCall(baseUrl, agent.token, '/enroll', { method: 'POST', body: {
    hostname: `browser-test-${hex(3)}`, probe_address: '', agent_version: 'browser-test',
    devices: [{ uuid, serial: String(Date.now()), model: 'NVIDIA H100 80GB HBM3', architecture: 'Hopper', vbios: '96.00.5E.00.01', pci_bus_id: '00000000:17:00.0', ueid: '', nvlink_peers: [] }],
  } });
  assert.equal(enroll.status, 200, `POST /enroll: ${enroll.text.slice(0, 300)}`);
  return { id: enroll.json.devices[0].id, uuid, agent };
}

export async function testGpuWithoutHistorySaysSo({ baseUrl, tokens, browser, artifacts, log }) {
  const { id, uuid } = await enrollFreshGpu(baseUrl, tokens);
  log(`enrolled GPU ${id} (${uuid}) without telemetry`);
  const page = await signIn(browser, baseUrl, tokens.admin);
  await open(page, `#/gpu/${id}`);
  for (const range of ['7d', '30d', '24h']) {
    if (range !== '7d') await page.getByLabel('Time range').selectOption(range);
    const drawn = await drawnHistory(page, range);
    const api = await assertMatchesApi(drawn, baseUrl, tokens.admin, id);
    assert.equal(api.items.length, 0, 'the API has no sample of a GPU that never reported');
    assert.equal(drawn.history.state, 'empty');
    const label = { '24h': 'last 24 hours', '7d': 'last 7 days', '30d': 'last 30 days' }[range];
    assert.match(drawn.text, new RegExp(`No health history was reported for this GPU in the ${label}`));
    assert.equal(Object.keys(drawn.charts).length, 0, 'no chart drawn');
  }
  const section = page.locator('section[aria-labelledby="sec-health"]');
  await section.scrollIntoViewIfNeeded();
  await section.screenshot({ path: `${artifacts}/gpu-health-empty.png` });
}

// More samples in the range than the page asks for (10,000): the API answers the newest ones
// with truncated: true, and the page draws those and says that older ones were left out.
// The history is made through POST /telemetry: a report every 2 minutes over the last 15
// days, each with one more XID (a counter change is always kept as a sample).
export async function testTruncatedHistorySaysSo({ baseUrl, tokens, browser, artifacts, log }) {
  const { id, uuid, agent } = await enrollFreshGpu(baseUrl, tokens);
  const kReports = kLimit + 800, kStepMs = 120e3, kPerRequest = 3000;
  const start = Date.now() - kReports * kStepMs;
  for (let i = 0; i < kReports; i += kPerRequest) {
    const devices = [];
    for (let k = i; k < Math.min(kReports, i + kPerRequest); k++) {
      devices.push({ uuid, time: isoSeconds(start + k * kStepMs), temperature_c: 50 + (k % 30), power_w: 300 + (k % 200), utilization_pct: k % 101, ecc_uncorrected: 0, xid_count: k + 1, last_xid: 79 });
    }
    const r = await apiCall(baseUrl, agent.token, '/telemetry', { method: 'POST', body: { devices } });
    assert.ok(r.status === 204 || r.status === 200, `POST /telemetry (${devices.length} reports): ${r.status} ${r.text.slice(0, 200)}`);
  }
  log(`GPU ${id}: ${kReports} reports through POST /telemetry`);
  const page = await signIn(browser, baseUrl, tokens.admin);
  await open(page, `#/gpu/${id}`);
  await page.locator('.health-history[data-range="7d"]').waitFor();
  await page.getByLabel('Time range').selectOption('30d');
  const drawn = await drawnHistory(page, '30d');
  const api = await assertMatchesApi(drawn, baseUrl, tokens.admin, id);
  assert.equal(api.truncated, true, 'the API leaves out the oldest samples');
  assert.equal(api.items.length, kLimit);
  assert.equal(drawn.history.truncated, 'true');
  assert.match(drawn.text, /Only the newest 10,000 samples of this range are shown: older samples were left out/);
  // 7 days hold fewer than the limit: not truncated, and the page says nothing of it.
  await page.getByLabel('Time range').selectOption('7d');
  const week = await drawnHistory(page, '7d');
  const apiWeek = await assertMatchesApi(week, baseUrl, tokens.admin, id);
  assert.equal(apiWeek.truncated, false);
  assert.doesNotMatch(week.text, /Only the newest/);
  await page.getByLabel('Time range').selectOption('30d');
  await drawnHistory(page, '30d');
  const section = page.locator('section[aria-labelledby="sec-health"]');
  await section.scrollIntoViewIfNeeded();
  await section.screenshot({ path: `${artifacts}/gpu-health-truncated.png` });
}

// The page's refresh period for the refresh tests (web/src/main.js kRefreshMsKey; the
// production default is 15 s).
const kTestRefreshMs = 1000;
// How long a delayed 24 h answer is held back in the race check.
const kDelayedAnswerMs = 4000;

// Records every value the health history's data-range and data-state take from now on.
async function watchHistory(page, selector) {
  await page.evaluate((sel) => {
    const el = document.querySelector(sel);
    window.__seen = { range: [], state: [] };
    new MutationObserver((ms) => {
      for (const m of ms) {
        const key = m.attributeName.replace(/^data-/, '');
        window.__seen[key].push(el.getAttribute(m.attributeName));
      }
    }).observe(el, { attributes: true, attributeFilter: ['data-range', 'data-state'] });
  }, selector);
}

async function postReport(baseUrl, agent, body) {
  const r = await apiCall(baseUrl, agent.token, '/telemetry', { method: 'POST', body: { devices: [body] } });
  assert.ok(r.status === 204 || r.status === 200, `POST /telemetry: ${r.status} ${r.text.slice(0, 200)}`);
}

// The GPU page left open follows the GPU: a report posted through the API after the page
// loaded (its XID count changed, so the server always keeps it as a sample) appears in the
// chosen range's charts and in the latest health tiles, without a reload, in place (the same
// chart elements, never a loading or error state), and the range the person chose stays. A
// refresh that fails keeps the charts; the next one that succeeds brings the new samples. A
// refresh answer that comes back after the person picked another range is dropped.
export async function testHealthHistoryRefreshesWithoutReload({ baseUrl, tokens, browser, artifacts, log }) {
  const { id, uuid, agent } = await enrollFreshGpu(baseUrl, tokens);
  const base = { uuid, power_w: 400, utilization_pct: 90, ecc_uncorrected: 0 };
  await postReport(baseUrl, agent, { ...base, time: isoSeconds(Date.now() - 120e3), temperature_c: 60, xid_count: 0, last_xid: 0 });

  const page = await signIn(browser, baseUrl, tokens.admin);
  await setRefreshPeriod(page, kTestRefreshMs);
  await open(page, `#/gpu/${id}`);
  await drawnHistory(page, '7d');
  await page.getByLabel('Time range').selectOption('24h');
  const first = await drawnHistory(page, '24h');
  assert.equal(first.history.samples, '1', 'one sample before the new report');
  // Marks that vanish on a reload or when the charts are rebuilt instead of updated.
  await page.evaluate(() => { window.__sameDocument = true; document.querySelector('.health-history .chart[data-metric="xid_count"]').__sameChart = true; });
  await watchHistory(page, '.health-history');

  await postReport(baseUrl, agent, { ...base, time: isoSeconds(Date.now()), temperature_c: 77, xid_count: 1, last_xid: 79 });
  await page.locator('.health-history[data-samples="2"]').waitFor();
  const after = await drawnHistory(page, '24h');
  const api = await assertMatchesApi(after, baseUrl, tokens.admin, id);
  assert.equal(api.items.length, 2);
  assert.equal(after.charts.xid_count.xidEvents, '1', 'the new XID change is marked');
  assert.doesNotMatch(after.text, /\bnull\b|\bundefined\b/, 'no stray null/undefined text under the charts');
  assert.equal(after.charts.temperature_c.latest, '77');
  assert.ok(await page.evaluate(() => window.__sameDocument === true), 'no reload');
  assert.ok(await page.evaluate(() => document.querySelector('.health-history .chart[data-metric="xid_count"]').__sameChart === true), 'the chart was updated in place');
  const seen = await page.evaluate(() => window.__seen);
  assert.deepEqual([...new Set(seen.state)].filter((s) => s !== 'charts'), [], `no loading or error state on refresh (saw ${seen.state.join(',')})`);
  assert.deepEqual([...new Set(seen.range)].filter((r) => r !== '24h'), [], 'the chosen range stays');
  // The latest health tiles follow GET /devices/{id} too.
  await page.locator('ul.stats.health', { hasText: '77 °C' }).waitFor();
  await page.locator('ul.stats.health', { hasText: '(last 79)' }).waitFor();
  log(`GPU ${id}: the new sample appeared without a reload (${after.history.samples} samples over 24 h)`);
  const section = page.locator('section[aria-labelledby="sec-health"]');
  await section.scrollIntoViewIfNeeded();
  await section.screenshot({ path: `${artifacts}/gpu-health-refreshed.png` });

  // Refreshes that fail keep the charts and show no error.
  const telemetryUrl = (u) => new URL(u).pathname.endsWith(`/devices/${id}/telemetry`);
  await page.route(telemetryUrl, (route) => route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":{"code":"unavailable","message":"test outage"}}' }));
  await page.locator('.health-history[data-refresh-failed="true"]').waitFor();
  await postReport(baseUrl, agent, { ...base, time: isoSeconds(Date.now()), temperature_c: 70, xid_count: 2, last_xid: 79 });
  await page.waitForTimeout(2 * kTestRefreshMs);  // more failed rounds (nothing is asserted about time)
  const during = await drawnHistory(page, '24h');
  assert.equal(during.history.samples, '2', 'the last charts stay while refreshes fail');
  assert.equal(await page.locator('.health-history .error, section[aria-labelledby="sec-health"] .error').count(), 0, 'no error shown for a failed refresh');
  await page.unroute(telemetryUrl);
  await page.locator('.health-history[data-samples="3"][data-refresh-failed="false"]').waitFor();
  await assertMatchesApi(await drawnHistory(page, '24h'), baseUrl, tokens.admin, id);

  // A refresh of the 24 h range still under way when the person picks 7 days: its answer,
  // held back until after the 7 days' one, must not replace it.
  let sawDelayed;
  const delayedSeen = new Promise((r) => { sawDelayed = r; });
  const isDay = (u) => {
    const q = new URL(u).searchParams;
    return telemetryUrl(u) && (new Date(q.get('until')) - new Date(q.get('since'))) === 86400e3;
  };
  await page.route(isDay, async (route) => {
    sawDelayed();
    await new Promise((r) => setTimeout(r, kDelayedAnswerMs));
    await route.continue().catch(() => {});
  });
  await delayedSeen;
  await page.evaluate(() => { window.__seen = { range: [], state: [] }; });
  await page.getByLabel('Time range').selectOption('7d');
  await drawnHistory(page, '7d');
  await page.waitForTimeout(kDelayedAnswerMs + 2 * kTestRefreshMs);  // the held-back answer has come by now
  const race = await page.evaluate(() => window.__seen);
  assert.deepEqual([...new Set(race.range)], ['7d'], `only the picked range is shown after the pick (saw ${race.range.join(',')})`);
  await page.unroute(isDay);
  await assertMatchesApi(await drawnHistory(page, '7d'), baseUrl, tokens.admin, id);

  // A tab shown again refreshes at once: with an hour's period, a visibilitychange event (the
  // tab is visible) brings a report posted meanwhile.
  await setRefreshPeriod(page, 3600e3);
  await open(page, '#/gpus');
  await open(page, `#/gpu/${id}`);
  const shown = await drawnHistory(page, '7d');
  await postReport(baseUrl, agent, { ...base, time: isoSeconds(Date.now()), temperature_c: 71, xid_count: 3, last_xid: 79 });
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  await page.locator(`.health-history[data-samples="${Number(shown.history.samples) + 1}"]`).waitFor();
  await assertMatchesApi(await drawnHistory(page, '7d'), baseUrl, tokens.admin, id);
}
