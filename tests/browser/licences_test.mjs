// The licence page shows each licence's usage against its model caps (as the per-licence
// report computes it) and downloads the reports through the API with the token.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { signIn, open, screenshot, apiCall, apiListAll } from './lib.mjs';

export async function testLicencePageShowsUsage({ baseUrl, tokens, browser, artifacts, skip }) {
  const licences = await apiListAll(baseUrl, tokens.admin, '/licences');
  if (!licences.length) skip('the seeded world has no licence');
  const page = await signIn(browser, baseUrl, tokens.admin);
  await open(page, '#/licences');
  for (const l of licences) {
    const card = page.locator(`section.licence[data-licence-id="${l.id}"]`);
    await card.waitFor();
    assert.match(await card.locator('h2').innerText(), new RegExp(l.reference.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const report = (await apiCall(baseUrl, tokens.admin, `/reports/licences/${l.id}?format=json`)).json;
    const rows = await card.locator('table.usage-table tbody tr').allInnerTexts();
    assert.equal(rows.length, Math.max(1, report.usage.length), `one usage row per model cap of ${l.reference}`);
    for (const u of report.usage) {
      const row = rows.find((t) => t.includes(u.model));
      assert.ok(row, `usage row for ${u.model}`);
      assert.ok(row.replace(/,/g, '').includes(`${u.in_use} / ${u.max_count}`), `${u.model}: "${row}" shows ${u.in_use} / ${u.max_count}`);
    }
  }
  await screenshot(page, artifacts, 'licences');

  // CSV download through the API with the token.
  const l = licences[0];
  const card = page.locator(`section.licence[data-licence-id="${l.id}"]`);
  const [download] = await Promise.all([page.waitForEvent('download'), card.getByRole('button', { name: 'Download CSV report' }).click()]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  const expected = (await apiCall(baseUrl, tokens.admin, `/reports/licences/${l.id}?format=csv`)).text;
  assert.equal(csv.split('\n')[0], expected.split('\n')[0], 'CSV header as the API sends it');
  assert.match(csv.split('\n')[0], /uuid/);
  assert.equal(csv.trim().split('\n').length, expected.trim().split('\n').length, 'CSV rows as the API sends them');

  const [jsonDownload] = await Promise.all([page.waitForEvent('download'), card.getByRole('button', { name: 'Download JSON report' }).click()]);
  const json = JSON.parse(fs.readFileSync(await jsonDownload.path(), 'utf8'));
  assert.equal(json.licence.id, l.id);
}
