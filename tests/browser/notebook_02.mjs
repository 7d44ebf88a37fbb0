// Notebook 02 in a real browser: run every cell in JupyterLab, then use the latent explorer.
//
//   node notebook_02.mjs <JupyterLab URL> <token> <screenshot folder>
//
// run.py starts the server and calls this; it serves a copy of 02_vae.ipynb with interactive=True.
// Headless chromium (the system's, $CHROMIUM) is driven by playwright-core. Each step that fails
// exits 1 with a message and a screenshot of the page at that moment.
import { chromium } from "playwright-core";
import path from "node:path";

const [baseUrl, token, shots] = process.argv.slice(2);
if (!shots) {
  console.error("usage: node notebook_02.mjs <JupyterLab URL> <token> <screenshot folder>");
  process.exit(2);
}
// The smoke profile's cells run in under half a minute on a 2-core CPU; the limit allows a busy one.
const RUN_MINUTES = Number(process.env.BROWSER_TEST_RUN_MINUTES ?? 15);
const EXPLORER = ".lab-latent-explorer"; // the CSS class the notebook's explorer VBox carries

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const shot = (name) => path.join(shots, name);

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" });
// Tall enough for the whole explorer: an element screenshot shows only what is on the screen.
const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
// What went wrong in the page itself, shown on failure (e.g. a widget the widget manager cannot draw).
const pageErrors = [];
page.on("pageerror", (err) => pageErrors.push(err.message));
page.on("console", (message) => message.type() === "error" && pageErrors.push(message.text()));

// Runs one step; on failure, says which and saves what the page showed.
async function step(name, action) {
  const started = Date.now();
  try {
    const result = await action();
    console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return result;
  } catch (err) {
    const file = shot("02_failed.png");
    await page.screenshot({ path: file }).catch(() => {});
    console.error(`FAIL ${name}: ${err.message}\n     screenshot of the page: ${file}`);
    if (pageErrors.length) console.error(`     errors in the page:\n       ${pageErrors.join("\n       ")}`);
    await browser.close();
    process.exit(1);
  }
}

// The kernel's state as the status bar shows it: "Python (generative lab) | Idle" -> "Idle". (The
// toolbar's indicator reads "idle" before any kernel is there; this reads "Initializing" then.)
async function kernelStatus() {
  const text = await page.locator('#jp-main-statusbar [title^="Change kernel"]').innerText({ timeout: 5_000 });
  return text.split("|").pop().trim();
}

// Idle on two looks half a second apart: a quiet kernel, not one between two messages.
async function waitForQuietKernel(seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (let quiet = 0; quiet < 2; ) {
    if (Date.now() > deadline) throw new Error(`the kernel is still "${await kernelStatus()}" after ${seconds} s`);
    await sleep(500);
    quiet = (await kernelStatus()) === "Idle" ? quiet + 1 : 0;
  }
}

// Scrolls `locator` to the top of the notebook and waits until it stops moving: cells drawn for the
// first time as they come on screen take their real height, and push what is below them.
async function bringToTop(locator) {
  let box = null;
  for (let still = 0; still < 3; ) {
    await locator.evaluate((element) => element.scrollIntoView({ block: "start" }));
    await sleep(200);
    const now = await locator.boundingBox();
    still = box && now && now.y === box.y && now.height === box.height ? still + 1 : 0;
    box = now;
  }
}

// The image an <img> shows, as RGBA values: its PNG decoded in the page, whatever its size on screen.
const pixels = (img) => img.evaluate(async (element) => {
  const bitmap = await createImageBitmap(await (await fetch(element.src)).blob());
  const context = new OffscreenCanvas(bitmap.width, bitmap.height).getContext("2d");
  context.drawImage(bitmap, 0, 0);
  return Array.from(context.getImageData(0, 0, bitmap.width, bitmap.height).data);
});

// The code cells' prompts: "[3]:" ran, "[*]:" runs or waits, "[ ]:" never ran. Their text, not
// their innerText: the notebook skips drawing cells off the screen (content-visibility), and the
// innerText of those is empty.
const prompts = () => page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").allTextContents();

await step("open the notebook", async () => {
  await page.goto(`${baseUrl}/lab/tree/02_vae.ipynb?token=${token}`);
  await page.locator(".jp-Notebook .jp-CodeCell").first().waitFor({ timeout: 60_000 });
});

await step("start the kernel", async () => {
  // The notebook names the lab's kernel (generative-lab), so JupyterLab starts it without asking;
  // should it ask anyway ("Select Kernel"), its default choice is accepted.
  const deadline = Date.now() + 120_000;
  while ((await kernelStatus()) !== "Idle") {
    const dialog = page.locator(".jp-Dialog .jp-mod-accept");
    if (await dialog.isVisible()) await dialog.click();
    if (Date.now() > deadline) throw new Error(`the kernel is "${await kernelStatus()}" after 120 s, not Idle`);
    await sleep(500);
  }
});

