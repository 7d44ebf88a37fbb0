"""The lab report: the executed notebooks of the last run, as one self-contained HTML page.

    python -m labutils.report            # outputs/report.html (what `make report` runs)
    python -m labutils.report readme     # the README's results, timings and bench (what `make readme` runs)

Objective and method first, then every notebook's narrative, figures, tables and computed
conclusions, in order; code is hidden unless `--show-code`. Every image is embedded (base64),
and no script is loaded from the network, so the file opens offline.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook

from labutils import notebook_setup
from labutils.profiles import EXTRA_RUNS
from labutils.runtime import outputs_dir

OBJECTIVE = """\
## Objective
Build and train three generative models in PyTorch and check, with numbers, what the lab reports
claim about them: an **autoencoder (AE)** and a **variational autoencoder (VAE)** on MNIST, compared
by their losses, KL divergence and latent spaces, and a **generative adversarial network (GAN)** on
abstract art, evaluated by its losses, the discriminator's outputs and a distance between generated
and real images.
"""

METHOD = """\
## Method
Each section below is one notebook of the lab, executed headless by `make run-all` with the
parameters of the profile above; every number in its text was computed by that run. The models,
the data pipeline and the one training engine they share live in the `labutils` package.
"""


# "[![Open in Colab](badge.svg)](link)", and Kaggle's, whatever notebook they point to.
BADGE = re.compile(r"\[!\[[^\]]*\]\((?:%s|%s)\)\]\([^)]*\) ?" % (
    re.escape(notebook_setup.COLAB_BADGE), re.escape(notebook_setup.KAGGLE_BADGE)))


class ReportError(RuntimeError):
    """The run's notebooks are missing or contain an error: no report is made from them."""


def _errors(nb: nbformat.NotebookNode) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def _run_summary(run: dict) -> str:
    minutes = run.get("total_seconds", 0) / 60
    sources = "; ".join(run.get("data_sources", [])) or "see each section"
    return (f"# Generative models lab: report\n\n"
            f"| | |\n|---|---|\n"
            f"| profile | `{run.get('profile', '?')}` |\n"
            f"| device | {run.get('device', '?')} |\n"
            f"| started | {run.get('started', '?')} |\n"
            f"| duration | {minutes:.1f} min |\n"
            f"| git commit | `{run.get('git_commit', '?')}` |\n"
            f"| versions | {', '.join(f'{k} {v}' for k, v in run.get('versions', {}).items())} |\n"
            f"| data | {sources} |\n")


def _gif_as_html(output: nbformat.NotebookNode) -> None:
    """nbconvert's HTML templates have no rule for image/gif (they fall back to the text form):
    give an animation an <img> with its data embedded, which every browser plays."""
    data = output.get("data", {})
    if "image/gif" in data and "text/html" not in data:
        encoded = "".join(data["image/gif"].split())
        data["text/html"] = f'<img src="data:image/gif;base64,{encoded}" alt="animation">'


def combined_notebook(executed_dir: Path, run: dict) -> nbformat.NotebookNode:
    """One notebook: a summary, objective and method, then each executed notebook's cells.

    The notebooks of `make run-all`, whose record `run` is: not the extra runs (`make run-gan-mnist`),
    which have records of their own."""
    paths = [p for p in sorted(executed_dir.glob("[0-9][0-9]_*.ipynb")) if p.stem not in EXTRA_RUNS]
    if not paths:
        raise ReportError(f"No executed notebooks in {executed_dir}: run `make run-all` first.")
    cells = [new_markdown_cell(_run_summary(run)), new_markdown_cell(OBJECTIVE), new_markdown_cell(METHOD)]
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        errors = _errors(nb)
        if errors:
            raise ReportError(f"{path.name} has cells that raised ({'; '.join(errors)}): fix the run first.")
        for cell in nb.cells:
            cell = copy.deepcopy(cell)
            cell["id"] = f"{path.stem}-{cell.get('id', len(cells))}"  # ids must be unique across notebooks
            if cell.cell_type == "markdown":  # the badges are remote images, and only mean something in a notebook
                cell.source = BADGE.sub("", cell.source)
            if "parameters" in cell.metadata.get("tags", []) or "injected-parameters" in cell.metadata.get("tags", []):
                continue
            for output in cell.get("outputs", []):
                _gif_as_html(output)
            cells.append(cell)
    report = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                 "language": "python"}})
    return report


