// An operator token sees only its organization's GPUs: the map and the GPU list count only
// them, and another organization's GPU page answers "not found".
import assert from 'node:assert/strict';
import { signIn, open, screenshot, apiCall, apiListAll } from './lib.mjs';

export async function testOperatorSeesOnlyOwnOrganization({ baseUrl, tokens, browser, artifacts, skip, log }) {
  if (tokens.operators.length < 1) skip('no operator token');
  const all = await apiListAll(baseUrl, tokens.admin, '/devices');
  const op = tokens.operators[0];
  const me = (await apiCall(baseUrl, op.token, '/whoami')).json;
  assert.equal(me.role, 'operator');
  const own = all.filter((d) => d.organization_id === me.organization_id);
  const foreign = all.filter((d) => d.organization_id !== me.organization_id);
  if (!foreign.length) skip('every GPU belongs to the operator\'s organization');
  log(`operator of organization ${me.organization_id}: ${own.length} own GPUs, ${foreign.length} of others`);
  const scoped = await apiListAll(baseUrl, op.token, '/devices');
  assert.equal(scoped.length, own.length, 'the API scopes /devices');

  const page = await signIn(browser, baseUrl, op.token);
  await open(page, '#/map');
  await page.waitForFunction(() => document.querySelector('.legend') !== null);
  const total = Number(await page.locator('main p[data-total]').getAttribute('data-total'));
  assert.equal(total, own.length, 'the map counts only the organization\'s GPUs');
  const legendSum = (await page.locator('.legend .legend-count').allInnerTexts()).reduce((s, t) => s + Number(t), 0);
  assert.equal(legendSum, own.length);
  await screenshot(page, artifacts, 'operator-map');

  await open(page, '#/gpus');
  const serials = await page.locator('main table tbody tr td:first-child').allInnerTexts();
  const foreignSerials = new Set(foreign.map((d) => d.serial));
  assert.ok(!serials.some((s) => foreignSerials.has(s) && !own.some((d) => d.serial === s)), 'no GPU of another organization is listed');

  const other = foreign[0];
  await page.evaluate((h) => { location.hash = h; }, `#/gpu/${other.id}`);
  await page.locator('main[data-loaded="true"] .error').waitFor();
  assert.match(await page.locator('main .error').innerText(), /not.found|404/i);
  assert.equal(await page.locator('.region-layout').count(), 0, 'nothing of the other GPU is drawn');
  assert.equal((await apiCall(baseUrl, op.token, `/devices/${other.id}`)).status, 404);
  await screenshot(page, artifacts, 'operator-foreign-gpu');
}
