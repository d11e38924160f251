// Target deconfliction in the browser: an analyst registers an ad phone on
// a phone and sees at once the two agencies that registered it before (who
// to call, never their case); the subject's page shows its own identity
// and the matches; the inbox lists the match; a fuzzy name without a date
// of birth waits on the subject's page to be confirmed, then the other
// side is told. A renewal needs a reason and is listed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, signIn, shot, accessible, menu, BASE, PHONE, DESK } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('an ad phone registered on a phone matches two agencies at once, as pointers', async () => {
  const ctx = await context(browser, PHONE);
  const page = await ctx.newPage();
  await signIn(page, 'analyst.ia-dps', '/operations');
  await menu(page, 'Subjects');
  await page.waitForSelector('#subject-form');
  await accessible(page, 'register a subject');
  // Bad input first: the field says what is wrong, and nothing is echoed elsewhere.
  await page.getByLabel(/Phone number/).fill('555 01');
  await page.getByRole('button', { name: 'Register and match' }).click();
  await page.waitForSelector('#problem');
  assert.ok(await page.locator('#number-error').isVisible(), 'the number is named');
  assert.ok(await page.locator('#reason-error').isVisible(), 'the reason is required');
  assert.equal(await page.getByLabel(/Phone number/).inputValue(), '555 01', 'what was typed stays');
  await accessible(page, 'register a subject with errors');
  await shot(page, 'subjects-error-phone');
  // The demo's ad phone, written a third way.
  await page.getByLabel(/Phone number/).fill('515.555.0187');
  await page.getByLabel(/Reason for entry/).fill('the number in an escort ad in Des Moines');
  await page.getByRole('button', { name: 'Register and match' }).click();
  await page.waitForSelector('#registered');
  assert.match(await page.locator('#registered').textContent(), /SX-\d{4}-\d{6}/);
  const pointers = page.locator('li.pointer');
  assert.equal(await pointers.count(), 2, 'Des Moines PD and the Missouri AG registered it');
  const text = await page.locator('ul.pointers').textContent();
  assert.match(text, /Des Moines Police Department/);
  assert.match(text, /Missouri Attorney General/);
  assert.match(text, /Exact match/);
  assert.doesNotMatch(text, /555.?0187|O187/, 'never the other side\'s identifier');
  await accessible(page, 'a subject registered with its matches');
  await shot(page, 'subjects-matched-phone');
  // Its page: our own identity, the matches, the review form.
  await page.locator('#registered a').click();
  await page.waitForSelector('#subject-status');
  assert.match(await page.locator('dl.facts').textContent(), /515\.555\.0187/);
  assert.equal(await page.locator('li.pointer').count(), 2);
  await page.getByRole('button', { name: 'Renew for 180 days' }).click();
  await page.waitForSelector('#reason-error');
  await page.getByLabel('Why it is still needed').fill('the ad is still running');
  await page.getByRole('button', { name: 'Renew for 180 days' }).click();
  await page.waitForSelector('#notice');
  assert.match(await page.locator('#renewals').textContent(), /analyst\.ia-dps.*the ad is still running/);
  await accessible(page, 'a subject');
  await shot(page, 'subject-phone');
  // The inbox lists the matches, as pointers.
  await page.goto(`${BASE}/alerts`);
  await page.waitForSelector('#match-alerts');
  assert.ok(await page.locator('li.match-alert').count() >= 2);
  await accessible(page, 'the inbox with target matches');
  await shot(page, 'alerts-matches-phone');
  await ctx.close();
});

test('a fuzzy name without a date of birth is confirmed on the subject page before the other side is told', async () => {
  const ctx = await context(browser, DESK);
  const page = await ctx.newPage();
  await signIn(page, 'analyst.mo-ago', '/subjects?kind=person');
  await page.waitForSelector('#subject-form');
  await page.getByLabel('Given names').fill('Marcus');
  await page.getByLabel('Family name').fill('Delanie');
  await page.getByLabel(/Reason for entry/).fill('drives victims between Des Moines and Kansas City');
  await page.getByRole('button', { name: 'Register and match' }).click();
  await page.waitForSelector('#registered');
  const pointer = page.locator('li.pointer.unconfirmed').first();
  await pointer.waitFor();
  assert.match(await pointer.textContent(), /Fuzzy match/);
  await shot(page, 'subjects-fuzzy-desk');
  await page.locator('#registered a').click();
  await page.getByRole('button', { name: 'Confirm: the same subject' }).first().click();
  await page.waitForSelector('#notice');
  assert.match(await page.locator('#notice').textContent(), /Confirmed/);
  assert.ok(await page.locator('li.pointer:not(.unconfirmed)').count() >= 1, 'open once confirmed');
  await accessible(page, 'a confirmed match');
  await shot(page, 'subject-confirmed-desk');
  await ctx.close();
});
