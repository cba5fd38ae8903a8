// Usage: node verify-page.mjs <page-url> <file> <screenshot.png>
//
// SPEC=<raw chain spec> gives the page the chain spec to trust (instead of the server's word).
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
  // Format 2 (?format=v2) answers the export file: the bundle is `proof`, and `scale` holds its
  // bytes (anchor: 88 bytes; inclusion: leaf index, tree size, compact path length, path).
  const flipLast = (h) => h.slice(0, -1) + ((parseInt(h.slice(-1), 16) ^ 1).toString(16));
  const le64 = (n) => Buffer.from(Array.from({ length: 8 }, (_, i) => i === 0 ? n : 0));
  if (process.env.TAMPER_PROOF) {
    // A lying server: flip one bit of the first path hash of every proof it sends (in the
    // JSON, and in the SCALE bytes of a format-2 proof).
    await page.route("**/proof?**", async (route) => {
      const response = await route.fetch();
      const proof = await response.json();
      if (proof.version === 2) {
        proof.proof.proof.path[0] = flipLast(proof.proof.proof.path[0]);
        const at = 2 + 2 * (88 + 16 + 1 + 31) + 1;
        proof.scale = flipLast(proof.scale.slice(0, at + 1)) + proof.scale.slice(at + 1);
      } else {
        proof.proof.path[0] = flipLast(proof.proof.path[0]);
      }
      await route.fulfill({ response, json: proof });
    });
  }
  if (process.env.TAMPER_ROOT) {
    // A lying server: a one-item tree holding the file's digest, self-consistent.
    await page.route("**/proof?**", async (route) => {
      const response = await route.fetch();
      const proof = await response.json();
      const digest = Buffer.from(new URL(route.request().url()).pathname.split("/")[3].slice(2), "hex");
      const root = crypto.createHash("sha256").update(Buffer.concat([Buffer.of(0), digest])).digest();
      if (proof.version === 2) {
        const b = Buffer.from(proof.scale.slice(2), "hex");
        const pathLen = b[88 + 16] >> 2;
        const rest = b.subarray(88 + 16 + 1 + 32 * pathLen);
        const item = Buffer.concat([b.subarray(0, 48), le64(1), root, b.subarray(80, 88), le64(0), le64(1), Buffer.of(0)]);
        proof.scale = "0x" + Buffer.concat([item, rest]).toString("hex");
        proof.proof.proof = { leafIndex: 0, treeSize: 1, path: [] };
        proof.proof.anchor.log = { size: 1, root: "0x" + root.toString("hex") };
      } else {
        proof.proof = { leafIndex: 0, treeSize: 1, path: [] };
        proof.anchor.log = { size: 1, root: "0x" + root.toString("hex") };
      }
      await route.fulfill({ response, json: proof });
    });
  }
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("body[data-ready]", { timeout: 10000 });
  if (process.env.SPEC) {
    // The reader gives the page the raw chain spec they hold: the trust root is computed from it.
    await page.setInputFiles("#spec", process.env.SPEC);
    await page.waitForSelector("body[data-spec]", { timeout: 30000 });
  }
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
