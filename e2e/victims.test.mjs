// Victim services: an advocate sees the victims of the operation with their
// needs and care, an identity only after asking (audited), and logs the
// services and referrals given; an officer
// of another agency cannot reach the victim's page: it says not found.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, signIn, shot, accessible, PHONE, DESK, BASE, demoOperationId } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("a victim's page is not found for another agency, withheld for an officer, and shown to an advocate who asks", async () => {
  const own = await context(browser, DESK);
  const officer = await own.newPage();
  await signIn(officer, 'officer.dsm-pd');
  const op = await demoOperationId(officer);
  // The record, through the API with the page's own session (as a phone app would).
  const created = await officer.request.post(`${BASE}/api/v1/operations/${op}/results`, {
    headers: { origin: BASE },
    data: {
      kind: 'victim', state: 'US-IA', occurred_at: '2021-08-26T22:00:00-05:00', age_band: '19-21',
      status: 'confirmed', rescued: true, received_services: true, needed_medical: true, medical_given: true,
      identity: { name: 'Pat Placeholder', contact: '+1 515 555 0177' },
    },
  });
  assert.equal(created.status(), 201);
  const id = (await created.json()).id;
  await officer.goto(`${BASE}/results/${id}`);
  assert.equal(await officer.locator('#withheld').count(), 1, 'an officer sees the record, not the identity');
  assert.equal(await officer.getByText('Pat Placeholder').count(), 0);
  await accessible(officer, 'a record');

  const other = await context(browser, PHONE);
  const stranger = await other.newPage();
  await signIn(stranger, 'officer.polk-so');
  const r = await stranger.goto(`${BASE}/results/${id}`);
  assert.equal(r.status(), 404);
  assert.equal((await stranger.locator('h1').textContent()).trim(), 'Not found');
  assert.equal(await stranger.getByText('Pat Placeholder').count(), 0);
  await accessible(stranger, 'not found');
  await shot(stranger, 'victim-not-found-phone');

  const adv = await context(browser, PHONE);
  const advocate = await adv.newPage();
  await signIn(advocate, 'advocate.mo-ago');
  await advocate.goto(`${BASE}/operations/${op}/victims`);
  await accessible(advocate, 'victims');
  await shot(advocate, 'victims-phone');
  assert.equal(await advocate.getByText('Pat Placeholder').count(), 0, 'no names in the list');
  await advocate.locator(`a[href="/results/${id}"]`).click();
  await advocate.getByRole('button', { name: /Show the identity/ }).click();
  await advocate.waitForSelector('#identity');
  assert.equal(await advocate.locator('#identity').getByText('Pat Placeholder').count(), 1);
  await accessible(advocate, 'an identity shown');
  // The advocate logs a referral: only with the victim's consent.
  await advocate.getByLabel('A referral made').check();
  await advocate.getByLabel('What', { exact: true }).selectOption('shelter');
  await advocate.getByLabel(/^Note/).fill('Bed held at the county shelter');
  await advocate.getByRole('button', { name: 'Log it' }).click();
  await advocate.waitForSelector('#consent-error');
  await advocate.getByLabel(/The victim consented/).check();
  await advocate.getByRole('button', { name: 'Log it' }).click();
  await advocate.waitForSelector('#support-logged');
  assert.match(await advocate.locator('#support-log').textContent(), /Referred to: Shelter or housing.*with consent/s);
  await accessible(advocate, 'the services log');
  await advocate.locator('#support').scrollIntoViewIfNeeded();
  await shot(advocate, 'advocate-support-phone');
  for (const c of [own, other, adv]) {
    assert.deepEqual(c.offsite, []);
    await c.close();
  }
});
