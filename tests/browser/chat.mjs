// Three people in the chat page, one per browser engine: ann in Chromium (playwright-core),
// bob in Firefox ESR (puppeteer-core over WebDriver BiDi), cy in WebKitGTK's MiniBrowser
// (selenium-webdriver through WebKitWebDriver; run under xvfb-run). Each joins, each
// speaks and the other two hear, then cy leaves.
//
// Usage: node chat.mjs <page url> <screenshot folder> [<CA pem> <leaf pem>]
//
// Over https://, each engine trusts the test certificate the way it allows, never by
// ignoring certificate errors: Chromium one certificate by its SPKI hash, Firefox the CA
// in its profile's NSS database (certutil), WebKit the leaf for that host.
//
// Prints one line per step; exits non-zero, with the reason, on the first failure.
import { chromium } from "playwright-core";
import { chromiumArgs, chromiumPath } from "./chromium.mjs";
import puppeteer from "puppeteer-core";
import { Builder, By } from "selenium-webdriver";
import { execFileSync, spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, shots, ca, leaf] = process.argv.slice(2);
if (!url || !shots) {
  console.error("usage: node chat.mjs <page url> <screenshot folder> [<CA pem> <leaf pem>]");
  process.exit(2);
}
const secure = url.startsWith("https:");
if (secure && !(ca && leaf)) {
  console.error("an https:// page needs the CA and the leaf certificate");
  process.exit(2);
}
const timeout = 15_000;
const step = (what) => console.log(`ok ${what}`);
const cleanup = [];
const folder = (prefix) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

// Each engine behind the same small interface: goto, type, click, value (of a page
// expression), screenshot, close.

async function chromiumPage() {
  const args = chromiumArgs();
  if (secure) {
    const spki = new X509Certificate(readFileSync(leaf)).publicKey.export({
      type: "spki",
      format: "der",
    });
    const hash = createHash("sha256").update(spki).digest("base64");
    args.push(`--ignore-certificate-errors-spki-list=${hash}`);
  }
  const context = await chromium.launchPersistentContext(folder("ratchet-chromium-"), {
    executablePath: chromiumPath,
    args,
    viewport: { width: 900, height: 620 },
    timeout: 30_000,
  });
  cleanup.push(() => context.close());
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  return {
    engine: "Chromium",
    errors,
    goto: (u) => page.goto(u, { timeout }),
    type: (sel, text) => page.fill(sel, text),
    click: (sel) => page.click(sel),
    value: (expr) => page.evaluate(expr),
    screenshot: (path) => page.screenshot({ path }),
    close: () => context.close(),
  };
}

async function firefoxPage() {
  const profile = folder("ratchet-firefox-");
  if (secure) {
    execFileSync("certutil", ["-N", "-d", `sql:${profile}`, "--empty-password"]);
    execFileSync("certutil", ["-A", "-d", `sql:${profile}`, "-n", "ratchet test CA", "-t", "C,,", "-i", ca]);
  }
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: process.env.FIREFOX || "/usr/bin/firefox-esr",
    headless: true,
    userDataDir: profile,
    timeout: 60_000,
  });
  cleanup.push(() => browser.close());
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 620 });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  return {
    engine: "Firefox",
    errors,
    goto: (u) => page.goto(u, { timeout }),
    type: async (sel, text) => {
      await page.$eval(sel, (e) => (e.value = ""));
      await page.type(sel, text);
    },
    click: (sel) => page.click(sel),
    value: (expr) => page.evaluate(expr),
    screenshot: (path) => page.screenshot({ path }),
    close: () => browser.close(),
  };
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function webkitPage() {
  const port = await freePort();
  const driverProcess = spawn(process.env.WEBKIT_DRIVER || "WebKitWebDriver", [`--port=${port}`], {
    stdio: "ignore",
  });
  cleanup.push(() => driverProcess.kill());
  const options = {
    binary: process.env.MINIBROWSER || "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    args: ["--automation"],
  };
  if (secure) {
    options.certificates = [{ host: new URL(url).hostname, certificateFile: leaf }];
  }
  let driver;
  for (let tries = 0; ; tries++) {
    try {
      driver = await new Builder()
        .usingServer(`http://127.0.0.1:${port}`)
        .withCapabilities({ browserName: "MiniBrowser", "webkitgtk:browserOptions": options })
        .build();
      break;
    } catch (e) {
      if (tries > 50) throw e; // the driver was not listening yet
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  cleanup.push(() => driver.quit());
  await driver.manage().window().setRect({ width: 900, height: 620 });
  return {
    engine: "WebKit",
    errors: [],
    goto: (u) => driver.get(u),
    type: async (sel, text) => {
      const field = await driver.findElement(By.css(sel));
      await field.clear();
      await field.sendKeys(text);
    },
    click: async (sel) => (await driver.findElement(By.css(sel))).click(),
    value: (expr) => driver.executeScript(`return (${expr});`),
    screenshot: async (path) => writeFileSync(path, Buffer.from(await driver.takeScreenshot(), "base64")),
    close: () => driver.quit(),
  };
}

// Waits until `expr`, evaluated in the page, is true.
async function until(page, what, expr) {
  const deadline = Date.now() + timeout;
  while (!(await page.value(expr))) {
    if (Date.now() > deadline) throw new Error(`${page.engine}: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const logHas = (text) =>
  `[...document.querySelectorAll("#log li")].some((li) => li.textContent.includes(${JSON.stringify(text)}))`;

try {
  const [ann, bob, cy] = await Promise.all([chromiumPage(), firefoxPage(), webkitPage()]);
  const people = [
    ["ann", ann],
    ["bob", bob],
    ["cy", cy],
  ];
  for (const [name, page] of people) {
    await page.goto(url);
    await page.type("#name", name);
    await page.click("#join button");
    await until(page, "online", `document.querySelector("#status").classList.contains("online")`);
    const [scheme, extensions] = await page.value(`[socket.url.split(":")[0], socket.extensions]`);
    if (scheme !== (secure ? "wss" : "ws")) throw new Error(`${page.engine} opened ${scheme}://`);
    step(`${name} joined in ${page.engine} over ${scheme}://, extensions "${extensions}"`);
  }
  for (const [name, page] of people) {
    const others = people.filter(([n]) => n !== name);
    const text = `hello from ${name} in ${page.engine}`;
    await page.type("#text", text);
    await page.click("#say button");
    for (const [other, otherPage] of others) {
      await until(otherPage, text, logHas(text));
      step(`${other} in ${otherPage.engine} hears "${text}"`);
    }
  }
  for (const [name, page] of people) {
    await page.screenshot(join(shots, `chat-${page.engine.toLowerCase()}.png`));
    step(`screenshot of ${name}'s ${page.engine}`);
  }
  await cy.close();
  for (const [name, page] of [["ann", ann], ["bob", bob]]) {
    await until(page, "cy left", logHas("cy left"));
    step(`${name} in ${page.engine} sees "cy left"`);
  }
  for (const page of [ann, bob]) {
    if (page.errors.length) throw new Error(`errors in ${page.engine}'s page: ${page.errors.join("; ")}`);
  }
} catch (e) {
  console.error(`FAILED: ${e.message || e}`);
  process.exitCode = 1;
} finally {
  for (const undo of cleanup.reverse()) {
    try {
      await undo();
    } catch {}
  }
  process.exit();
}
