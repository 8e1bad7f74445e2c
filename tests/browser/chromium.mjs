// How the tests start Debian's Chromium: headless, and quiet on a machine whose network
// is closed (without the background-networking flags it keeps trying to reach Google).
export const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

export function chromiumArgs() {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ];
}
