// Two officers of different agencies register overlapping events; both see
// the conflict at once (the second in the answer to the registration, the
// first in the open inbox, without reloading); one acknowledges it and
// records the outcome.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, signIn, shot, accessible, BASE, PHONE, DESK } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function register(page, { lat, lon, start, end, contact, phone }) {
  await page.goto(`${process.env.BASE_URL}/events`);
  await page.getByLabel('Kind', { exact: true }).selectOption('search_warrant');
  await page.getByLabel('Latitude', { exact: true }).fill(lat);
  await page.getByLabel('Longitude', { exact: true }).fill(lon);
  await page.getByLabel('Time zone of the times below').selectOption('America/Chicago');
  await page.getByLabel('Start', { exact: true }).fill(start);
  await page.getByLabel('End', { exact: true }).fill(end);
  await page.getByLabel('On-scene contact', { exact: true }).fill(contact);
  await page.getByLabel('Their phone').fill(phone);
  await page.getByRole('button', { name: 'Register and check' }).click();
  await page.waitForSelector('#registered, #problem');
}

test('two agencies register overlapping events, both see the conflict at once, one acknowledges and resolves it', async () => {
  const deskCtx = await context(browser, DESK);
  const first = await deskCtx.newPage();
  await signIn(first, 'officer.dsm-pd', '/events');
  await accessible(first, 'register an event');
  await register(first, { lat: '41.6005', lon: '-93.6091', start: '2026-12-11T20:00', end: '2026-12-11T22:00', contact: 'Sgt. Desk', phone: '+1 515 555 0101' });
  assert.match(await first.locator('#registered').textContent(), /DX-\d{4}-\d{6}/);
  // The answer is the result and a way to register another, never the same form again.
  assert.equal(await first.locator('form[action="/events"]').count(), 0);
  await first.getByRole('link', { name: 'Register another event' }).click();
  await first.waitForSelector('form[action="/events"]');
  assert.equal(await first.locator('#restored').count(), 0, 'nothing of the last event is put back');
  assert.equal(await first.getByLabel('On-scene contact', { exact: true }).inputValue(), '');
  // The first officer keeps the inbox open.
  await first.goto(`${process.env.BASE_URL}/alerts`);
  await first.waitForSelector('#inbox');
  const before = await first.locator('li.alert').count();
  await accessible(first, 'alert inbox');

  const phoneCtx = await context(browser, PHONE);
  const second = await phoneCtx.newPage();
  await signIn(second, 'officer.polk-so', '/events');
  // Bad input first: the field says what is wrong, and what was typed stays.
  await register(second, { lat: '141.6', lon: '-93.6093', start: '2026-12-11T21:00', end: '2026-12-11T23:00', contact: 'Dep. Phone', phone: '+1 515 555 0202' });
  assert.ok(await second.locator('#lat-error').isVisible(), 'the latitude is named');
  assert.equal(await second.getByLabel('Latitude', { exact: true }).inputValue(), '141.6');
  assert.equal(await second.getByLabel('On-scene contact', { exact: true }).inputValue(), 'Dep. Phone');
  await accessible(second, 'register with errors');
  await shot(second, 'events-error-phone');
  await register(second, { lat: '41.6007', lon: '-93.6093', start: '2026-12-11T21:00', end: '2026-12-11T23:00', contact: 'Dep. Phone', phone: '+1 515 555 0202' });
  const pointer = second.locator('li.pointer').first();
  await pointer.waitFor();
  const text = await pointer.textContent();
  assert.match(text, /Des Moines Police Department/);
  assert.match(text, /\+1 515 555 0101/);
  assert.doesNotMatch(text, /Sgt\. Desk.*case|CASE-/i);
  await shot(second, 'events-conflict-phone');

  // The first officer's open inbox shows it without a reload.
  await first.waitForFunction((n) => document.querySelectorAll('li.alert').length > n, before, { timeout: 10000 });
  const alert = first.locator('li.alert').first();
  assert.match(await alert.textContent(), /Polk County Sheriff's Office/);
  assert.match(await alert.textContent(), /\+1 515 555 0202/);
  await shot(first, 'alerts-desk');
  await alert.getByRole('button', { name: 'Acknowledge' }).click();
  await first.waitForSelector('#notice');
  const acked = first.locator('li.alert').first();
  assert.match(await acked.textContent(), /Acknowledged by officer\.dsm-pd/);

  // Recording the outcome is for a coordinator or commander: an officer is not offered it.
  assert.equal(await acked.getByRole('button', { name: 'Record outcome' }).count(), 0);

  const coordCtx = await context(browser, DESK);
  const coord = await coordCtx.newPage();
  await signIn(coord, 'coordinator.dsm-pd', '/alerts');
  const mine = coord.locator('li.alert', { hasText: "Polk County Sheriff's Office" }).first();
  await mine.getByLabel('Outcome').selectOption('joint');
  await mine.getByLabel('Why').fill('One entry team; Polk covers the back.');
  await mine.getByRole('button', { name: 'Record outcome' }).click();
  await coord.waitForSelector('#notice');
  assert.match(await coord.locator('li.alert', { hasText: "Polk County Sheriff's Office" }).first().textContent(), /resolved/);
  await accessible(coord, 'alert inbox after an outcome');
  for (const c of [deskCtx, phoneCtx, coordCtx]) {
    assert.deepEqual(c.offsite, []);
    await c.close();
  }
});

test('an officer fills the point from the phone and sees it on the map, and a wrong sign is caught', async () => {
  const ctx = await context(browser, PHONE);
  await ctx.grantPermissions(['geolocation'], { origin: BASE });
  await ctx.setGeolocation({ latitude: 41.58681, longitude: -93.62496, accuracy: 12 });
  const page = await ctx.newPage();
  await signIn(page, 'officer.dsm-pd', '/events');
  await page.getByRole('button', { name: 'Use my location' }).click();
  await page.waitForFunction(() => document.getElementById('lat').value !== '');
  assert.equal(await page.getByLabel('Latitude', { exact: true }).inputValue(), '41.58681');
  assert.equal(await page.getByLabel('Longitude', { exact: true }).inputValue(), '-93.62496');
  // A check with a wrong sign on the longitude: the map says where the mistake is.
  await page.getByLabel('Longitude', { exact: true }).fill('93.62496');
  await page.getByRole('button', { name: 'Register and check' }).click();
  await page.waitForSelector('#locator-caption');
  assert.match(await page.locator('#locator-caption').textContent(), /not on this map/);
  assert.equal(await page.locator('#restored').count(), 0, 'an answer to the form itself is not a restored form');
  await page.getByLabel('Longitude', { exact: true }).fill('-93.62496');
  await page.getByRole('button', { name: 'Register and check' }).click();
  await page.waitForSelector('#locator .here');
  assert.notEqual(await page.locator('#locator').getAttribute('viewBox'), '0 0 975 610', 'the map closes in on the point');
  await accessible(page, 'register with the map');
  await shot(page, 'events-locator-phone');
  assert.deepEqual(ctx.offsite, []);
});

test("a commander's escalation carries both sides and says who has not acknowledged", async () => {
  for (const [size, name] of [[PHONE, 'phone'], [DESK, 'desk']]) {
    const ctx = await context(browser, size);
    const page = await ctx.newPage();
    await signIn(page, 'commander.mo-ago', '/alerts');
    const item = page.locator('li.alert[data-level="2"]').first();
    await item.waitFor();
    const text = await item.textContent();
    assert.match(text, /Escalated to the operation's commanders/);
    assert.equal(await item.locator('li.side').count(), 2, 'both sides');
    assert.equal(await item.locator('a.tel').count(), 2, 'a number to call on each side');
    assert.match(text, /Waiting on:/);
    assert.match(await page.locator('#nav-alerts').textContent(), /\d+ open/, 'the menu says what waits');
    assert.equal(await page.locator('.menu-toggle').isVisible(), name === 'phone', 'the Menu button is for a phone only');
    await accessible(page, `an escalation (${name})`);
    await shot(page, `alerts-escalation-${name}`);
    assert.deepEqual(ctx.offsite, []);
    await ctx.close();
  }
});

test('an officer extends an event from its page and reads its history', async () => {
  const ctx = await context(browser, PHONE);
  const page = await ctx.newPage();
  await signIn(page, 'officer.dsm-pd', '/events');
  await register(page, { lat: '41.5901', lon: '-93.6200', start: '2026-12-12T20:00', end: '2026-12-12T21:00', contact: 'Sgt. History', phone: '+1 515 555 0303' });
  const number = (await page.locator('#registered').textContent()).match(/DX-\d{4}-\d{6}/)[0];
  await page.goto(`${BASE}/events`);
  await page.getByRole('link', { name: number }).click();
  await page.waitForSelector('#change-form');
  await page.getByRole('button', { name: 'Extend by 30 minutes' }).click();
  await page.waitForSelector('#notice');
  assert.match(await page.locator('#history').textContent(), /end .* to /);
  await page.getByLabel('On-scene contact', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Save and check again' }).click();
  await page.waitForSelector('#problem');
  assert.match(await page.locator('#contact_name-error').textContent(), /on-scene contact/i);
  await accessible(page, 'an event with its history');
  await page.goto(page.url().split('?')[0]);
  await shot(page, 'event-history-phone');
  assert.deepEqual(ctx.offsite, []);
  await ctx.close();
});

test('on a phone the menu is a real menu: folded, one link a line, the account apart', async () => {
  const ctx = await context(browser, PHONE);
  const page = await ctx.newPage();
  await signIn(page, 'coordinator.dsm-pd', '/operations');
  const toggle = page.getByRole('button', { name: /^Menu/ });
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  assert.equal(await page.locator('#main-nav').isVisible(), false, 'folded at first');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  const nav = page.locator('#main-nav');
  await nav.waitFor();
  const width = await page.evaluate(() => document.getElementById('main-nav').scrollWidth <= window.innerWidth);
  assert.ok(width, 'nothing scrolls sideways');
  const [pw, out] = [await nav.getByRole('link', { name: 'Password' }).boundingBox(), await nav.getByRole('button', { name: 'Sign out everywhere' }).boundingBox()];
  assert.ok(out.y >= pw.y + pw.height - 1, '"Sign out everywhere" is on its own line, below "Password"');
  await accessible(page, 'the phone menu');
  await shot(page, 'menu-phone');
  assert.deepEqual(ctx.offsite, []);
  await ctx.close();
});