def build_report(out: Path | None = None, show_code: bool = False) -> Path:
    """Write `outputs/report.html` from `outputs/notebooks/` and `outputs/run.json`; return its path."""
    from nbconvert import HTMLExporter

    run_json = outputs_dir() / "run.json"
    run = json.loads(run_json.read_text()) if run_json.exists() else {}
    nb = combined_notebook(outputs_dir("notebooks"), run)
    exporter = HTMLExporter(template_name="lab", exclude_input=not show_code, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    # Offline: no script from a CDN (the report has no widgets and no LaTeX that needs them).
    exporter.mathjax_url = exporter.require_js_url = exporter.jquery_url = ""
    exporter.widget_renderer_url = exporter.mermaid_js_url = ""
    html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": "Generative models lab: report"}})
    out = out or outputs_dir() / "report.html"
    out.write_text(html, encoding="utf-8")
    return out


# -- the README's results section ----------------------------------------------------------------
README_FIGURES = {  # figure file (outputs/figures) -> caption
    "02_vae_losses": "VAE: total loss, reconstruction and KL per epoch",
    "03_loss_comparison": "AE and VAE losses on shared axes",
    "01_ae_reconstructions": "AE: test digits and reconstructions",
    "02_vae_reconstructions": "VAE: test digits and reconstructions",
    "02_vae_prior_samples": "VAE: samples from the prior",
    "03_latent_tsne_pca": "t-SNE and PCA of the AE and VAE latent spaces",
    "04_gan_real_vs_generated": "GAN: real images beside generated ones",
    "04_gan_options_run": "GAN: real images, the reports' set-up, and the same with DiffAugment, R1 and EMA",
    "04_gan_options_run_swd": "GAN: the distance to the real images during training, both runs",
    "04_gan_mnist_real_vs_generated": "GAN on MNIST (`make run-gan-mnist`): real digits beside generated ones",
}
SUPERSEDED = {"04_gan_real_vs_generated": "04_gan_options_run"}  # shown only when the other figure is missing
RESULTS_BEGIN, RESULTS_END = "<!-- results -->", "<!-- /results -->"
TIMINGS_BEGIN, TIMINGS_END = "<!-- timings -->", "<!-- /timings -->"
BENCH_BEGIN, BENCH_END = "<!-- bench -->", "<!-- /bench -->"
BENCH_METHOD = """\
`make bench` trains each model for full epochs with the lab's pipeline and with the same model
written the usual way: `datasets.MNIST` with `ToTensor()` through a shuffling `DataLoader`, plain
`torch.optim.Adam` and a `loss.item()` every step for the AE and VAE; `ImageFolder` with
resize/crop/normalise transforms through a `DataLoader` with two workers, plain Adam and NCHW
tensors for the GAN. Each measurement runs in its own process (so the peak memory is its own), and
lab and reference alternate (so machine noise hits both alike)."""
BENCH_WHY = """\
Where the lab's speed comes from: the data sets live in memory as uint8 tensors (on the GPU when
there is one), a batch is one indexing operation, and conversion and augmentation run per batch;
Adam runs as one fused kernel; the GAN's convolutions use the channels-last layout (oneDNN on the
CPU, cuDNN on the GPU); losses stay on the device and are read back once per epoch, not every step.
On CUDA the engine also uses bf16 autocast where supported, and `compile=True` in a config turns on
`torch.compile`."""


def _load_metrics() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(outputs_dir("metrics").glob("*.json"))}


def _fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _readme_figures() -> list[str]:
    """The README_FIGURES that this run made, less those that a figure it also made supersedes."""
    made = [name for name in README_FIGURES if (outputs_dir("figures") / f"{name}.png").exists()]
    return [name for name in made if SUPERSEDED.get(name) not in made]


