import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildConsole, consoleAssetSizes, findChromium, launchChromium } from '../utils/console-browser.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * The console in a real browser (Debian's Chromium through playwright-core): an admin signs in,
 * makes a key, sees its requests with their cost and previews, the chart change, revokes the key
 * and its session ends; a team key cannot reach the admin pages; every page fits 390 px and works
 * from the keyboard; nothing is fetched from another origin. Screenshots and the measurements
 * (asset sizes, time to first render) go to test-output/console/.
 */
const chromium = findChromium();
/** Set by .ci/run: there, a missing browser fails the tests instead of skipping them. */
const browserRequired = process.env.EASEL_REQUIRE_BROWSER === '1';
if (!chromium && !browserRequired) {
  process.stderr.write(
    'console browser tests skipped: no Chromium at /usr/bin/chromium (apt-get install -y chromium, or set CHROMIUM_PATH)\n',
  );
}
const describeWithBrowser = chromium || browserRequired ? describe : describe.skip;

/** What the functions run in the page use of the browser (this file compiles against Node's types). */
declare const document: {
  documentElement: { scrollWidth: number };
  activeElement: { textContent: string | null } | null;
};
declare const window: { innerWidth: number };
interface PageImage {
  naturalWidth: number;
  naturalHeight: number;
}
interface PageControl {
  labels?: { length: number } | null;
  textContent: string | null;
  outerHTML: string;
  getAttribute(name: string): string | null;
  closest(selector: string): unknown;
}
interface PageDocument {
  querySelectorAll(selector: string): Iterable<PageControl>;
}
interface PageNavigator {
  clipboard: { readText(): Promise<string> };
}

const OUTPUT = join(process.cwd(), 'test-output', 'console');
const LOCAL = 'local/easel/sketch';
const PAGES = ['overview', 'teams', 'keys', 'requests', 'models'] as const;

