// Every page, at phone and desk sizes, for the role it is for: a screenshot
// for a person to look at (e2e/screenshots/walk-*) and the axe WCAG 2.1 AA
// check, with no request leaving 127.0.0.1. The scenarios in the other
// files test behaviour; this walk makes sure no page is left unlooked at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, signIn, shot, accessible, noticeWasSeen, BASE, PHONE, DESK, demoOperationId } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Visits each path as the signed-in user: status below 400, axe clean, a screenshot. */
async function walk(page, size, paths) {
  for (const [name, path] of paths) {
    const res = await page.goto(`${BASE}${path}`);
    assert.ok(res.status() < 400, `${path}: ${res.status()}`);
    await page.waitForLoadState('domcontentloaded');
    await accessible(page, `${name} (${size})`);
    await shot(page, `walk-${name}-${size}`);
  }
}

for (const [size, viewport] of [['phone', PHONE], ['desk', DESK]]) {
  test(`every page passes at ${size} size`, async () => {
    const ctx = await context(browser, viewport);
    // Sign-in pages, before signing in.
    const anon = await ctx.newPage();
    await anon.goto(`${BASE}/login`);
    await accessible(anon, `sign-in (${size})`);
    await shot(anon, `walk-login-${size}`);

    const page = await ctx.newPage();
    if (size === 'phone') {
      // A wrong password first: the next sign-in shows the notice of failed attempts, walked too.
      await anon.goto(`${BASE}/login`);
      await anon.getByLabel('Username').fill('commander.mo-ago');
      await anon.getByLabel('Password').fill('not the password');
      await anon.getByRole('button', { name: 'Sign in' }).click();
      await anon.locator('.error').waitFor();
      await signIn(page, 'commander.mo-ago', '/operations', { fresh: true });
      assert.ok(noticeWasSeen(), 'the notice of failed sign-in attempts was shown and checked');
    } else {
      await signIn(page, 'commander.mo-ago');
    }
    const op = await demoOperationId(page);
    await walk(page, size, [
      ['operations', '/operations'],
      ['operation-new', '/operations/new'],
      ['board', `/operations/${op}`],
      ['board-victims', `/operations/${op}?by=victims`],
      ['tally', `/operations/${op}/tally`],
      ['plan', `/operations/${op}/plan`],
      ['night-sheet', `/operations/${op}/night-sheet`],
      ['events', '/events'],
      ['alerts', '/alerts'],
      ['releases', `/operations/${op}/releases`],
      ['victims', `/operations/${op}/victims`],
      ['coverage', `/operations/${op}/coverage`],
      ['password', '/account/password'],
    ]);
    // A record's page, from the victims list when there is one.
    await page.goto(`${BASE}/operations/${op}/victims`);
    const first = page.locator('a[href^="/results/"]').first();
    if (await first.count()) await walk(page, size, [['result', await first.getAttribute('href')]]);

    // Field entry is an officer's.
    const officer = await (await context(browser, viewport)).newPage();
    await signIn(officer, 'officer.dsm-pd');
    await walk(officer, size, [
      ['records', `/operations/${op}/records`],
      ['record-kinds', `/operations/${op}/record`],
      ['record-arrest', `/operations/${op}/record?kind=arrest`],
      ['record-victim', `/operations/${op}/record?kind=victim`],
      ['record-warrant', `/operations/${op}/record?kind=search_warrant`],
      ['record-business', `/operations/${op}/record?kind=business`],
      ['record-seizure', `/operations/${op}/record?kind=seizure`],
    ]);
    // A record of the officer's agency, and its correction form.
    await officer.goto(`${BASE}/operations/${op}/records`);
    const rec = officer.locator('#records a[href^="/results/"]').first();
    if (await rec.count()) {
      const href = await rec.getAttribute('href');
      await walk(officer, size, [['record-page', href], ['record-correct', `${href}/correct`]]);
    }
    // One of the officer's agency's events, from the events list.
    await officer.goto(`${BASE}/events`);
    const event = officer.locator('a[href^="/events/"]').first();
    if (await event.count()) await walk(officer, size, [['event', await event.getAttribute('href')]]);

    // The victims and a victim's record with the services log are an advocate's.
    const advocate = await (await context(browser, viewport)).newPage();
    await signIn(advocate, 'advocate.mo-ago');
    await walk(advocate, size, [['advocate-victims', `/operations/${op}/victims`]]);
    const victim = advocate.locator('a[href^="/results/"]').first();
    if (await victim.count()) await walk(advocate, size, [['advocate-result', await victim.getAttribute('href')]]);

    const admin = await (await context(browser, viewport)).newPage();
    await signIn(admin, 'admin.mo-ago');
    await walk(admin, size, [
      ['admin-agencies', '/admin/agencies'],
      ['admin-agency-new', '/admin/agencies/new'],
      ['admin-users', '/admin/users'],
      ['admin-audit', '/admin/audit'],
    ]);
    // Not found reads as a page too.
    const missing = await page.goto(`${BASE}/operations/00000000-0000-0000-0000-000000000000`);
    assert.equal(missing.status(), 404);
    await accessible(page, `not found (${size})`);
    await shot(page, `walk-not-found-${size}`);
    assert.deepEqual(ctx.offsite, []);
  });
}
