// The cluster chat's page in headless Chromium (playwright-core), against two processes:
// a line said on one reaches a page on the other; a reloaded page shows the room's last
// lines again; a page whose socket dropped comes back with its offset and shows what it
// missed exactly once.
//
// Usage: node cluster.mjs <page url of process A> <page url of process B>
// Prints "ok <step>" for each step, or fails with what went wrong.
import { chromium } from "playwright-core";
import { chromiumArgs, chromiumPath } from "./chromium.mjs";

const [urlA, urlB] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs() });

async function open(url, name) {
  const page = await browser.newPage();
  await page.goto(`${url}?name=${name}`);
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("connected"));
  return page;
}

async function say(page, text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

const lines = (page) => page.evaluate(() => window.chat.lines());

async function shows(page, line, times = 1) {
  await page.waitForFunction((line) => window.chat.lines().includes(line), line, { timeout: 10000 });
  const count = (await lines(page)).filter((l) => l === line).length;
  if (count !== times) throw new Error(`"${line}" shown ${count} times: ${JSON.stringify(await lines(page))}`);
}

try {
  const bea = await open(urlB, "bea");
  const ann = await open(urlA, "ann");
  await say(ann, "hello from ann");
  await shows(bea, "~ann: hello from ann");
  await shows(ann, "~ann: hello from ann");
  console.log("ok heard across processes");

  await bea.reload();
  await bea.waitForFunction(() => document.getElementById("status").textContent.startsWith("connected"));
  await shows(bea, "~ann: hello from ann");
  console.log("ok reloaded page shows the history");

  // Bea's socket drops; ann speaks before it comes back (half a second later).
  await bea.evaluate(
    () =>
      new Promise((closed) => {
        const socket = window.chat.socket;
        socket.addEventListener("close", () => closed());
        socket.close();
      }),
  );
  await say(ann, "while you were away");
  await shows(ann, "~ann: while you were away");
  await shows(bea, "~ann: while you were away");
  await shows(bea, "~ann: hello from ann");
  const gaps = (await lines(bea)).filter((l) => l.includes("missed")).length;
  if (gaps !== 0) throw new Error(`a gap was reported: ${JSON.stringify(await lines(bea))}`);
  console.log("ok recovered exactly what it missed");
} finally {
  await browser.close();
}
