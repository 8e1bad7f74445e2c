// Two people in the chat page, in headless Chromium: each joins, one speaks, the other
// hears, then one leaves. Usage: node chat.mjs <page url> <screenshot path>.
// Prints one line per step; exits non-zero, with the reason, on the first failure.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, screenshot] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error("usage: node chat.mjs <page url> <screenshot path>");
  process.exit(2);
}

const profile = mkdtempSync(join(tmpdir(), "ratchet-chromium-"));
// A fresh, empty profile: Playwright passes it as --user-data-dir.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 900, height: 620 },
  timeout: 30_000,
});

const step = (what) => console.log(`ok ${what}`);
const timeout = 10_000;

try {
  const errors = [];
  const open = async (name) => {
    const page = await context.newPage();
    page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
    await page.goto(url, { timeout });
    await page.fill("#name", name);
    await page.click("#join button");
    await page.waitForSelector(`#status.online`, { timeout });
    step(`${name} joined`);
    return page;
  };
  const sees = async (page, who, text) => {
    await page.locator("#log li", { hasText: text }).first().waitFor({ timeout });
    step(`${who} sees "${text}"`);
  };

  const ann = await open("ann");
  const bob = await open("bob");
  await sees(ann, "ann", "bob joined");
  await sees(bob, "bob", "Here: ann");

  await ann.fill("#text", "hello from ann");
  await ann.press("#text", "Enter");
  await sees(bob, "bob", "hello from ann");

  await bob.fill("#text", "hi ann, bob here");
  await bob.click("#say button");
  await sees(ann, "ann", "hi ann, bob here");

  await bob.close();
  await sees(ann, "ann", "bob left");
  const here = await ann.locator("#here li").allTextContents();
  if (here.join("|") !== "ann (you)") throw new Error(`ann's list of who is here: ${here}`);
  step("ann is alone");

  await ann.screenshot({ path: screenshot });
  step(`screenshot ${screenshot}`);
  if (errors.length) throw new Error(`errors in the page: ${errors.join("; ")}`);
} catch (e) {
  console.error(`FAILED: ${e.message}`);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
