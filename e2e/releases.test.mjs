// A PIO drafts a release, a commander resolves the open flags, approves and
// publishes it; the published version cannot be edited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, signIn, shot, accessible, PHONE, DESK, BASE } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function releasesOf(page) {
  await page.goto(`${BASE}/operations`);
  await page.getByRole('link', { name: /Operation United Front/ }).first().click();
  await page.waitForSelector('svg.map');
  await page.goto(page.url().replace(/\?.*$/, '') + '/releases');
  await page.waitForSelector('h1');
}

test('a PIO drafts, a commander resolves the flags, approves and publishes; the published version is frozen', async () => {
  const pioCtx = await context(browser, PHONE);
  const pio = await pioCtx.newPage();
  await signIn(pio, 'pio.mo-ago');
  await releasesOf(pio);
  await accessible(pio, 'releases');
  assert.equal(await pio.getByRole('link', { name: 'Resolve them on the board' }).count(), 0, 'a PIO does not resolve flags');
  await pio.getByLabel('Preset').selectOption('press');
  await pio.getByLabel('Statement headline (optional)').fill('{total.arrests} arrested and {total.victims} victims rescued in one night');
  await pio.getByLabel('Statement text (optional)').fill(
    'Officers made {total.arrests} arrests.'
    + '\n\nIn Iowa, {US-IA.search_warrants} search warrants were executed; currency seized: {US-IA.currency}.');
  await pio.getByRole('button', { name: 'Draft from the current figures' }).click();
  await pio.waitForSelector('#release-status');
  assert.equal((await pio.locator('#release-status').textContent()).trim(), 'draft');
  assert.match(await pio.locator('#statement h2').textContent(), /^102 arrested and \d+ victims rescued/);
  assert.equal(await pio.getByRole('button', { name: 'Approve' }).count(), 0, 'a PIO does not approve');
  const draftUrl = pio.url();
  await accessible(pio, 'a draft release');
  await shot(pio, 'release-draft-phone');

  const deskCtx = await context(browser, DESK);
  const boss = await deskCtx.newPage();
  await signIn(boss, 'commander.mo-ago');
  // Approving with a flag open is refused, with the reason on the page.
  await boss.goto(draftUrl);
  await boss.getByRole('button', { name: 'Approve' }).click();
  await boss.waitForSelector('#problem');
  assert.match(await boss.locator('#problem').textContent(), /flag/i);
  // Every open flag resolved at once from the board, each with the figure that stands, one reason.
  await releasesOf(boss);
  await boss.getByRole('link', { name: 'Resolve them on the board' }).click();
  await boss.waitForSelector('#flag-form');
  const picks = boss.locator('#flag-form fieldset.flag-pick');
  const n = await picks.count();
  assert.ok(n >= 1, 'open flags on the board');
  for (let i = 0; i < n; i++) {
    const pick = picks.nth(i);
    await pick.locator('input[type=checkbox]').check();
    const first = pick.locator('input[type=radio]').first();
    if (await first.count()) await first.check();
  }
  await boss.getByRole('button', { name: 'Resolve the ticked flags' }).click();
  await boss.waitForSelector('#flag-reason-error');
  assert.equal(await boss.locator('#flag-form input[type=checkbox]:checked').count(), n, 'the ticks are kept');
  await boss.getByLabel('Why these are settled').fill('Checked with the state coordinators by phone.');
  await accessible(boss, 'the flag form');
  await shot(boss, 'board-flags-desk');
  await boss.getByRole('button', { name: 'Resolve the ticked flags' }).click();
  await boss.waitForSelector('#notice');
  assert.equal(await boss.locator('#flag-form').count(), 0, 'no flag left open');
  await releasesOf(boss);
  assert.ok(await boss.locator('#no-flags').isVisible());
  await boss.goto(draftUrl);
  await boss.getByRole('button', { name: 'Approve' }).click();
  await boss.waitForFunction(() => document.querySelector('#release-status')?.textContent.trim() === 'approved');
  // Publishing cannot be undone: the box must be ticked first.
  await boss.getByRole('button', { name: 'Publish' }).click();
  assert.equal((await boss.locator('#release-status').textContent()).trim(), 'approved', 'not without the box');
  await boss.getByLabel(/cannot be changed or withdrawn/).check();
  await boss.getByRole('button', { name: 'Publish' }).click();
  await boss.waitForFunction(() => document.querySelector('#release-status')?.textContent.trim() === 'published');
  const publicHref = await boss.locator('#public-link a').getAttribute('href');
  assert.match(publicHref, /^\/public\/united-front-2021\/\d+$/);
  assert.match(await boss.locator('#release-version').textContent(), /^v\d+$/);
  assert.match(await boss.locator('#release-sha').textContent(), /^[0-9a-f]{64}$/);
  assert.equal(await boss.getByRole('button', { name: 'Approve' }).count(), 0);
  assert.equal(await boss.getByRole('button', { name: 'Publish' }).count(), 0);
  assert.ok(await boss.locator('#frozen').isVisible());
  await accessible(boss, 'a published release');
  await shot(boss, 'release-published-desk');
  // Trying anyway (a stale tab, a crafted request): refused, nothing changes.
  const again = await boss.request.post(draftUrl + '/approve', { headers: { origin: BASE } });
  assert.equal(again.status(), 409);
  assert.match(await again.text(), /id="problem"/, 'the page says why');
  await boss.reload();
  assert.equal((await boss.locator('#release-status').textContent()).trim(), 'published');
  // The list of versions says what each differs in from the one published before it.
  await boss.getByRole('link', { name: '← Releases' }).click();
  await boss.waitForSelector('td.changes');
  const changes = await boss.locator('td.changes').allTextContents();
  assert.ok(changes.every((c) => c.trim().length > 0), changes.join(' | '));
  await accessible(boss, 'releases with their changes');
  await boss.goBack();
  // The print-ready page carries the same totals.
  const print = await boss.request.get(draftUrl + '/print');
  assert.equal(print.status(), 200);
  assert.match(await print.text(), /<table/);
  for (const c of [pioCtx, deskCtx]) {
    assert.deepEqual(c.offsite, []);
    await c.close();
  }

  // Everyone reads it with no sign-in, at phone and desk sizes, and prints it.
  for (const [size, name] of [[PHONE, 'phone'], [DESK, 'desk']]) {
    const ctx = await context(browser, size);
    const page = await ctx.newPage();
    const res = await page.goto(`${BASE}/public/united-front-2021`);
    assert.equal(res.status(), 200);
    assert.equal(page.url(), `${BASE}/public/united-front-2021`, 'no redirect to a sign-in');
    assert.match(await page.locator('#headline').textContent(), /^102 arrested and \d+ victims rescued/);
    assert.match(await page.locator('#statement').textContent(), /currency seized: (\$\d{1,3}(,\d{3})* \+ )?amount withheld/);
    assert.match(await page.locator('#sha').textContent(), /^[0-9a-f]{64}$/);
    assert.equal(await page.locator('#release-table tbody tr').count(), 12, 'every state a row');
    assert.match(await page.locator('#release-table tfoot').textContent(), /102/);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= size.viewport.width, `no sideways scrolling on the ${name}: ${width}px`);
    await accessible(page, `the public release (${name})`);
    await shot(page, `public-release-${name}`);
    if (name === 'desk') {
      await page.emulateMedia({ media: 'print' });
      await shot(page, 'public-release-print');
    }
    const json = await page.request.get(`${BASE}/public/united-front-2021?format=json`);
    assert.equal((await json.json()).totals.arrests, 102);
    const missing = await page.request.get(`${BASE}/public/no-such-operation`);
    assert.equal(missing.status(), 404);
    assert.deepEqual(ctx.offsite, []);
    await ctx.close();
  }
});
