// Makes the demo's sample files (samples/): two photographs-like images, a tiled image, a
// short video and a text document, drawn here on a canvas in headless Chromium so that the
// project owns them (CC0, see samples/LICENSE). Run once; the outputs are checked in.
//
//   cd server/tests/web && npm ci && node ../../../scripts/make-samples.mjs ../../../samples
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

// playwright-core is resolved from the working directory (server/tests/web).
const { chromium } = (await import(createRequire(path.join(process.cwd(), "x.js")).resolve("playwright-core"))).default;
const out = process.argv[2] || "samples";
fs.mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
});
const page = await browser.newPage();
await page.setContent("<canvas id=c></canvas>");
const files = await page.evaluate(async () => {
  // A small seeded PRNG (mulberry32): the same drawings on every run.
  let seed = 20261127;
  const rnd = () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const c = document.getElementById("c");
  const g = c.getContext("2d");
  const b64 = (url) => url.slice(url.indexOf(",") + 1);
  const result = {};

  // 1. Aurora over a ridge (PNG).
  c.width = 1280; c.height = 800;
  let sky = g.createLinearGradient(0, 0, 0, 800);
  sky.addColorStop(0, "#040a1f"); sky.addColorStop(1, "#15305a");
  g.fillStyle = sky; g.fillRect(0, 0, 1280, 800);
  for (let i = 0; i < 900; i++) {
    g.fillStyle = `rgba(255,255,255,${rnd() * 0.9})`;
    g.fillRect(rnd() * 1280, rnd() * 520, 1.5, 1.5);
  }
  for (let band = 0; band < 5; band++) {
    g.beginPath();
    const y0 = 180 + band * 45;
    g.moveTo(0, y0);
    for (let x = 0; x <= 1280; x += 8) g.lineTo(x, y0 + Math.sin(x / (90 + band * 17) + band) * 50 + rnd() * 6);
    g.lineWidth = 30 - band * 4;
    g.strokeStyle = `hsla(${130 + band * 25}, 90%, 60%, 0.35)`;
    g.shadowColor = g.strokeStyle; g.shadowBlur = 40;
    g.stroke();
  }
  g.shadowBlur = 0;
  g.fillStyle = "#02040a";
  g.beginPath(); g.moveTo(0, 800);
  for (let x = 0; x <= 1280; x += 16) g.lineTo(x, 620 - Math.abs(Math.sin(x / 210)) * 140 - rnd() * 18);
  g.lineTo(1280, 800); g.fill();
  result["aurora.png"] = b64(c.toDataURL("image/png"));

  // 2. A harbour at dusk (JPEG).
  c.width = 1600; c.height = 1000;
  sky = g.createLinearGradient(0, 0, 0, 560);
  sky.addColorStop(0, "#f6a45b"); sky.addColorStop(1, "#ffe2b0");
  g.fillStyle = sky; g.fillRect(0, 0, 1600, 560);
  g.fillStyle = "#ffd27a"; g.beginPath(); g.arc(1100, 470, 90, 0, Math.PI * 2); g.fill();
  const sea = g.createLinearGradient(0, 560, 0, 1000);
  sea.addColorStop(0, "#2c5d7c"); sea.addColorStop(1, "#0d2233");
  g.fillStyle = sea; g.fillRect(0, 560, 1600, 440);
  for (let i = 0; i < 1400; i++) {
    const y = 560 + rnd() ** 1.6 * 440, w = 10 + rnd() * 60;
    g.fillStyle = `rgba(255,${200 + rnd() * 40 | 0},150,${0.08 + rnd() * 0.25})`;
    g.fillRect(1100 - w / 2 + (rnd() - 0.5) * (y - 500), y, w, 2);
  }
  for (let i = 0; i < 9; i++) {
    const x = 80 + i * 170 + rnd() * 40, h = 60 + rnd() * 200;
    g.fillStyle = "#1e1b2e"; g.fillRect(x, 560 - h, 70 + rnd() * 60, h);
    for (let w = 0; w < 14; w++) { g.fillStyle = rnd() < 0.5 ? "#ffdf8a" : "#3a3550"; g.fillRect(x + 8 + (w % 4) * 16, 560 - h + 10 + (w >> 2) * 22, 8, 10); }
  }
  for (let i = 0; i < 5; i++) {
    const x = 200 + i * 260 + rnd() * 80, y = 700 + rnd() * 200;
    g.fillStyle = "#10131c";
    g.beginPath(); g.moveTo(x, y); g.lineTo(x + 140, y); g.lineTo(x + 115, y + 26); g.lineTo(x + 20, y + 26); g.fill();
    g.fillRect(x + 66, y - 120, 4, 120);
    g.beginPath(); g.moveTo(x + 72, y - 115); g.lineTo(x + 130, y - 10); g.lineTo(x + 72, y - 10); g.fillStyle = "#e8e1d0"; g.fill();
  }
  result["harbour.jpg"] = b64(c.toDataURL("image/jpeg", 0.9));

  // 3. Truchet tiles (PNG).
  c.width = 800; c.height = 800;
  g.fillStyle = "#fbf7ef"; g.fillRect(0, 0, 800, 800);
  g.lineWidth = 7; g.lineCap = "round";
  for (let y = 0; y < 800; y += 40) for (let x = 0; x < 800; x += 40) {
    g.strokeStyle = `hsl(${(x + y) / 4 + 180}, 55%, 42%)`;
    g.beginPath();
    if (rnd() < 0.5) { g.arc(x, y, 20, 0, Math.PI / 2); g.moveTo(x + 40, y + 20); g.arc(x + 40, y + 40, 20, -Math.PI / 2, Math.PI, true); }
    else { g.arc(x + 40, y, 20, Math.PI / 2, Math.PI); g.moveTo(x + 20, y + 40); g.arc(x, y + 40, 20, -Math.PI / 2, 0); }
    g.stroke();
  }
  result["tiles.png"] = b64(c.toDataURL("image/png"));

  // 4. Eight seconds of planets on orbits (WebM, VP8, 1280x720), recorded from the canvas.
  c.width = 1280; c.height = 720;
  const stream = c.captureStream(30);
  const rec = new MediaRecorder(stream, { mimeType: "video/webm;codecs=vp8", videoBitsPerSecond: 8_000_000 });
  const chunks = [];
  rec.ondataavailable = (e) => chunks.push(e.data);
  const stars = Array.from({ length: 900 }, () => [rnd() * 1280, rnd() * 720, rnd()]);
  const start = performance.now();
  rec.start(500);
  await new Promise((done) => {
    const frame = () => {
      const t = (performance.now() - start) / 1000;
      g.save(); g.scale(2, 2);
      g.fillStyle = "#050814"; g.fillRect(0, 0, 640, 360);
      // Drifting dust: fine detail that changes every frame (a few MiB of video, not a few KiB).
      for (let k = 0; k < 2500; k++) {
        g.fillStyle = `hsla(${(k * 7) % 360}, 60%, ${20 + (k % 30)}%, 0.5)`;
        g.fillRect((k * 97.3 + t * (20 + (k % 13) * 6)) % 640, (k * 53.1 + Math.sin(t + k) * 8) % 360, 1, 1);
      }
      for (const [x, y, a] of stars) { g.fillStyle = `rgba(255,255,255,${a * (0.6 + 0.4 * Math.sin(t * 3 + x))})`; g.fillRect(x / 2, y / 2, 1, 1); }
      g.fillStyle = "#ffcc4d"; g.beginPath(); g.arc(320, 180, 26, 0, Math.PI * 2); g.fill();
      for (let p = 1; p <= 5; p++) {
        const r = 30 + p * 28, a = t * (1.6 / p) + p;
        g.strokeStyle = "rgba(255,255,255,0.15)"; g.beginPath(); g.ellipse(320, 180, r * 1.6, r * 0.8, 0, 0, Math.PI * 2); g.stroke();
        g.fillStyle = `hsl(${p * 60}, 70%, 60%)`; g.beginPath(); g.arc(320 + Math.cos(a) * r * 1.6, 180 + Math.sin(a) * r * 0.8, 4 + p * 1.5, 0, Math.PI * 2); g.fill();
      }
      g.fillStyle = "#cfd8ff"; g.font = "16px sans-serif"; g.fillText("Attest chain sample video, t = " + t.toFixed(1) + " s", 16, 340);
      g.restore();
      if (t < 8) requestAnimationFrame(frame); else { rec.stop(); }
    };
    rec.onstop = done;
    frame();
  });
  const blob = new Blob(chunks, { type: "video/webm" });
  const buf = new Uint8Array(await blob.arrayBuffer());
  let s = ""; for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
  result["orbits.webm"] = btoa(s);
  return result;
});
await browser.close();
for (const [name, data] of Object.entries(files)) {
  fs.writeFileSync(path.join(out, name), Buffer.from(data, "base64"));
  console.log(name, fs.statSync(path.join(out, name)).size, "bytes");
}
