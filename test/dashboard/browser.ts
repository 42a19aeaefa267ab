// Headless Chromium for the dashboard's end-to-end tests: Debian's /usr/bin/chromium driven by
// playwright-core (never a browser download). Records dialogs, page errors and console errors so a
// test can assert that hostile payloads stayed inert, and saves screenshots to a directory.

import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(chromiumPath);
}

/** Where screenshots go: DASHBOARD_SCREENSHOTS_DIR, else a fresh temp dir (the caller removes it). */
export function screenshotsDir(): { dir: string; temporary: boolean } {
  const fromEnv = process.env.DASHBOARD_SCREENSHOTS_DIR;
  if (fromEnv) {
    mkdirSync(fromEnv, { recursive: true });
    return { dir: fromEnv, temporary: false };
  }
  return { dir: mkdtempSync(join(tmpdir(), 'cg-dashboard-shots-')), temporary: true };
}

export class DashboardBrowser {
  readonly dialogs: string[] = [];
  readonly pageErrors: string[] = [];
  readonly consoleErrors: string[] = [];
  readonly shots: string[] = [];

  private constructor(
    private readonly browser: Browser,
    private readonly context: BrowserContext,
    readonly page: Page,
    readonly baseUrl: string,
    private readonly shotsDir: string,
  ) {}

  static async launch(baseUrl: string, shotsDir: string): Promise<DashboardBrowser> {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [...(isRoot ? ['--no-sandbox'] : []), '--disable-gpu', '--disable-dev-shm-usage'],
    });
    try {
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
      const page = await context.newPage();
      const b = new DashboardBrowser(browser, context, page, baseUrl, shotsDir);
      page.on('dialog', (d) => {
        b.dialogs.push(`${d.type()}: ${d.message()}`);
        void d.dismiss();
      });
      page.on('pageerror', (e) => b.pageErrors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') b.consoleErrors.push(m.text());
      });
      page.setDefaultTimeout(15_000);
      return b;
    } catch (e) {
      await browser.close();
      throw e;
    }
  }

  /** Loads `path` as a fresh navigation (a reload of a shared URL). */
  async open(path: string): Promise<void> {
    await this.page.goto(this.baseUrl + path, { waitUntil: 'domcontentloaded' });
  }

  /** The element with data-testid `id` (Playwright locator). */
  byTestId(id: string) {
    return this.page.locator(`[data-testid="${id}"]`);
  }

  async shot(name: string): Promise<string> {
    const file = join(this.shotsDir, `${name}.png`);
    await this.page.screenshot({ path: file, fullPage: false });
    this.shots.push(file);
    return file;
  }

  /** Whether a script from a payload ran: `window.__pwned` set. */
  async pwned(): Promise<unknown> {
    return this.page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned);
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => {});
    await this.browser.close();
  }
}
