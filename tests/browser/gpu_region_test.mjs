// Selecting a GPU (on the map) opens its page, which draws each landmark's cap and the
// sound region from GET /devices/{id}/region.
import assert from 'node:assert/strict';
import { signIn, open, screenshot, apiCall, apiListAll, countCanvasColor } from './lib.mjs';

export async function testSelectingGpuDrawsCapsAndRegion({ baseUrl, tokens, browser, artifacts, skip, log }) {
  const devices = await apiListAll(baseUrl, tokens.admin, '/devices');
  // Prefer a GPU with a non-empty region and several caps; violations make the best picture.
  let chosen = null, region = null, unavailable = 0;
  const candidates = devices.filter((d) => d.verdict).sort((a, b) => (b.verdict.status === 'violation') - (a.verdict.status === 'violation'));
  for (const d of candidates.slice(0, 50)) {
    const r = await apiCall(baseUrl, tokens.admin, `/devices/${d.id}/region`);
    if (r.status === 503) unavailable++;
    if (r.status === 200 && (r.json.caps || []).length >= 2) { chosen = d; region = r.json; break; }
  }
  // `lightcone server` always serves the region view and the seeded world measures every
  // GPU from several landmarks: neither case may pass silently.
  assert.ok(chosen || !unavailable, `GET /devices/{id}/region answers 503 (${unavailable} GPUs tried): the server runs without a region provider`);
  if (!chosen && tokens.seededThroughApi) skip('seeded through the API: no measurements, so no caps');
  assert.ok(chosen, 'no GPU with a region of at least 2 caps in the seeded fleet');
  log(`GPU ${chosen.id} (${chosen.verdict.status}): ${region.caps.length} caps`);

  const page = await signIn(browser, baseUrl, tokens.admin);
  // Select it from the map's cluster list (map -> cluster -> GPU), then check the page.
  await open(page, `#/gpu/${chosen.id}`);
  await page.locator('.region-layout .map[data-caps]').waitFor();
  const map = page.locator('.region-layout .map');
  assert.equal(Number(await map.getAttribute('data-caps')), region.caps.length, 'one drawn cap per landmark');
  const rings = (region.region?.boundary || []).filter((r) => r.length >= 3).length;
  assert.equal(Number(await map.getAttribute('data-region-rings')), region.region?.empty ? 0 : rings, 'the region boundary is drawn');
  const capRows = await page.locator('.region-info tbody tr').allInnerTexts();
  for (const c of region.caps) assert.ok(capRows.some((t) => t.includes(c.name)), `cap of ${c.name} listed`);
  await screenshot(page, artifacts, 'gpu-region');
  // The region outline (#173d7a) fills the initial view; zoomed out to the world, the
  // largest used cap's circle is on the canvas too, in its palette colour (web/src/pages/gpu.js
  // kCapColors, by the cap's index). Small caps are sub-pixel at world zoom, so the largest.
  if (rings) assert.ok(await countCanvasColor(page, '.region-layout .map canvas', [0x17, 0x3d, 0x7a], 24) > 0, 'region outline drawn');
  await page.locator('.region-layout .map canvas').focus();
  await page.keyboard.press('0');
  await page.waitForFunction(() => document.querySelector('.region-layout .map').dataset.zoom === '1.00');
  await page.waitForTimeout(300);
  const kCapColors = [[0x2f, 0x6d, 0xb5], [0x8a, 0x4f, 0xbf], [0x0e, 0x8a, 0x8a], [0xb5, 0x53, 0x2f], [0x5b, 0x7f, 0x1f], [0xb0, 0x34, 0x7a], [0x4a, 0x5a, 0x8c], [0x9a, 0x7b, 0x12]];
  let largest = -1;
  region.caps.forEach((c, i) => { if (c.used !== false && (largest < 0 || c.radius_km > region.caps[largest].radius_km)) largest = i; });
  assert.ok(largest >= 0, 'at least one cap was used');
  assert.ok(await countCanvasColor(page, '.region-layout .map canvas', kCapColors[largest % kCapColors.length], 24) > 0,
            `cap of ${region.caps[largest].name} (${Math.round(region.caps[largest].radius_km)} km) drawn at world zoom`);
  await screenshot(page, artifacts, 'gpu-region-world');
  await page.locator('h1').getByText(chosen.verdict.status, { exact: false }).waitFor();
  await page.locator('#sec-rtt-per-landmark').scrollIntoViewIfNeeded();
  await screenshot(page, artifacts, 'gpu-rtt-health');
}

export async function testMapClusterLeadsToGpuPage({ baseUrl, tokens, browser }) {
  const page = await signIn(browser, baseUrl, tokens.admin);
  await open(page, '#/map');
  await page.waitForFunction(() => Number(document.querySelector('.map')?.dataset.drawnGpus || 0) > 0);
  // Click the biggest cluster: its GPUs are listed beside the map; follow the first one.
  const target = await page.evaluate(() => {
    const c = document.querySelector('.map canvas');
    return { w: c.clientWidth, h: c.clientHeight };
  });
  assert.ok(target.w > 0);
  const clusters = await page.evaluate(() => window.__lightconeMap?.clusters?.map((c) => ({ x: c.sx, y: c.sy, n: c.ids.length })) || []);
  assert.ok(clusters.length > 0, 'clusters are exposed for the test');
  clusters.sort((a, b) => b.n - a.n);
  const box = await page.locator('.map canvas').boundingBox();
  await page.mouse.click(box.x + clusters[0].x, box.y + clusters[0].y);
  const first = page.locator('.cluster-list a').first();
  await first.waitFor();
  await first.click();
  await page.locator('.region-layout .map').waitFor();
  assert.match(await page.locator('h1').innerText(), /GPU/);
}
