// Shared helpers for the browser tests: Debian's Chromium through
// playwright-core, a guard that fails any request leaving 127.0.0.1, the
// demo sign-in with its second step, screenshots, and the axe check.
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

export const BASE = process.env.BASE_URL;
export const PASSWORD = process.env.DEMO_PASSWORD;
if (!BASE || !PASSWORD) throw new Error('run through e2e/run.sh: BASE_URL and DEMO_PASSWORD are set there');

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
export const DESK = { viewport: { width: 1280, height: 900 } };

export async function launch() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
}

/** A context whose every request must stay on 127.0.0.1; `offsite` collects any that did not. */
export async function context(browser, size) {
  const ctx = await browser.newContext(size);
  ctx.offsite = [];
  await ctx.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
    ctx.offsite.push(url.href);
    return route.abort();
  });
  return ctx;
}

let noticeSeen = false;

/** Whether a sign-in in this file met the notice of failed attempts (and checked it). */
export function noticeWasSeen() {
  return noticeSeen;
}

/** Where a user's session cookies are kept between test files (run.sh sets it). */
const SESSIONS = process.env.E2E_SESSIONS;

/** Signs in on the page, with the demo's second step (the code banner). A
 * code is good once: when the same user signed in within the same 30-second
 * step, the code is refused as a replay, so this waits for the next step.
 * The first sign-in of each user in a run goes through both steps; later
 * ones reuse that session's cookies (as a browser that stayed signed in
 * does) unless `fresh` is set or the session is gone, which spares the
 * wait for a new code each time. */
export async function signIn(page, username, next = '/operations', { fresh = false } = {}) {
  const kept = SESSIONS && path.join(SESSIONS, `${username}.json`);
  if (!fresh && kept && fs.existsSync(kept)) {
    await page.context().addCookies(JSON.parse(fs.readFileSync(kept, 'utf8')));
    await page.goto(`${BASE}${next}`);
    if (!new URL(page.url()).pathname.startsWith('/login')) return;
    await page.context().clearCookies();
  }
  await fullSignIn(page, username, next);
  if (kept) fs.writeFileSync(kept, JSON.stringify(await page.context().cookies()), { mode: 0o600 });
}

async function fullSignIn(page, username, next) {
  await page.goto(`${BASE}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/login\/(code|enrol)/);
  if (!page.url().includes('/login/code')) {
    throw new Error(`${username} must enrol a factor first; the demo enrols every user`);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    const code = (await page.locator('.demo-code strong').textContent()).trim();
    assert.match(code, /^\d{6}$/);
    await page.getByLabel(/6-digit code/).fill(code);
    await page.getByRole('button', { name: 'Continue' }).click();
    const outcome = await Promise.race([
      page.waitForURL((u) => !u.pathname.startsWith('/login')).then(() => 'in'),
      page.locator('.error').waitFor().then(() => 'refused'),
    ]);
    if (outcome === 'in') {
      // Failed attempts since the last sign-in (a replayed code counts) are
      // shown once, before anything else: read, then go on.
      if (new URL(page.url()).pathname === '/account/notice') {
        assert.match(await page.locator('#failed-attempts').textContent(), /failed sign-in attempts? on your account/);
        if (!noticeSeen) {
          noticeSeen = true;
          await accessible(page, 'the failed sign-in notice');
          await shot(page, 'account-notice');
        }
        await page.getByRole('link', { name: 'Go on' }).click();
        await page.waitForURL((u) => u.pathname !== '/account/notice');
      }
      return;
    }
    // Wait for the next code: fresh code pages until the banner shows another one.
    await expectNewCode(page, code, next);
  }
  throw new Error(`second step refused for ${username}: ${await page.locator('.error').textContent()}`);
}

/** Reloads the code page until the demo banner shows a code other than `used` (at most 40 s). */
async function expectNewCode(page, used, next) {
  const deadline = Date.now() + 40000;
  for (;;) {
    await page.goto(`${BASE}/login/code?next=${encodeURIComponent(next)}`);
    const code = (await page.locator('.demo-code strong').textContent()).trim();
    if (code !== used) return;
    if (Date.now() > deadline) throw new Error('the demo code did not change within 40 s');
    // The banner is rendered by the server: ask again once the page has settled.
    await page.waitForLoadState('networkidle');
  }
}

/** Saves a full-page screenshot under e2e/screenshots/ for a person to look at. */
export async function shot(page, name) {
  await page.screenshot({ path: new URL(`./screenshots/${name}.png`, import.meta.url).pathname, fullPage: true });
}

/** WCAG 2.1 AA by axe: fails with the violations listed. */
export async function accessible(page, what) {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const list = r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(list, [], `${what}: accessibility violations`);
}

/** The demo operation's id, from the operations list. */
export async function demoOperationId(page) {
  await page.goto(`${BASE}/operations`);
  const href = await page.getByRole('link', { name: /Operation United Front/ }).first().getAttribute('href');
  return href.split('/').pop();
}

/** Follows a link of the main menu, opening the phone's folded menu first. */
export async function menu(page, name) {
  const toggle = page.locator('.menu-toggle');
  if (await toggle.isVisible() && (await toggle.getAttribute('aria-expanded')) === 'false') await toggle.click();
  await page.locator('#main-nav').getByRole('link', { name, exact: true }).click();
}
