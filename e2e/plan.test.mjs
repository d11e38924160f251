// A coordinator checks a whole night's plan from a CSV file and reads the
// conflict matrix; an officer prints the night sheet. Both pages pass the
// accessibility check at desk and phone sizes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, signIn, shot, accessible, PHONE, DESK } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const PLAN = [
  'id,agency,unit,kind,lat,lon,radius_m,start,end',
  'W1,MSHP,Troop C,search_warrant,47.0000,-110.0000,200,2030-03-01T22:00:00Z,2030-03-02T02:00:00Z',
  'S1,KCPD,,surveillance,47.0010,-110.0000,200,2030-03-01T23:00:00Z,2030-03-02T01:00:00Z',
  'D1,KCPD,Vice,decoy,47.0005,-110.0005,150,2030-03-01T21:00:00Z,2030-03-01T23:30:00Z',
  '',
].join('\n');

for (const [size, viewport] of [['desk', DESK], ['phone', PHONE]]) {
  test(`a coordinator checks a plan file and an officer prints the night sheet (${size})`, async () => {
    const ctx = await context(browser, viewport);
    const page = await ctx.newPage();
    await signIn(page, 'coordinator.mo-ago');
    await page.getByRole('link', { name: /Operation United Front/ }).first().click();
    await page.getByRole('link', { name: /Check a whole plan/ }).click();
    await page.waitForSelector('#plan-form');
    await page.getByLabel('The plan, a CSV file').setInputFiles({ name: 'night.csv', mimeType: 'text/csv', buffer: Buffer.from(PLAN) });
    await page.getByRole('button', { name: 'Check the plan' }).click();
    await page.waitForSelector('#checked');
    assert.match(await page.locator('#checked').textContent(), /3 rows read: 3 conflicts/);
    assert.equal(await page.locator('#matrix td.hit').count(), 6);
    await accessible(page, `plan check (${size})`);
    await shot(page, `plan-matrix-${size}`);
    assert.deepEqual(ctx.offsite, []);

    const officer = await (await context(browser, viewport)).newPage();
    await signIn(officer, 'officer.dsm-pd');
    await officer.getByRole('link', { name: /Operation United Front/ }).first().click();
    await officer.getByRole('link', { name: /Night sheet to print/ }).click();
    await officer.waitForSelector('.sheet-event');
    assert.ok(await officer.locator('table.duty').count() >= 12);
    await accessible(officer, `night sheet (${size})`);
    await shot(officer, `night-sheet-${size}`);
  });
}
