// Acknowledging an alert in the dashboard persists: after a reload the alert is shown as
// acknowledged with its comment, and the API says the same. An auditor cannot acknowledge.
import assert from 'node:assert/strict';
import { signIn, open, screenshot, apiCall, apiListAll } from './lib.mjs';

export async function testAcknowledgeAlertPersists({ baseUrl, tokens, browser, artifacts, skip, log }) {
  const open_ = await apiListAll(baseUrl, tokens.admin, '/alerts', { state: 'open' });
  if (!open_.length) skip('the seeded world has no open alert');
  const alert = open_[0];
  log(`alert ${alert.id}: ${alert.type} ${alert.severity} "${alert.subject}"`);
  const comment = `Checked by the browser test at ${new Date().toISOString()}: site visit booked.`;

  const page = await signIn(browser, baseUrl, tokens.admin);
  await open(page, `#/alerts?state=open&severity=${alert.severity}&type=${alert.type}`);
  const card = page.locator(`article.alert[data-alert-id="${alert.id}"]`);
  await card.waitFor();
  await card.locator('details:not(.ack) > summary').click();
  await screenshot(page, artifacts, 'alerts-open');
  await card.locator('details.ack > summary').click();
  await card.getByLabel('Acknowledge with a comment').fill(comment);
  await card.getByRole('button', { name: 'Acknowledge', exact: true }).click();
  await page.locator(`article.alert[data-alert-id="${alert.id}"][data-state="acknowledged"]`).waitFor();

  await page.reload();
  await page.locator('main[data-loaded="true"]').waitFor();
  await open(page, `#/alerts?state=acknowledged&type=${alert.type}`);
  const after = page.locator(`article.alert[data-alert-id="${alert.id}"]`);
  await after.waitFor();
  assert.equal(await after.getAttribute('data-state'), 'acknowledged');
  assert.equal(await after.locator('.ack-comment').innerText(), comment);
  await screenshot(page, artifacts, 'alerts-acknowledged');

  const api = (await apiCall(baseUrl, tokens.admin, `/alerts/${alert.id}`)).json;
  assert.equal(api.state, 'acknowledged');
  assert.equal(api.acknowledge_comment, comment);
}

export async function testAuditorCannotAcknowledge({ baseUrl, tokens, browser, skip }) {
  if (!tokens.auditor) skip('no auditor token');
  const open_ = await apiListAll(baseUrl, tokens.auditor, '/alerts', { state: 'open' });
  if (!open_.length) skip('no open alert left');
  const page = await signIn(browser, baseUrl, tokens.auditor);
  await open(page, `#/alerts?state=open&type=${open_[0].type}`);
  await page.locator(`article.alert[data-alert-id="${open_[0].id}"]`).waitFor();
  assert.equal(await page.locator('details.ack').count(), 0, 'no acknowledge form for an auditor');
  const r = await apiCall(baseUrl, tokens.auditor, `/alerts/${open_[0].id}/acknowledge`, { method: 'POST', body: { comment: 'x' } });
  assert.equal(r.status, 403);
}
