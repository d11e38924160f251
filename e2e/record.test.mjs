// An officer on a phone records a victim and a seizure from the board: one
// kind at a time, big buttons, numeric keyboards, the time in the
// operation's zone; a mistake shows the field's error with what was typed
// kept; a saved record says so and links to it; the identity typed is not
// shown again. The same form at desk size passes the accessibility check.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, signIn, shot, accessible, PHONE, DESK, BASE, demoOperationId } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('an officer records a victim and a seizure on a phone', async () => {
  const phone = await context(browser, PHONE);
  const page = await phone.newPage();
  await signIn(page, 'officer.dsm-pd');
  await page.getByRole('link', { name: /Operation United Front/ }).first().click();
  await page.getByRole('link', { name: /Record an arrest, victim/ }).click();
  await accessible(page, 'record: choose a kind');
  await shot(page, 'record-kinds-phone');
  await page.getByRole('link', { name: 'Victim', exact: true }).click();
  await page.waitForSelector('#record-form');
  assert.equal(await page.getByLabel('State').inputValue(), 'US-IA', "the officer's own state comes chosen");

  // Referrals without the victim's consent answered, and an age that is not one.
  await page.getByLabel(/Age band/).fill('sixteen');
  await page.getByLabel('Rescued').check();
  await page.getByLabel('Shelter').check();
  await page.getByLabel('Name').fill('E2E Person');
  await page.getByRole('button', { name: 'Save victim' }).click();
  await page.waitForSelector('#age_band-error');
  assert.ok(await page.locator('#consent-error').count() === 1);
  assert.equal(await page.getByLabel(/Age band/).inputValue(), 'sixteen', 'what was typed stays');
  assert.equal(await page.getByLabel('Name').inputValue(), 'E2E Person');
  assert.ok(await page.getByLabel('Shelter').isChecked());
  await accessible(page, 'record a victim, with errors');
  await shot(page, 'record-victim-error-phone');

  await page.getByLabel(/Age band/).fill('16');
  await page.getByLabel('Yes').check();
  await page.getByRole('button', { name: 'Save victim' }).click();
  await page.waitForSelector('#saved');
  assert.match(await page.locator('#saved').textContent(), /Victim in Iowa/);
  assert.equal(await page.getByText('E2E Person').count(), 0, 'a saved identity is not shown again');
  assert.equal(await page.getByLabel('Name').inputValue(), '', 'the next form is blank');
  await shot(page, 'record-victim-saved-phone');

  // A seizure: the amount keyboard is numeric, dollars with a sign and commas are read.
  await page.getByRole('link', { name: 'Seizure', exact: true }).click();
  await page.getByLabel('What was seized').selectOption('currency');
  const amount = page.getByLabel(/amount in US dollars/);
  assert.equal(await amount.getAttribute('inputmode'), 'numeric');
  await amount.fill('$2,400');
  await page.getByRole('button', { name: 'Save seizure' }).click();
  await page.waitForSelector('#saved');
  assert.match(await page.locator('#saved').textContent(), /Seizure in Iowa/);
  await page.getByRole('link', { name: 'Open the record' }).click();
  await page.waitForSelector('h1');
  assert.match(await page.locator('h1').textContent(), /seizure/i);
  assert.deepEqual(phone.offsite, []);

  const desk = await context(browser, DESK);
  const d = await desk.newPage();
  await signIn(d, 'officer.dsm-pd');
  await d.getByRole('link', { name: /Operation United Front/ }).first().click();
  await d.getByRole('link', { name: /Record an arrest, victim/ }).click();
  await d.getByRole('link', { name: 'Arrest', exact: true }).click();
  await accessible(d, 'record an arrest (desk)');
  await shot(d, 'record-arrest-desk');
  assert.deepEqual(desk.offsite, []);
});

