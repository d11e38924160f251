// A commander signs in (the demo's second step included) and sees Operation
// United Front's board: 12 state rows, the map with 51 state shapes, totals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, signIn, shot, accessible, PHONE, DESK } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

for (const [size, opts, user] of [['desk', DESK, 'commander.mo-ago'], ['phone', PHONE, 'commander.mshp']]) {
  test(`a commander signs in and sees the board (${size})`, async () => {
    const ctx = await context(browser, opts);
    const page = await ctx.newPage();
    await signIn(page, user);
    await accessible(page, 'operations list');
    await shot(page, `operations-${size}`);
    await page.getByRole('link', { name: /Operation United Front/ }).first().click();
    await page.waitForSelector('svg.map');
    assert.equal(await page.locator('table.rows tbody tr').count(), 12, 'every participating state is a row');
    assert.equal(await page.locator('svg.map use.state').count(), 51, 'the 50 states and DC');
    assert.equal(await page.locator('svg.map-shapes path').count(), 51);
    assert.equal((await page.locator('#total-arrests').textContent()).trim(), '102');
    assert.equal((await page.locator('#total-victims').textContent()).trim(), '47');
    await assert.doesNotReject(page.getByText('Signed in as').first().waitFor());
    // The map is drawn: Iowa's shape has a real size on screen.
    const box = await page.locator('svg.map use[data-fips="19"]').boundingBox();
    assert.ok(box && box.width > 10 && box.height > 5, `Iowa drawn: ${JSON.stringify(box)}`);
    await accessible(page, 'operation board');
    await shot(page, `board-${size}`);
    await page.locator('svg.map').screenshot({ path: new URL(`./screenshots/board-map-${size}.png`, import.meta.url).pathname });
    assert.deepEqual(ctx.offsite, [], 'no request left 127.0.0.1');
    await ctx.close();
  });
}

test('the sign-in page works at phone size and passes the accessibility check', async () => {
  const ctx = await context(browser, PHONE);
  const page = await ctx.newPage();
  await page.goto(`${process.env.BASE_URL}/login`);
  await accessible(page, 'sign-in');
  await shot(page, 'login-phone');
  await page.getByLabel('Username').fill('commander.mo-ago');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('.error');
  assert.equal(await page.getByLabel('Username').inputValue(), 'commander.mo-ago', 'what was typed stays');
  await accessible(page, 'sign-in with an error');
  assert.deepEqual(ctx.offsite, []);
  await ctx.close();
});
