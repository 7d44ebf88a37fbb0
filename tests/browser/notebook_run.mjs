// A notebook run in JupyterLab as a learner runs it: open it, Run > Run All Cells, wait for the last cell, and
// read what the cells that matter printed.
//
//   node notebook_run.mjs '<spec as JSON>'
//
// run.py starts the server, writes the notebook's copy and builds the spec: {url, token, file, name, shots, minutes,
// codeCells, read: {label: code cell index}, meta}. The summary (meta, the wall time from "Run All" to the last cell
// done, each read cell's text output, any error) goes to <shots>/<name>.json, with screenshots beside it. Headless
// chromium (the system's, $CHROMIUM) is driven by playwright-core. A step that fails exits 1 with a message, a
// screenshot of the page at that moment and the summary so far. notebook_02.mjs imports runNotebook to run 02 first.
import { chromium } from "playwright-core";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const minutes = (seconds) => `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;

// The kernel's state as the status bar shows it: "Python (generative lab) | Idle" -> "Idle". (The
// toolbar's indicator reads "idle" before any kernel is there; this reads "Initializing" then.)
export async function kernelStatus(page) {
  const text = await page.locator('#jp-main-statusbar [title^="Change kernel"]').innerText({ timeout: 5_000 });
  return text.split("|").pop().trim();
}

// Idle on two looks half a second apart: a quiet kernel, not one between two messages.
export async function waitForQuietKernel(page, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (let quiet = 0; quiet < 2; ) {
    if (Date.now() > deadline) throw new Error(`the kernel is still "${await kernelStatus(page)}" after ${seconds} s`);
    await sleep(500);
    quiet = (await kernelStatus(page)) === "Idle" ? quiet + 1 : 0;
  }
}

// Scrolls `locator` to the top of the notebook and waits until it stops moving: cells drawn for the
// first time as they come on screen take their real height, and push what is below them.
export async function bringToTop(locator) {
  let box = null;
  for (let still = 0; still < 3; ) {
    await locator.evaluate((element) => element.scrollIntoView({ block: "start" }));
    await sleep(200);
    const now = await locator.boundingBox();
    still = box && now && now.y === box.y && now.height === box.height ? still + 1 : 0;
    box = now;
  }
}

// Opens spec.file in JupyterLab, runs every cell and writes the summary. Returns what a further check needs:
// the page, `step` (which fails the same way) and `shot` (a screenshot's path); the caller closes `browser`.
export async function runNotebook(spec) {
  const summary = { ...spec.meta, wall_seconds: null, cells_run: 0, code_cells: spec.codeCells, error: null };
  const shot = (what) => path.join(spec.shots, `${spec.name}_${what}.png`);
  const save = () => writeFileSync(path.join(spec.shots, `${spec.name}.json`), JSON.stringify(summary, null, 1) + "\n");
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" });
  // Tall enough for 02's whole explorer and 04's estimate: an element screenshot shows only what is on the screen.
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  // What went wrong in the page itself, shown on failure (e.g. a widget the widget manager cannot draw).
  const pageErrors = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (message) => message.type() === "error" && pageErrors.push(message.text()));

  // Runs one step; on failure, says which, saves what the page showed and the summary with the error.
  async function step(name, action) {
    const started = Date.now();
    try {
      const result = await action();
      console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      return result;
    } catch (err) {
      await page.screenshot({ path: shot("failed") }).catch(() => {});
      summary.error = `${name}: ${err.message}`;
      save();
      console.error(`FAIL ${name}: ${err.message}\n     screenshot of the page: ${shot("failed")}`);
      if (pageErrors.length) console.error(`     errors in the page:\n       ${pageErrors.join("\n       ")}`);
      await browser.close();
      process.exit(1);
    }
  }

  // The code cells, and their prompts: "[3]:" ran, "[*]:" runs or waits, "[ ]:" never ran. Their text, not
  // their innerText: the notebook skips drawing cells off the screen (content-visibility), and the
  // innerText of those is empty. Code cell i in the DOM is code cell i of the notebook's JSON (checked below).
  const cells = page.locator(".jp-Notebook .jp-CodeCell");
  const prompts = () => page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").allTextContents();
  const outputText = async (index) =>
    (await cells.nth(index).locator(".jp-OutputArea-output").allTextContents()).join("\n").trim();

  await step(`open ${spec.file}`, async () => {
    await page.goto(`${spec.url}/lab/tree/${spec.file}?token=${spec.token}`);
    // The cells are drawn a few at a time: all of them, or the indices read below would not be the notebook's.
    const all = (count) => document.querySelectorAll(".jp-Notebook .jp-CodeCell").length === count;
    await page.waitForFunction(all, spec.codeCells, { timeout: 60_000 }).catch(async () => {
      throw new Error(`${await cells.count()} code cells on the page, ${spec.codeCells} in the notebook`);
    });
  });

  await step("start the kernel", async () => {
    // The copy names the lab's kernel (generative-lab), so JupyterLab starts it without asking;
    // should it ask anyway ("Select Kernel"), its default choice is accepted.
    const deadline = Date.now() + 120_000;
    while ((await kernelStatus(page)) !== "Idle") {
      const dialog = page.locator(".jp-Dialog .jp-mod-accept");
      if (await dialog.isVisible()) await dialog.click();
      if (Date.now() > deadline) throw new Error(`the kernel is "${await kernelStatus(page)}" after 120 s, not Idle`);
      await sleep(500);
    }
  });

  let started;
  await step("Run > Run All Cells", async () => {
    await page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", { hasText: /^Run$/ }).click();
    await page.locator(".lm-Menu .lm-Menu-itemLabel", { hasText: /^Run All Cells$/ }).click();
    started = Date.now();
    const prompt = page.locator(".jp-CodeCell .jp-InputPrompt", { hasText: /\[(\*|\d+)\]/ });
    await prompt.first().waitFor({ timeout: 30_000 });
  });

  // Each code cell's time of completion after "Run All", in seconds: where a long run spent its time.
  summary.done_after_s = Array(spec.codeCells).fill(null);
  await step(`wait for every cell to run (at most ${spec.minutes} min)`, async () => {
    const deadline = started + spec.minutes * 60_000;
    for (;;) {
      const all = await prompts();
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      all.forEach((p, i) => { if (/\[\d+\]/.test(p)) summary.done_after_s[i] ??= seconds; });
      const done = all.filter((p) => /\[\d+\]/.test(p)).length;
      const running = all.some((p) => p.includes("*"));
      if (done !== summary.cells_run) console.log(`     ${done}/${all.length} cells run (${minutes(seconds)})`);
      summary.cells_run = done;
      // Finished: nothing runs or waits any more, and the kernel has gone quiet.
      if (done > 0 && !running && (await kernelStatus(page)) === "Idle") {
        summary.wall_seconds = Math.max(...summary.done_after_s.filter((s) => s !== null));
        if (done === all.length) return page.screenshot({ path: shot("after_run") });
        // Run All stops at the first error: the cells after it are left unrun.
        const failed = cells.nth(all.findIndex((p) => !/\[\d+\]/.test(p)) - 1);
        await failed.scrollIntoViewIfNeeded();
        const output = (await failed.locator(".jp-OutputArea").innerText()).slice(-1500);
        throw new Error(`the run stopped at cell ${await failed.locator(".jp-InputPrompt").textContent()}\n${output}`);
      }
      if (Date.now() > deadline) throw new Error(`${done} of ${all.length} cells ran in ${spec.minutes} min`);
      await sleep(1000);
    }
  });

  await step(`read the outputs of ${Object.keys(spec.read).join(", ")}`, async () => {
    for (const [label, index] of Object.entries(spec.read)) {
      summary[label] = await outputText(index);
      await bringToTop(cells.nth(index));
      await cells.nth(index).screenshot({ path: shot(label) });
    }
    // The line that says which profile "auto" chose, from the cell that prints the values in force.
    summary.profile = (summary.in_force ?? "").split("\n").find((line) => line.startsWith("profile:")) ?? null;
  });
  save();
  console.log(`\n${spec.name}: ${summary.cells_run}/${spec.codeCells} code cells ran in ` +
              `${minutes(summary.wall_seconds)} (Run All to the last cell done)`);
  for (const label of Object.keys(spec.read)) console.log(`--- ${label}:\n${summary[label]}`);
  console.log(`--- summary: ${path.join(spec.shots, `${spec.name}.json`)}\n`);
  return { browser, page, step, shot };
}

// Run as a script: the notebook's run alone.
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (!process.argv[2]) {
    console.error("usage: node notebook_run.mjs '<spec as JSON>' (run.py writes it)");
    process.exit(2);
  }
  const { browser } = await runNotebook(JSON.parse(process.argv[2]));
  await browser.close();
}
