// Usage: node verify-page.mjs <page-url> <file> <screenshot.png>
//
// TAMPER_PROOF=1 plays a server that flips a bit of every proof path; TAMPER_ROOT=1 one that
// invents a root and a proof that agree with each other (only the node can tell).
// Opens the verify page in headless Chromium, hands it <file> (as a user dropping or
// choosing it), waits for the verdict, takes a screenshot, and checks the screenshot itself:
// the verdict banner must be there in its colour (green = verified). Prints one JSON line
// {state, text, greenPixels, width, height} and exits non-zero on any failure.
import { chromium } from "playwright-core";
import { PNG } from "pngjs";
import fs from "node:fs";
import crypto from "node:crypto";

const [url, file, shot] = process.argv.slice(2);
if (!url || !file || !shot) {
  console.error("usage: node verify-page.mjs <server-url> <file> <screenshot.png>");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = null;
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on("pageerror", (e) => { failed = "page error: " + e.message; });
  if (process.env.TAMPER_PROOF) {
    // A lying server: flip one bit of the first path hash of every proof it sends.
    await page.route("**/proof?**", async (route) => {
      const response = await route.fetch();
      const proof = await response.json();
      const h = proof.proof.path[0];
      proof.proof.path[0] = h.slice(0, -1) + ((parseInt(h.slice(-1), 16) ^ 1).toString(16));
      await route.fulfill({ response, json: proof });
    });
  }
  if (process.env.TAMPER_ROOT) {
    // A lying server: a one-item tree holding the file's digest, self-consistent.
    await page.route("**/proof?**", async (route) => {
      const response = await route.fetch();
      const proof = await response.json();
      const digest = Buffer.from(new URL(route.request().url()).pathname.split("/")[3].slice(2), "hex");
      proof.proof = { leafIndex: 0, treeSize: 1, path: [] };
      proof.anchor.log = { size: 1, root: "0x" + crypto.createHash("sha256").update(Buffer.concat([Buffer.of(0), digest])).digest("hex") };
      await route.fulfill({ response, json: proof });
    });
  }
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("body[data-ready]", { timeout: 10000 });
  if (file !== "-") await page.setInputFiles("#file", file);
  await page.waitForSelector('#result[data-state="verified"], #result[data-state="failed"], #result[data-state="unknown"], #result[data-state="unconfirmed"], #result[data-state="error"]', { timeout: 30000 });
  // Let the claim tables render fully.
  await page.waitForTimeout(200);
  const state = await page.getAttribute("#result", "data-state");
  const text = (await page.textContent("#result")).trim();
  const claims = (await page.textContent("#claims")).replace(/\s+/g, " ").trim();
  const links = await page.$$eval("#claims a", (as) => as.map((a) => a.href));
  const node = await page.inputValue("#node");
  await page.screenshot({ path: shot, fullPage: true });
  const png = PNG.sync.read(fs.readFileSync(shot));
  // The verdict banner is #1a7f37 when verified, #cf222e when a proof fails: count pixels
  // of those colours.
  const near = (i, rgb) => rgb.every((c, k) => Math.abs(png.data[i + k] - c) < 8);
  let green = 0, red = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (near(i, [0x1a, 0x7f, 0x37])) green++;
    if (near(i, [0xcf, 0x22, 0x2e])) red++;
  }
  console.log(JSON.stringify({ state, text, claims, links, node, greenPixels: green, redPixels: red, width: png.width, height: png.height }));
  if (!failed && state !== process.env.EXPECT_STATE) failed = `verdict ${state}, expected ${process.env.EXPECT_STATE}: ${text}`;
  if (!failed && state === "verified" && green < 20000) failed = `the screenshot shows no green verdict banner (${green} pixels)`;
  if (!failed && state === "failed" && (red < 20000 || green > 0)) failed = `the screenshot shows no red verdict banner (${red} red, ${green} green pixels)`;
} catch (e) {
  failed = String(e);
} finally {
  await browser.close();
}
if (failed) {
  console.error(failed);
  process.exit(1);
}
