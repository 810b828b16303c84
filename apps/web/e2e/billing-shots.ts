import path from "node:path";
import type { Page } from "@playwright/test";
import { expect } from "./fixtures";

/** Saves a full-page screenshot of a billing page when STOWAGE_SHOTS_DIR is set (visual review, see screenshots.spec.ts). */
export async function shot(page: Page, name: string): Promise<void> {
  const dir = process.env.STOWAGE_SHOTS_DIR;
  if (!dir) return;
  await expect(page.locator(".animate-pulse")).toHaveCount(0);
  await page.screenshot({ path: path.join(dir, `billing-${name}.png`), fullPage: true });
}
