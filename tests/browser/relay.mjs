// Browsers reading the relay's feed: PAGES tabs of headless Chromium (playwright-core),
// each with a WebSocket to the relay, keeping every number it receives.
//
// Usage: node relay.mjs <ws url> <pages>
//
// Prints "open" once every tab's socket is open. On "send report" (a line on stdin) it
// prints, for each tab, "page I COUNT FIRST LAST VERDICT", where VERDICT is "ordered" if
// every number is greater than the one before it (no duplicate, no reordering), else
// what broke it; then it exits.
import { chromium } from "playwright-core";
import { chromiumArgs, chromiumPath } from "./chromium.mjs";
import { createInterface } from "node:readline";

const [url, count] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs() });
const pages = [];
for (let i = 0; i < Number(count); i++) {
  const page = await browser.newPage();
  await page.evaluate(
    (url) =>
      new Promise((opened, failed) => {
        window.seen = [];
        const ws = new WebSocket(url);
        ws.onmessage = (e) => window.seen.push(Number(e.data));
        ws.onopen = () => opened();
        ws.onerror = () => failed(new Error("the socket failed"));
      }),
    url,
  );
  pages.push(page);
}
console.log("open");

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === "send report") {
    for (const [i, page] of pages.entries()) {
      const seen = await page.evaluate(() => window.seen);
      let verdict = "ordered";
      for (let k = 1; k < seen.length; k++) {
        if (!(seen[k] > seen[k - 1])) {
          verdict = `broken-at-${k}:${seen[k - 1]}-then-${seen[k]}`;
          break;
        }
      }
      console.log(`page ${i} ${seen.length} ${seen[0]} ${seen[seen.length - 1]} ${verdict}`);
    }
  }
  break;
}
await browser.close();