def results_markdown(run: dict, metrics: dict[str, dict], figures_dir: str = "docs/figures") -> str:
    """The README's results section, from one run's `run.json` and metrics files."""
    ae, vae = metrics.get("01_autoencoder", {}), metrics.get("02_vae", {})
    ev, gan = metrics.get("03_evaluation", {}), metrics.get("04_gan", {})
    rows = [
        ("AE test reconstruction error (MSE per pixel)", _fmt(ae.get("test_mse"), ".5f")),
        ("VAE test reconstruction error (MSE per pixel, posterior mean)", _fmt(vae.get("test_recon_mse"), ".5f")),
        ("VAE test KL (nats per image)", _fmt(vae.get("test_kl"), ".2f")),
        ("VAE test loss, the negative ELBO it minimises (per image)", _fmt(vae.get("test_elbo"), ".2f")),
        ("VAE active latent units", f"{vae.get('active_units', '—')} of {vae.get('config', {}).get('latent_dim', '—')}"),
    ]
    iwae = ev.get("iwae", {})
    if iwae:
        rows.append((f"VAE test log-likelihood, importance-weighted (k = {iwae.get('k')}, nats per image)",
                     _fmt(iwae.get("log_likelihood_nats"), ".1f")))
    for key, name in (("knn_accuracy", "kNN (k=5) digit accuracy"), ("linear_probe_accuracy", "linear-probe accuracy"),
                      ("silhouette", "silhouette by digit")):
        if key in ev:
            values = ev[key]
            rows.append((f"{name}: pixels / PCA-32 / AE / VAE",
                         " / ".join(_fmt(values.get(k), ".3f") for k in ("pixels", "pca", "ae", "vae"))))
    if gan:
        rows.append((f"GAN sliced Wasserstein distance ×10³ ({gan.get('data_label', gan.get('data_source', ''))})",
                     f"{_fmt(gan.get('swd'), '.1f')} (floor, real vs real: {_fmt(gan.get('swd_floor'), '.1f')})"))
        if gan.get("options_run"):
            rows.append((f"GAN sliced Wasserstein distance ×10³ with DiffAugment, R1 and EMA, "
                         f"{gan['options_run'].get('epochs', '?')} epochs (the reports' set-up: {gan.get('epochs', '?')})",
                         _fmt(gan["options_run"].get("swd"), ".1f")))
    mnist = metrics.get("04_gan_mnist", {})
    if mnist:  # its own run, `make run-gan-mnist`: said in the row, with its profile
        source = f"MNIST, `make run-gan-mnist PROFILE={mnist.get('profile', '?')}`, {mnist.get('epochs', '?')} epochs"
        rows.append((f"GAN sliced Wasserstein distance ×10³ ({source})",
                     f"{_fmt(mnist.get('swd'), '.1f')} (floor: {_fmt(mnist.get('swd_floor'), '.1f')})"))
        rows.append(("GAN on MNIST: Fréchet distance in the lab classifier's features",
                     f"{_fmt(mnist.get('classifier_frechet_distance'), '.2f')} "
                     f"(floor: {_fmt(mnist.get('classifier_frechet_distance_floor'), '.2f')})"))
    table = "\n".join(["| measure | value |", "|---|---|", *(f"| {m} | {v} |" for m, v in rows)])
    minutes = run.get("total_seconds", 0) / 60
    header = (f"From one `make run-all PROFILE={run.get('profile', '?')}` run on {run.get('device', '?')}, "
              f"started {run.get('started', '?')}, {minutes:.0f} min in all "
              f"(commit `{run.get('git_commit', '?')[:12]}`). Data: {'; '.join(run.get('data_sources', [])) or '?'}. "
              f"`make readme` rewrites this section from `outputs/`; the full story is in `make report`.")
    figures = "\n\n".join(f"**{README_FIGURES[name]}**\n\n![{README_FIGURES[name]}]({figures_dir}/{name}.png)"
                           for name in _readme_figures())
    return f"{header}\n\n{table}\n\n{figures}\n"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def timings_markdown(run: dict, bench: dict | None) -> str:
    """The README's "how long does it take": the last run's wall times and `make bench`'s epochs."""
    notebooks = run.get("notebooks", {})
    rows = [f"| `{stem}` | {_duration(entry['seconds'])} |" for stem, entry in notebooks.items()]
    first_three = [e["seconds"] for stem, e in notebooks.items() if stem[:2] in ("01", "02", "03")]
    if len(first_three) == 3:
        rows.append(f"| 01–03 together | {_duration(sum(first_three))} |")
    rows.append(f"| all, with papermill's start-up | {_duration(run.get('total_seconds', 0))} |")
    text = (f"`make run-all PROFILE={run.get('profile', '?')}` on {run.get('device', '?')}, "
            f"started {run.get('started', '?')} (from `outputs/run.json`):\n\n"
            "| notebook | wall time |\n|---|---|\n" + "\n".join(rows))
    if bench:
        lines = [f"| {model.upper()} | {r['full_profile_epochs']} | {r['lab_epoch_s']:.2f} s | "
                 f"{r['lab_full_profile_min']:.1f} min | {r['reference_full_profile_min']:.1f} min |"
                 for model, r in bench["models"].items()]
        text += (f"\n\nTraining alone, from `make bench` on {bench['device']} ({bench.get('date', '?')}):\n\n"
                 "| model | full-profile epochs | lab epoch | lab, full profile | the usual way, full profile |\n"
                 "|---|---|---|---|---|\n" + "\n".join(lines))
    return text + "\n"


