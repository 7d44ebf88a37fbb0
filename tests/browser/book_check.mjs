// The built book (`make book`) as a reader's browser shows it: every page that the contents page leads to.
//
//   node book_check.mjs '<spec as JSON>'
//
// book_check.py serves the book on a loopback port and builds the spec: {url, files: the book's .html files,
// shots}. From index.html this follows every link within the book and, on each page, checks that it loads,
// that every image is drawn (naturalWidth > 0), that no output shows a traceback, an error or a widget left
// undrawn, that the page raises no script error, and that it asks nothing of the network: a request to any
// other host is refused and named. Then that every file of the book was reached. A screenshot of each page's
// top, and of its first figure, goes to <shots>/; the findings to <shots>/book_check.json. Exit 1 on any failure.
import { chromium } from "playwright-core";
import { writeFileSync } from "node:fs";
import path from "node:path";

const spec = JSON.parse(process.argv[2]);
const base = new URL(spec.url);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" });
const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
const external = [];
// Nothing leaves the loopback server: what a page would fetch from elsewhere is refused and named.
await context.route("**/*", (route) => {
  const url = new URL(route.request().url());
  if (url.protocol === "data:" || url.host === base.host) return route.continue();
  external.push(url.href);
  return route.abort();
});

// What a page shows, read in the page itself.
function inspect() {
  const text = document.body.innerText;
  const stderr = [...document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')];
  return {
    title: document.title,
    images: [...document.images].map((img) => ({ src: img.currentSrc.slice(0, 40), drawn: img.complete && img.naturalWidth > 0,
                                                 width: img.naturalWidth })),
    tracebacks: (text.match(/Traceback/g) ?? []).length,
    errorOutputs: stderr.filter((el) => /Error/.test(el.textContent)).map((el) => el.textContent.trim().slice(0, 200)),
    // nbconvert writes a widget it cannot draw as a <script> holding the widget's model id.
    widgets: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"], .jupyter-widgets').length,
    links: [...document.querySelectorAll("a[href]")].map((a) => a.href),
    codeCells: document.querySelectorAll(".jp-CodeCell").length,
  };
}

const pages = [];
const queue = ["index.html"];
const seen = new Set(queue);
while (queue.length) {
  const file = queue.shift();
  const page = await context.newPage();
  const scriptErrors = [];
  page.on("pageerror", (err) => scriptErrors.push(err.message));
  page.on("console", (message) => message.type() === "error" && scriptErrors.push(message.text()));
  const started = Date.now();
  const response = await page.goto(new URL(file, base).href, { waitUntil: "load" }).catch((err) => ({ error: err }));
  const found = { file, status: response?.status?.() ?? `failed: ${response?.error?.message}`, failures: [] };
  if (found.status === 200) {
    Object.assign(found, await page.evaluate(inspect), { seconds: (Date.now() - started) / 1000 });
    const stem = file.replace(/\.html$/, "");
    await page.screenshot({ path: path.join(spec.shots, `${stem}.png`) });
    const figure = page.locator(".jp-OutputArea-output img").first();
    if (await figure.count()) {
      await figure.scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(spec.shots, `${stem}_figure.png`) });
    }
    const undrawn = found.images.filter((img) => !img.drawn);
    if (undrawn.length) found.failures.push(`${undrawn.length} of ${found.images.length} images not drawn: ${undrawn.map((i) => i.src).join(", ")}`);
    if (found.tracebacks) found.failures.push(`"Traceback" appears ${found.tracebacks} time(s)`);
    if (found.errorOutputs.length) found.failures.push(`error output: ${found.errorOutputs.join(" | ")}`);
    if (found.widgets) found.failures.push(`${found.widgets} widget(s) not drawn`);
    for (const href of found.links) {
      const url = new URL(href);
      const next = url.pathname.replace(/^\//, "");
      if (url.host === base.host && next.endsWith(".html") && !seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
    delete found.links;
  } else {
    found.failures.push(`did not load (${found.status})`);
  }
  if (scriptErrors.length) found.failures.push(`script errors: ${scriptErrors.join(" | ")}`);
  pages.push(found);
  const images = found.images ? `${found.images.filter((i) => i.drawn).length}/${found.images.length} images drawn, ` : "";
  console.log(`${found.failures.length ? "FAIL" : "ok  "} ${file}: ${images}${found.codeCells ?? 0} code cells, ` +
              `${found.tracebacks ?? 0} tracebacks, ${found.errorOutputs?.length ?? 0} error outputs, ${found.widgets ?? 0} undrawn widgets` +
              (found.failures.length ? `\n     ${found.failures.join("\n     ")}` : ""));
  await page.close();
}
await browser.close();

const unreached = spec.files.filter((file) => !seen.has(file));
const failures = [
  ...pages.flatMap((p) => p.failures.map((f) => `${p.file}: ${f}`)),
  ...unreached.map((file) => `${file}: no link leads to it from the contents`),
  ...[...new Set(external)].map((url) => `a page asked the network for ${url}`),
];
const summary = { url: spec.url, pages, unreached, external: [...new Set(external)], failures };
writeFileSync(path.join(spec.shots, "book_check.json"), JSON.stringify(summary, null, 1) + "\n");
const images = pages.reduce((n, p) => n + (p.images?.length ?? 0), 0);
console.log(`${pages.length} pages, ${images} images, ${external.length} requests off the loopback server; ` +
            (failures.length ? `${failures.length} failure(s):\n  ${failures.join("\n  ")}` : "no failure"));
process.exit(failures.length ? 1 : 0);