await step("Run > Run All Cells", async () => {
  await page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", { hasText: /^Run$/ }).click();
  await page.locator(".lm-Menu .lm-Menu-itemLabel", { hasText: /^Run All Cells$/ }).click();
  await page.locator(".jp-CodeCell .jp-InputPrompt", { hasText: /\[(\*|\d+)\]/ }).first().waitFor({ timeout: 30_000 });
});

await step(`wait for every cell to run (at most ${RUN_MINUTES} min)`, async () => {
  const deadline = Date.now() + RUN_MINUTES * 60_000;
  let reported = -1;
  for (;;) {
    const all = await prompts();
    const done = all.filter((p) => /\[\d+\]/.test(p)).length;
    const running = all.some((p) => p.includes("*"));
    if (done !== reported) console.log(`     ${done}/${all.length} cells run`);
    reported = done;
    // Finished: nothing runs or waits any more, and the kernel has gone quiet.
    if (done > 0 && !running && (await kernelStatus()) === "Idle") {
      if (done === all.length) return page.screenshot({ path: shot("02_vae_after_run.png") });
      // Run All stops at the first error: the cells after it are left unrun.
      const cells = page.locator(".jp-Notebook .jp-CodeCell");
      const failed = cells.nth(all.findIndex((p) => !/\[\d+\]/.test(p)) - 1);
      await failed.scrollIntoViewIfNeeded();
      const output = (await failed.locator(".jp-OutputArea").innerText()).slice(-1500);
      throw new Error(`the run stopped at cell ${await failed.locator(".jp-InputPrompt").textContent()}\n${output}`);
    }
    if (Date.now() > deadline) throw new Error(`${done} of ${all.length} cells ran in ${RUN_MINUTES} min`);
    await sleep(2000);
  }
});

const explorer = page.locator(EXPLORER).first();
const image = explorer.locator("img").first();

await step(`find the latent explorer (${EXPLORER})`, async () => {
  await explorer.waitFor({ timeout: 60_000 }).catch(() => {
    throw new Error("nothing on the page has that class: does the notebook show the widget when interactive=True?");
  });
  await image.waitFor({ timeout: 30_000 });
});

const before = await step("screenshot the explorer", async () => {
  await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await image.elementHandle());
  await bringToTop(explorer);
  await explorer.screenshot({ path: shot("02_latent_explorer_before.png") });
  // Read now: ipywidgets revokes the old blob: URL when the next image comes.
  return { src: await image.getAttribute("src"), pixels: await pixels(image) };
});

await step("drag a slider across its track", async () => {
  // ipywidgets 8 draws a FloatSlider with noUiSlider: a handle on a track, and beside them the
  // readout of the value the kernel is sent. The drag goes to the far end (10% or 90% of the track),
  // a move large enough to see in the decoded digit, sending values all the way.
  const slider = explorer.locator(".widget-slider").first();
  const readout = () => slider.locator(".widget-readout").innerText();
  const handle = await slider.locator(".noUi-handle").boundingBox();
  const track = await slider.locator(".noUi-target").boundingBox();
  const [x, y] = [handle.x + handle.width / 2, handle.y + handle.height / 2];
  const target = track.x + track.width * (x < track.x + track.width / 2 ? 0.9 : 0.1);
  const value = await readout();
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(target, y, { steps: 10 });
  await page.mouse.up();
  const moved = await readout();
  if (moved === value) throw new Error(`the slider stayed at ${value}`);
  console.log(`     slider ${value} -> ${moved}`);
});

await step("wait for the decoded image to change", async () => {
  // Each new value comes from the kernel as a new PNG; the <img> gets a new blob: URL for it.
  await page.waitForFunction(([img, src]) => img.getAttribute("src") !== src && img.complete,
    [await image.elementHandle(), before.src], { timeout: 60_000 });
  await waitForQuietKernel(); // the drag sent several values: let the kernel answer the last
  await bringToTop(explorer);
  await explorer.screenshot({ path: shot("02_latent_explorer_after.png") });
  // A new URL alone could hold the same picture: compare the pixels.
  const after = await pixels(image);
  if (after.length !== before.pixels.length) return console.log("     the image changed size");
  let changed = 0, total = 0; // pixels that changed, and by how much (the largest of R, G, B)
  for (let i = 0; i < after.length; i += 4) {
    const change = Math.max(...[0, 1, 2].map((c) => Math.abs(after[i + c] - before.pixels[i + c])));
    changed += change > 0;
    total += change;
  }
  if (changed === 0) throw new Error("a new image came, but it has the same pixels");
  const pixelCount = after.length / 4;
  console.log(`     ${((100 * changed) / pixelCount).toFixed(0)}% of the pixels changed, ` +
              `by ${(total / pixelCount).toFixed(1)} / 255 on average`);
});

await browser.close();
console.log(`The notebook ran in JupyterLab and its latent explorer answers; screenshots in ${shots}`);