def bench_markdown(bench: dict) -> str:
    """The README's performance section: how `make bench` measures, its table, and why the lab is faster."""
    from labutils.bench import format_table

    return (f"{BENCH_METHOD}\n\nOutput of `make bench` on {bench.get('date', '?')} "
            f"(commit `{bench.get('git_commit', '?')[:12]}`):\n\n```\n{format_table(bench)}\n```\n\n{BENCH_WHY}\n")


def _replace_between(text: str, begin: str, end: str, body: str) -> str:
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n" + body + text[stop:]


def update_readme(readme: Path | None = None) -> Path:
    """Rewrite the README's results and timings (from the last run) and its performance section
    (from `outputs/bench.json`, when there is one), and copy the results' figures to docs/figures/."""
    import shutil

    from labutils.runtime import repo_root

    readme = readme or repo_root() / "README.md"
    run_json, bench_json = outputs_dir() / "run.json", outputs_dir() / "bench.json"
    if not run_json.exists():
        raise ReportError(f"{run_json} is missing: run `make run-all` first.")
    run = json.loads(run_json.read_text())
    if run.get("status") != "ok":
        raise ReportError(f"The last run did not finish ({run.get('status')}): the README shows finished runs only.")
    bench = json.loads(bench_json.read_text()) if bench_json.exists() else None
    docs = readme.parent / "docs" / "figures"
    docs.mkdir(parents=True, exist_ok=True)
    for name in _readme_figures():
        shutil.copyfile(outputs_dir("figures") / f"{name}.png", docs / f"{name}.png")
    text = readme.read_text()
    text = _replace_between(text, RESULTS_BEGIN, RESULTS_END, results_markdown(run, _load_metrics()))
    text = _replace_between(text, TIMINGS_BEGIN, TIMINGS_END, timings_markdown(run, bench))
    if bench is not None:
        text = _replace_between(text, BENCH_BEGIN, BENCH_END, bench_markdown(bench))
    readme.write_text(text)
    return readme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", choices=("html", "readme"), default="html",
                        help="html: outputs/report.html (default); readme: the README's results, timings and bench sections")
    parser.add_argument("--show-code", action="store_true", help="keep the code cells (html)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        if args.what == "readme":
            print(f"results, timings and performance sections of {update_readme()} rewritten from {outputs_dir()}")
            return 0
        path = build_report(args.out, args.show_code)
    except ReportError as err:
        print(f"report: {err}", file=sys.stderr)
        return 1
    print(f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
