// An officer on a phone records a tally; the commander's open board updates
// within seconds without a reload. A form with bad input shows the field's
// error and keeps what was typed. A double tap counts once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, signIn, shot, accessible, PHONE, DESK } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Open flags on the board (the line is absent when there are none). */
async function openFlags(page) {
  const line = page.locator('.flag-count');
  if (await line.count() === 0) return 0;
  return Number((await line.textContent()).match(/\d+/)[0]);
}

async function boardOf(page) {
  await page.getByRole('link', { name: /Operation United Front/ }).first().click();
  await page.waitForSelector('svg.map');
  return page.url();
}

test('an officer records a tally on a phone and the open board of a commander updates without a reload', async () => {
  const desk = await context(browser, DESK);
  const boss = await desk.newPage();
  await signIn(boss, 'commander.mo-ago');
  const boardUrl = await boardOf(boss);
  const before = (await boss.locator('#total-arrests').textContent()).trim();
  const flagsBefore = await openFlags(boss);
  // The stream is connected before the officer acts.
  await boss.waitForFunction(() => document.querySelector('#board-live')?.getAttribute('sse-connect'));

  const phone = await context(browser, PHONE);
  const officer = await phone.newPage();
  await signIn(officer, 'officer.fed-demo', boardUrl.replace(/^https?:\/\/[^/]+/, '') + '/tally');
  await officer.waitForSelector('#tally-form');
  await accessible(officer, 'quick tally');
  await shot(officer, 'tally-phone');

  // Bad input: the field's error, what was typed kept, nothing saved.
  await officer.getByLabel('State').selectOption({ label: 'South Dakota' });
  await officer.getByLabel('Arrests', { exact: true }).fill('four');
  await officer.getByLabel('Victims (minors included)', { exact: true }).fill('2');
  await officer.getByRole('button', { name: 'Save tally' }).click();
  await officer.waitForSelector('#arrests-error');
  assert.equal(await officer.getByLabel('Arrests', { exact: true }).inputValue(), 'four', 'what was typed stays');
  assert.equal(await officer.getByLabel('Victims (minors included)', { exact: true }).inputValue(), '2');
  assert.equal(await officer.getByLabel('Arrests', { exact: true }).getAttribute('aria-invalid'), 'true');
  await accessible(officer, 'quick tally with errors');
  await shot(officer, 'tally-error-phone');

  // The line read back first, then saved; a second tap on Save counts once.
  await officer.getByLabel(/Tally line/).fill('South Dakota 4 arrests, 2 victims');
  await officer.getByRole('button', { name: 'Read the line' }).click();
  await officer.waitForSelector('.read-back');
  assert.equal(await officer.getByLabel('Arrests', { exact: true }).inputValue(), '4');
  assert.equal(await officer.locator('#saved').count(), 0, 'reading stores nothing');
  const key = await officer.locator('input[name=idempotency_key]').inputValue();
  await officer.getByRole('button', { name: 'Save tally' }).click();
  await officer.waitForSelector('#saved');
  assert.match(await officer.locator('#saved').textContent(), /South Dakota/);
  await shot(officer, 'tally-saved-phone');

  // The same form sent again (a retry after a lost answer) is not counted twice.
  const replay = await officer.request.post(officer.url(), {
    form: { idempotency_key: key, state: 'US-SD', arrests: '4', victims: '2', line: 'South Dakota 4 arrests, 2 victims', action: 'save' },
  });
  assert.equal(replay.status(), 200);
  assert.match(await replay.text(), /counted once/);

  // The commander's board, never reloaded, shows it within seconds: South Dakota's state tally
  // said 9 arrests, so the officer's 4 come up as a flag to resolve, not as a second count.
  await boss.waitForFunction(() => document.querySelector('#board-live')?.textContent.includes('agencies add up to 4 arrests'), null, { timeout: 10000 });
  const flagsAfter = await openFlags(boss);
  assert.ok(flagsAfter > flagsBefore, `more open flags than before: ${flagsBefore} -> ${flagsAfter}`);
  assert.equal((await boss.locator('#total-arrests').textContent()).trim(), before, 'the total is the rows, not a second count');
  await shot(boss, 'board-after-tally-desk');
  assert.deepEqual(desk.offsite, []);
  assert.deepEqual(phone.offsite, []);
  await desk.close();
  await phone.close();
});