test('a session that lapses mid-form comes back after signing in with what was typed, identities excepted', async () => {
  const phone = await context(browser, PHONE);
  const page = await phone.newPage();
  await signIn(page, 'officer.dsm-pd');
  await page.getByRole('link', { name: /Operation United Front/ }).first().click();
  await page.getByRole('link', { name: /Record an arrest, victim/ }).click();
  await page.getByRole('link', { name: 'Victim', exact: true }).click();
  assert.equal(await page.locator('body').getAttribute('data-idle-seconds'), '1800', 'the idle warning knows the timeout');
  await page.getByLabel(/Age band/).fill('13-15');
  await page.getByLabel('Needed medical care').check();
  await page.getByLabel('Medical', { exact: true }).check();
  await page.getByLabel('No', { exact: true }).check();
  await page.getByLabel('Name').fill('Lapsed Session Person');
  // The session ends while the officer types (here: its cookie is gone).
  await phone.clearCookies();
  await page.getByRole('button', { name: 'Save victim' }).click();
  await page.waitForURL(/\/login\?next=/);
  const next = new URL(page.url()).searchParams.get('next');
  assert.match(next, /record\?kind=victim$/);
  await signIn(page, 'officer.dsm-pd', next, { fresh: true });
  await page.waitForSelector('#restored');
  assert.equal(await page.getByLabel(/Age band/).inputValue(), '13-15');
  assert.ok(await page.getByLabel('Needed medical care').isChecked());
  assert.ok(await page.getByLabel('Medical', { exact: true }).isChecked());
  assert.ok(await page.getByLabel('No', { exact: true }).isChecked());
  assert.equal(await page.getByLabel('Name').inputValue(), '', 'an identity is never kept in the browser');
  await accessible(page, 'record, restored after signing in again');
  await shot(page, 'record-restored-phone');
  await page.getByRole('button', { name: 'Save victim' }).click();
  await page.waitForSelector('#saved');
  // Saved: the kept copy is gone, a fresh form stays blank.
  await page.reload();
  assert.equal(await page.locator('#restored').count(), 0);
  assert.equal(await page.getByLabel(/Age band/).inputValue(), '');
  assert.deepEqual(phone.offsite, []);
});

test('two minutes before the idle timeout a warning offers to stay signed in', async () => {
  const ctx = await context(browser, PHONE);
  const page = await ctx.newPage();
  await signIn(page, 'officer.dsm-pd');
  // The server's timeout is 30 minutes; this page is told 125 s, so the warning comes after 5 s.
  await page.route(/\/operations\/[^/]+\/tally$/, async (route) => {
    const res = await route.fetch();
    const html = (await res.text()).replace(/data-idle-seconds="\d+"/, 'data-idle-seconds="125"');
    await route.fulfill({ response: res, body: html });
  });
  await page.getByRole('link', { name: /Operation United Front/ }).first().click();
  await page.getByRole('link', { name: 'Record a tally' }).click();
  const warning = page.locator('#idle-warning');
  await warning.waitFor({ timeout: 15000 });
  assert.match(await warning.textContent(), /signed out in 2 minutes/);
  await accessible(page, 'idle warning');
  await shot(page, 'idle-warning-phone');
  const alive = page.waitForResponse((r) => r.url().endsWith('/account/alive'));
  await page.getByRole('button', { name: 'Stay signed in' }).click();
  assert.equal((await alive).status(), 204);
  await warning.waitFor({ state: 'detached' });
  assert.deepEqual(ctx.offsite, []);
});

test('an officer finds a record in the list of the agency and corrects it with a reason', async () => {
  const phone = await context(browser, PHONE);
  const page = await phone.newPage();
  await signIn(page, 'officer.dsm-pd');
  const op = await demoOperationId(page);
  const created = await page.request.post(`${BASE}/api/v1/operations/${op}/results`, {
    headers: { origin: BASE },
    data: { kind: 'arrest', state: 'US-IA', occurred_at: '2021-08-26T21:30:00-05:00',
      charges: [{ statute: 'Iowa 710A.2', nibrs: '64A' }] },
  });
  assert.equal(created.status(), 201);
  const id = (await created.json()).id;
  await page.goto(`${BASE}/operations/${op}/records`);
  await page.waitForSelector('#records');
  await page.locator(`a[href="/results/${id}"]`).click();
  await page.getByRole('link', { name: 'Correct this record' }).click();
  await page.waitForSelector('#record-form');
  assert.equal(await page.getByLabel('Statute').first().inputValue(), 'Iowa 710A.2', 'filled in from the record');
  await page.getByLabel('Statute').first().fill('Iowa 710A.2(1)');
  await page.getByRole('button', { name: 'Save the correction' }).click();
  await page.waitForSelector('#reason-error');
  assert.equal(await page.getByLabel('Statute').first().inputValue(), 'Iowa 710A.2(1)', 'the change is kept');
  await page.getByLabel('Why it is corrected').fill('subsection added');
  await accessible(page, 'a correction');
  await shot(page, 'record-correct-phone');
  await page.getByRole('button', { name: 'Save the correction' }).click();
  await page.waitForSelector('#notice');
  assert.match(await page.locator('#notice').textContent(), /Corrected: this is version 2/);
  assert.match(await page.locator('dl.facts').first().textContent(), /710A\.2\(1\)/);
  assert.deepEqual(phone.offsite, []);
  await phone.close();
});
