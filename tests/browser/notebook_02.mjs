// Notebook 02 in a real browser: run every cell in JupyterLab, then use the latent explorer.
//
//   node notebook_02.mjs '<spec as JSON>'
//
// run.py starts the server and calls this with notebook_run.mjs's spec; it serves a copy of 02_vae.ipynb with
// interactive=True. notebook_run.mjs runs every cell (and writes the summary); this then moves a slider of the
// explorer and checks that the decoded image changes. Each step that fails exits 1 with a message and a
// screenshot of the page at that moment.
import { bringToTop, runNotebook, waitForQuietKernel } from "./notebook_run.mjs";

if (!process.argv[2]) {
  console.error("usage: node notebook_02.mjs '<spec as JSON>' (run.py writes it)");
  process.exit(2);
}
const EXPLORER = ".lab-latent-explorer"; // the CSS class the notebook's explorer VBox carries

const { browser, page, step, shot } = await runNotebook(JSON.parse(process.argv[2]));

// The image an <img> shows, as RGBA values: its PNG decoded in the page, whatever its size on screen.
const pixels = (img) => img.evaluate(async (element) => {
  const bitmap = await createImageBitmap(await (await fetch(element.src)).blob());
  const context = new OffscreenCanvas(bitmap.width, bitmap.height).getContext("2d");
  context.drawImage(bitmap, 0, 0);
  return Array.from(context.getImageData(0, 0, bitmap.width, bitmap.height).data);
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
  await explorer.screenshot({ path: shot("latent_explorer_before") });
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
  await waitForQuietKernel(page); // the drag sent several values: let the kernel answer the last
  await bringToTop(explorer);
  await explorer.screenshot({ path: shot("latent_explorer_after") });
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
console.log("The notebook ran in JupyterLab and its latent explorer answers.");
