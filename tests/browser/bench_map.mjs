// Figure (not a test): milliseconds per map frame (countries + clustering + drawing every GPU
// in scope) in headless chromium, at the world view and zoomed in, while panning.
//   node tests/browser/bench_map.mjs --base-url URL --token TOKEN
// Against a development fleet of 10,000 GPUs: node tests/browser/dev_server.mjs --gpus 10000
import { launchBrowser, signIn, open } from './lib.mjs';

const arg = (n, d) => { const i = process.argv.indexOf(n); return i >= 0 ? process.argv[i + 1] : d; };
const baseUrl = arg('--base-url', 'http://127.0.0.1:8088');
const token = arg('--token', 'admin-token');
const kFrames = 200;

const browser = await launchBrowser();
try {
  const page = await signIn(browser, baseUrl, token);
  await open(page, '#/map');
  await page.waitForFunction(() => Number(document.querySelector('.map')?.dataset.drawnGpus || 0) > 0);
  const result = await page.evaluate((frames) => {
    const v = window.__lightconeMap;
    const ctx = v.canvas.getContext('2d');
    // One frame: draw, then read a pixel back, which forces the frame to be rasterized.
    const measure = (k, interactive) => {
      v.k = k; v.tx = 0; v.ty = 0; v.lastInput = 0; v.draw();
      const t0 = performance.now();
      for (let i = 0; i < frames; i++) {
        v.tx = (i % 40) * 3 * k;
        if (interactive) v.touch(); else v.lastInput = 0;
        v.draw(); ctx.getImageData(0, 0, 1, 1);
      }
      return (performance.now() - t0) / frames;
    };
    const r = { gpus: v.points.length };
    for (const k of [1, 4, 20]) { r[`pan_k${k}`] = measure(k, true); r[`full_k${k}`] = measure(k, false); }
    return r;
  }, kFrames);
  const f = (x) => x.toFixed(2);
  console.log(`map frame with ${result.gpus} GPUs (${kFrames} frames each, headless chromium, software rendering):`);
  for (const k of [1, 4, 20]) console.log(`  zoom ${k}x: panning ${f(result[`pan_k${k}`])} ms/frame, full re-render ${f(result[`full_k${k}`])} ms/frame`);
} finally {
  await browser.close();
}
