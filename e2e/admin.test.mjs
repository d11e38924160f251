// An administrator opens the users (and changes one's name and roles), the agencies (an import with a bad row,
// one added and changed on its form) and the audit log from the header: the chain's state is shown, the log
// filters, and every page passes the accessibility check at both sizes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, signIn, shot, accessible, PHONE, DESK, menu } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

for (const [size, viewport] of [['desk', DESK], ['phone', PHONE]]) {
  test(`an administrator reads and changes the users, imports agencies and reads the audit log (${size})`, async () => {
    const ctx = await context(browser, viewport);
    const page = await ctx.newPage();
    await signIn(page, 'admin.mo-ago');
    await menu(page, 'Users');
    await page.waitForSelector('#users');
    assert.ok(await page.getByRole('rowheader', { name: 'officer.dsm-pd' }).count() >= 1);
    await accessible(page, `users (${size})`);
    await shot(page, `admin-users-${size}`);

    // Change a user's name and roles on their page; the list shows it.
    await page.getByRole('link', { name: 'Change officer.ky-demo' }).click();
    await page.waitForSelector('#edit-user');
    await page.getByLabel('Full name').fill(`Officer Kentucky ${size}`);
    await page.getByLabel('analyst').check();
    await accessible(page, `change a user (${size})`);
    await shot(page, `admin-user-${size}`);
    await page.getByRole('button', { name: 'Save the changes' }).click();
    await page.waitForSelector('#updated');
    const row = page.getByRole('row', { name: /officer\.ky-demo/ });
    assert.match(await row.textContent(), new RegExp(`Officer Kentucky ${size}.*officer, analyst`));

    await menu(page, 'Agencies');
    await page.waitForSelector('#agencies');
    await page.getByText('Import agencies from a CSV file').click();
    await page.getByLabel('CSV file').setInputFiles({
      name: 'agencies.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('name,short_name,kind,home_state,duty_phone\nNo State Agency,nostate,municipal,Atlantis,+1 816 555 0199\n'),
    });
    await page.getByRole('button', { name: 'Import' }).click();
    await page.waitForSelector('#bad-rows');
    assert.match(await page.locator('#import-report').textContent(), /nothing was written/);
    await accessible(page, `agencies with an import report (${size})`);
    await shot(page, `admin-agencies-${size}`);

    // One agency on its form: a mistake said in the form's words, then saved, then changed.
    await page.getByRole('link', { name: 'Add an agency' }).click();
    await page.waitForSelector('#agency-form');
    const name = `Grain Valley Police Department ${size}`;
    await page.getByLabel('Full name').fill(name);
    await page.getByLabel(/^Short name/).fill(`grain-valley-${size}`);
    await page.getByLabel('Kind').selectOption('municipal');
    await page.getByLabel('Phone answered around the clock').fill('+1 816 555 0142');
    await page.getByRole('button', { name: 'Add the agency' }).click();
    await page.waitForSelector('#home_state-error');
    assert.equal((await page.locator('#home_state-error').textContent()).trim(), 'Choose a state');
    assert.equal(await page.getByLabel('Full name').inputValue(), name, 'what was typed stays');
    await accessible(page, `new agency with an error (${size})`);
    await shot(page, `admin-agency-form-${size}`);
    await page.getByLabel('Home state').selectOption('US-MO');
    await page.getByRole('button', { name: 'Add the agency' }).click();
    await page.waitForSelector('#agency-saved');
    await page.getByRole('link', { name: `Change ${name}` }).click();
    await page.waitForSelector('#agency-form');
    await page.getByLabel('Who answers').fill('Night sergeant');
    await page.getByRole('button', { name: 'Save the changes' }).click();
    await page.waitForSelector('#agency-saved');
    assert.match(await page.getByRole('row', { name: new RegExp(name) }).textContent(), /Night sergeant/);

    await menu(page, 'Audit log');
    await page.waitForSelector('#chain');
    assert.match(await page.locator('#chain').textContent(), /Intact: all \d+ records verified/);
    await page.getByLabel('Outcome').selectOption('success');
    await page.getByLabel('Action starts with').fill('session.');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForSelector('#audit');
    const outcomes = await page.locator('#audit tbody td:nth-child(6)').allTextContents();
    assert.ok(outcomes.length > 0 && outcomes.every((o) => o === 'success'), outcomes.join(','));
    const actions = await page.locator('#audit tbody td:nth-child(4)').allTextContents();
    assert.ok(actions.every((a) => a.startsWith('session.')), actions.join(','));
    await accessible(page, `audit log (${size})`);
    await shot(page, `admin-audit-${size}`);
    assert.deepEqual(ctx.offsite, []);
  });
}
