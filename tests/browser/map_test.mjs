// The map renders the fleet and shows GPUs by verdict: the legend's counters equal the API's
// counts, every GPU with a position is drawn, and the canvas carries the verdict colours.
import assert from 'node:assert/strict';
import { signIn, open, screenshot, apiCall, apiListAll, countCanvasColor } from './lib.mjs';

const kColors = { compliant: [0x1a, 0x7f, 0x5a], unproven: [0xb7, 0x79, 0x1f], violation: [0xc0, 0x26, 0x2d] };

export async function testMapShowsGpusByVerdict({ baseUrl, tokens, browser, artifacts, log }) {
  const overview = (await apiCall(baseUrl, tokens.admin, '/overview')).json;
  const devices = await apiListAll(baseUrl, tokens.admin, '/devices');
  const sites = new Map((await apiListAll(baseUrl, tokens.admin, '/sites')).map((s) => [s.id, s]));
  assert.ok(devices.length > 0, 'the seeded fleet has GPUs');
  const byVerdict = { compliant: 0, unproven: 0, violation: 0, none: 0 };
  let placed = 0;
  for (const d of devices) {
    byVerdict[d.verdict?.status || 'none']++;
    if (d.verdict?.estimate?.uncertainty_km > 0 || sites.has(d.site_id)) placed++;
  }
  assert.equal(overview.devices.total, devices.length, '/overview total equals /devices');

  const page = await signIn(browser, baseUrl, tokens.admin);
  await open(page, '#/map');
  await page.locator('.map[data-ready="true"]').waitFor();
  await page.waitForFunction(() => Number(document.querySelector('.map')?.dataset.drawnGpus || 0) > 0);
  for (const v of ['compliant', 'unproven', 'violation', 'none']) {
    const shown = Number(await page.locator(`.legend li[data-verdict="${v}"] .legend-count`).innerText());
    assert.equal(shown, byVerdict[v], `legend count for ${v}`);
    const api = v === 'none' ? overview.devices.no_verdict : overview.devices[v];
    assert.equal(shown, api, `legend count for ${v} equals /overview`);
  }
  const drawn = Number(await page.locator('.map').getAttribute('data-drawn-gpus'));
  assert.equal(drawn, placed, 'every GPU with a site or an estimate is drawn at the initial zoom');
  for (const [v, rgb] of Object.entries(kColors)) {
    const pixels = await countCanvasColor(page, '.map canvas', rgb, 6);
    if (byVerdict[v] > 0) assert.ok(pixels > 0, `canvas shows the ${v} colour`);
    log(`${v}: ${byVerdict[v]} GPUs, ${pixels} canvas pixels`);
  }
  await screenshot(page, artifacts, 'map');

  // Zooming in keeps drawing (clusters split, never disappear): the view's drawn count stays
  // consistent with what is on screen.
  await page.locator('.map canvas').focus();
  await page.keyboard.press('+');
  await page.keyboard.press('+');
  await page.waitForFunction(() => Number(document.querySelector('.map').dataset.zoom) > 2);
  await page.waitForTimeout(500);  // let the detailed base layer replace the scaled one
  await screenshot(page, artifacts, 'map-zoomed');
}