describeWithBrowser('console in Chromium', () => {
  let app: TestApp;
  let browser: Browser;
  let assets: string;
  const contexts: BrowserContext[] = [];
  /** Every URL a page of the test asked for, and every script error: checked after each test. */
  const requested: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!chromium) throw new Error('EASEL_REQUIRE_BROWSER=1 but no Chromium at /usr/bin/chromium (or CHROMIUM_PATH)');
    mkdirSync(OUTPUT, { recursive: true });
    assets = await mkdtemp(join(tmpdir(), 'easel-console-'));
    buildConsole(assets);
    app = await createTestApp({ env: { EASEL_CONSOLE_DIR: assets, CONSOLE_THUMBNAILS: 'true' } });
    // Priced, so that the requests below cost something to see.
    const priced = await app.http(`/admin/pricing/${encodeURIComponent(LOCAL)}`, {
      method: 'PUT',
      key: app.adminKey,
      body: { per_image: '0.04' },
    });
    expect(priced.status).toBe(200);
    const team = await app.http('/admin/teams', {
      key: app.adminKey,
      body: { name: 'growth', monthly_budget_usd: '50' },
    });
    expect(team.status).toBe(201);
    browser = await launchChromium(chromium!);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    await browser?.close();
    await app?.close();
    if (assets) await rm(assets, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(pageErrors).toEqual([]);
    const foreign = requested.filter((url) => !url.startsWith(app.baseUrl) && !url.startsWith('data:'));
    expect(foreign).toEqual([]);
  });

  async function newPage(width: number, height = 900): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('request', (request) => requested.push(request.url()));
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // What the Content-Security-Policy blocked (an inline style or script, another origin) is logged here.
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) pageErrors.push(message.text());
    });
    return page;
  }

  /** Signs in from the keyboard alone: the key typed into the focused field, Enter. */
  async function signIn(page: Page, key: string): Promise<void> {
    await page.goto(`${app.baseUrl}/console`);
    await page.getByLabel('API key').focus();
    await page.keyboard.type(key);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  }

  async function openPage(page: Page, name: (typeof PAGES)[number]): Promise<void> {
    await page.goto(`${app.baseUrl}/console${name === 'overview' ? '' : `/${name}`}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
  }

  const chartOf = (page: Page) => page.locator('.chart-canvas canvas').first();
  const screenshot = (page: Page, name: string) =>
    page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: true });

  it('lets an admin make a key, see its requests with cost and previews, see the chart change, and revoke it', async () => {
    const admin = await newPage(1280);
    await signIn(admin, app.adminKey!);
    await chartOf(admin).waitFor();
    const chartBefore = await chartOf(admin).screenshot();

    // Make a key: the secret is shown once, and the copy button puts it on the clipboard.
    await admin.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.baseUrl });
    await admin.getByRole('link', { name: 'Keys' }).click();
    await admin.getByRole('button', { name: 'New key' }).click();
    const form = admin.getByRole('dialog', { name: 'New key' });
    await form.getByLabel('Name').fill('banner-service');
    await form.getByLabel('Team').selectOption('growth');
    await form.getByLabel('Monthly budget (USD)').fill('20');
    await form.getByRole('button', { name: 'Create key' }).click();
    const shown = admin.getByRole('dialog', { name: 'Copy the key now' });
    const secret = await shown.getByLabel('Secret key').inputValue();
    expect(secret).toMatch(/^sk-easel-/);
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByText('Copied to the clipboard.').waitFor();
    expect(await admin.evaluate(() => (navigator as unknown as PageNavigator).clipboard.readText())).toBe(secret);
    await shown.getByRole('button', { name: 'Done' }).click();
    await admin.getByRole('row', { name: /banner-service/ }).waitFor();

    // Requests with it: two images each, at $0.04 an image.
    const requestIds: string[] = [];
    for (const prompt of ['a red fox in the snow', 'a lighthouse at dusk']) {
      const response = await app.http('/v1/images/generations', {
        key: secret,
        body: { model: LOCAL, prompt, size: '1536x1024', n: 2 },
      });
      expect(response.status).toBe(200);
      requestIds.push(response.headers.get('x-request-id')!);
    }
    // Records are written in batches: wait until both are stored.
    const stored = await waitFor(
      async () => (await (await app.http(`/admin/usage/records?limit=10`, { key: app.adminKey })).json()) as any,
      (page) => requestIds.every((id) => page.data.some((record: any) => record.request_id === id)),
    );

    // The request log: the newest request first, with its cost; opened, its id, route and previews.
    await admin.getByRole('link', { name: 'Requests' }).click();
    const row = admin.locator('table.requests tbody tr').filter({ hasText: 'banner-service' }).first();
    await row.waitFor();
    expect(await row.textContent()).toContain('$0.08');
    await row.getByRole('button').click();
    const detail = admin.locator('tr.detail');
    await detail.getByText(requestIds[1]!).waitFor();
    expect(await detail.textContent()).toMatch(/Cost\$0\.08/);
    const thumbnails = detail.locator('img.thumbnail');
    await waitFor(
      () => thumbnails.evaluateAll((images) => images.map((image) => (image as unknown as PageImage).naturalWidth)),
      (widths) => widths.length === 2 && widths.every((width) => width > 0),
    );
    // 1536×1024 shrunk to fit 128 px: 128×85.
    const sizes = await thumbnails.evaluateAll((images) =>
      images.map((image) => [
        (image as unknown as PageImage).naturalWidth,
        (image as unknown as PageImage).naturalHeight,
      ]),
    );
    expect(sizes).toEqual([
      [128, 85],
      [128, 85],
    ]);
    await screenshot(admin, 'requests-1280');

    // The overview: this month's spend, and the chart's bars changed.
    await admin.getByRole('link', { name: 'Overview' }).click();
    await admin.getByText('$0.16').first().waitFor();
    await admin.getByRole('row', { name: /banner-service/ }).waitFor();
    const chartAfter = await chartOf(admin).screenshot();
    expect(chartAfter.equals(chartBefore)).toBe(false);
    await screenshot(admin, 'overview-1280');
    await admin.getByText('The numbers').click();
    const today = (stored.data as any[]).find((record) => record.request_id === requestIds[1]).created_at.slice(0, 10);
    expect(await admin.getByRole('row', { name: new RegExp(today) }).textContent()).toContain('$0.16');

    // The request log filtered: no errors among them; the key's own requests.
    await admin.getByRole('link', { name: 'Requests' }).click();
    await admin.getByLabel('Status').selectOption('error');
    await admin.getByText('No requests match.').waitFor();
    await admin.getByLabel('Status').selectOption('');
    const keys = ((await (await app.http('/admin/keys', { key: app.adminKey })).json()) as any).data;
    await admin
      .getByRole('combobox', { name: /^Key\b/ })
      .selectOption(keys.find((key: any) => key.name === 'banner-service').id);
    await waitFor(
      () => admin.locator('table.requests tbody tr:not(.detail)').allTextContents(),
      (rows) => rows.length === 2 && rows.every((text) => text.includes('banner-service')),
    );

    // The team's budget bar shows what the key spent; the key's limits are edited in place.
    await admin.getByRole('link', { name: 'Teams' }).click();
    const meter = admin.getByRole('meter', { name: 'Budget of growth' });
    await waitFor(
      () => meter.getAttribute('aria-valuenow'),
      (value) => value === '0.16',
    );
    await admin.getByRole('link', { name: 'Keys' }).click();
    await admin.getByRole('button', { name: 'Edit banner-service' }).click();
    const edit = admin.getByRole('dialog', { name: 'Edit banner-service' });
    await edit.getByLabel('Requests per minute').fill('30');
    await edit.getByRole('button', { name: 'Save' }).click();
    await admin
      .getByRole('row', { name: /banner-service/ })
      .getByText('30 rpm')
      .waitFor();
    expect(((await (await app.http('/admin/keys', { key: app.adminKey })).json()) as any).data).toContainEqual(
      expect.objectContaining({ name: 'banner-service', rpm: 30, monthly_budget_usd: '20' }),
    );

    // The models: the price in force and its history (the catalogue's, then the one set above).
    await admin.getByRole('link', { name: 'Models' }).click();
    const model = admin.getByRole('article', { name: LOCAL });
    await model.getByRole('button', { name: 'Price history' }).click();
    await waitFor(
      () => model.locator('table').last().locator('tbody tr').allTextContents(),
      (rows) => rows.length === 2 && rows[0]!.startsWith('v2') && rows[0]!.includes('0.04'),
    );

    // The key's own session (a team's, read-only) sees its team's requests.
    const team = await newPage(390, 844);
    await signIn(team, secret);
    await openPage(team, 'requests');
    await team.locator('table.requests tbody tr').filter({ hasText: '$0.08' }).first().waitFor();

    // Revoked from the Keys page, after a confirmation: the key's session ends within seconds.
    await admin.getByRole('link', { name: 'Keys' }).click();
    await admin.getByRole('button', { name: 'Revoke banner-service' }).click();
    const confirm = admin.getByRole('dialog', { name: 'Revoke this key?' });
    await confirm.getByRole('button', { name: 'Revoke key' }).click();
    await admin.getByRole('row', { name: /banner-service/ }).waitFor({ state: 'detached' });
    await waitFor(
      async () => {
        await team
          .getByRole('button', { name: 'Refresh' })
          .click({ timeout: 1000 })
          .catch(() => undefined);
        return team.getByText(/Your session has ended/).isVisible();
      },
      (ended) => ended,
      15_000,
    );
    await team.getByLabel('API key').waitFor();
    const revoked = await app.http('/v1/models', { key: secret });
    expect(revoked.status).toBe(401);
  });

  it('drops a page of the request log that arrives after the filters changed', async () => {
    const created = await app.http('/admin/keys', {
      key: app.adminKey,
      body: { name: 'pager', team: 'growth', rpm: 1000 },
    });
    const pager = (await created.json()) as { id: string; key: string };
    // 51 requests: the log's first page holds 50, so there is a next one.
    for (let index = 0; index < 51; index++) {
      const response = await app.http('/v1/images/generations', {
        key: pager.key,
        body: { model: LOCAL, prompt: `tile ${index}`, size: '256x256' },
      });
      expect(response.status).toBe(200);
    }
    await waitFor(
      async () =>
        (
          (await (
            await app.http(`/admin/usage/records?api_key=${pager.id}&limit=60`, { key: app.adminKey })
          ).json()) as any
        ).data.length,
      (stored) => stored === 51,
    );
    const page = await newPage(1280);
    await signIn(page, app.adminKey!);
    await openPage(page, 'requests');
    await page.locator('table.requests tbody tr').nth(49).waitFor();

    // The next page is held on its way while the filter changes to one nothing matches.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(/\/admin\/usage\/records\?.*cursor=/, async (route) => {
      await held;
      await route.continue();
    });
    await page.getByRole('button', { name: 'Load 50 more' }).click();
    await page.getByRole('combobox', { name: /^Endpoint/ }).selectOption('chat');
    await page.getByText('No requests match.').waitFor();
    const arrived = page.waitForResponse(/cursor=/);
    release();
    await arrived;
    await page.getByRole('button', { name: 'Refresh' }).focus(); // a step of the page after the late answer
    expect(await page.locator('table.requests tbody tr', { hasText: 'pager' }).count()).toBe(0);
    expect(await page.getByText('No requests match.').isVisible()).toBe(true);
  });

  it('keeps a team key out of the admin pages', async () => {
    const created = await app.http('/admin/keys', { key: app.adminKey, body: { name: 'reporting', team: 'growth' } });
    const { key } = (await created.json()) as { key: string };
    const team = await newPage(1280);
    await signIn(team, key);
    const nav = team.getByRole('navigation', { name: 'Console' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Overview', 'Requests', 'Models']);
    for (const name of ['teams', 'keys'] as const) {
      await openPage(team, name);
      await team.getByText('This page is for admins').waitFor();
    }
    // And the API itself refuses the session on /admin, whatever the page shows.
    const status = await team.evaluate(async () => (await fetch('/admin/keys')).status);
    expect(status).toBe(403);
    await openPage(team, 'overview');
    await chartOf(team).waitFor();
  });

  it('fits every page into 390 px and works from the keyboard', async () => {
    const phone = await newPage(390, 844);
    await signIn(phone, app.adminKey!);
    for (const name of PAGES) {
      await openPage(phone, name);
      await phone.waitForLoadState('networkidle');
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect({ page: name, overflow }).toEqual({ page: name, overflow: 0 });
      // Every control has a name a screen reader can say.
      const unnamed = await phone.evaluate(() =>
        [...(document as unknown as PageDocument).querySelectorAll('input, select, button, a[href]')]
          .filter((control) => !control.closest('dialog:not([open])'))
          .filter(
            (control) => !(control.labels?.length || control.getAttribute('aria-label') || control.textContent?.trim()),
          )
          .map((control) => control.outerHTML.slice(0, 80)),
      );
      expect({ page: name, unnamed }).toEqual({ page: name, unnamed: [] });
      await screenshot(phone, `${name}-390`);
    }
    // The menu opens from the keyboard; following a link moves the focus to the new page's heading.
    await openPage(phone, 'overview');
    const menu = phone.getByRole('button', { name: 'Menu' });
    await menu.focus();
    await phone.keyboard.press('Enter');
    expect(await menu.getAttribute('aria-expanded')).toBe('true');
    await phone.getByRole('link', { name: 'Keys' }).focus();
    await phone.keyboard.press('Enter');
    await phone.getByRole('heading', { level: 1, name: 'Keys' }).waitFor();
    expect(await phone.evaluate(() => document.activeElement?.textContent)).toBe('Keys');
    // A dialog opened from the keyboard closes with Escape.
    // (Enabled once the page has read the teams a key can belong to.)
    const newKey = phone.getByRole('button', { name: 'New key' });
    await waitFor(
      () => newKey.isEnabled(),
      (enabled) => enabled,
    );
    await newKey.focus();
    await phone.keyboard.press('Enter');
    await phone.getByRole('dialog', { name: 'New key' }).waitFor();
    await phone.keyboard.press('Escape');
    await phone.getByRole('dialog', { name: 'New key' }).waitFor({ state: 'hidden' });
  });

  it('renders the overview soon after a load, from assets of a known size (measured)', async () => {
    const page = await newPage(1280);
    await signIn(page, app.adminKey!);
    const times: number[] = [];
    for (let run = 0; run < 5; run++) {
      await page.reload();
      // The mark is set once the cards and the chart both have their data.
      await page.waitForFunction(() => performance.getEntriesByName('easel:overview-ready').length > 0);
      times.push(
        await page.evaluate(() => performance.getEntriesByName('easel:overview-ready')[0]?.startTime ?? Number.NaN),
      );
    }
    expect(times.every((time) => Number.isFinite(time) && time > 0)).toBe(true);
    const sizes = consoleAssetSizes(assets);
    const sorted = [...times].sort((a, b) => a - b);
    const measured = {
      time_to_first_render_ms: { median: sorted[2], runs: times.map((time) => Math.round(time)) },
      assets_gzip_bytes: sizes.gzipTotal,
      assets: sizes.files,
    };
    writeFileSync(join(OUTPUT, 'measurements.json'), `${JSON.stringify(measured, null, 2)}\n`);
    process.stderr.write(
      `console: ${sizes.gzipTotal} bytes of assets gzipped; overview rendered with data ${Math.round(sorted[2]!)} ms after navigation (median of 5)\n`,
    );
  });
});
