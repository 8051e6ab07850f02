/**
 * One headless Chromium (chosen by ./chromium.ts, never a downloaded one) for all browser scenarios
 * of a file, with a fresh profile, and the page's screenshots under test/artifacts/ for a person to
 * look at.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { ROOT } from '../../tools/harness.js';
import { launchChromium } from './chromium.js';

export const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'ta-defender-xdr-chromium-'));
  const context = await launchChromium(profile, { width: 1280, height: 900 });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}
