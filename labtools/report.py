"""The lab report from the last run, and the command behind `make report` and `make readme`.

    python -m labtools.report          # outputs/report.html (what `make report` runs)
    python -m labtools.report readme   # README.md and docs/ pages (written by `labtools.results`)

The report: objective and method, then every notebook's narrative, figures, tables and computed
conclusions, in order; code hidden unless `--show-code`; every image embedded, no script from the
network, so it opens offline.
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

from labtools import notebook_setup
from labtools.results import ReportError, load_metrics, update_readme, verdicts_markdown
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
SKIPPED_TAGS = {"parameters", "injected-parameters"}  # papermill's cells: run context, not report


def _errors(nb: nbformat.NotebookNode) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def _run_summary(run: dict) -> str:
    minutes = run.get("total_seconds", 0) / 60
    sources = "; ".join(run.get("data_sources", [])) or "see each section"
    versions = ", ".join(f"{k} {v}" for k, v in run.get("versions", {}).items())
    return (f"# Generative models lab: report\n\n"
            f"| | |\n|---|---|\n"
            f"| profile | `{run.get('profile', '?')}` |\n"
            f"| device | {run.get('device', '?')} |\n"
            f"| started | {run.get('started', '?')} |\n"
            f"| duration | {minutes:.1f} min |\n"
            f"| git commit | `{run.get('git_commit', '?')}` |\n"
            f"| versions | {versions} |\n"
            f"| data | {sources} |\n")


def gif_as_html(output: nbformat.NotebookNode) -> None:
    """nbconvert's HTML templates have no rule for image/gif (they fall back to the text form):
    give an animation an <img> with its data embedded, which every browser plays."""
    data = output.get("data", {})
    if "image/gif" in data and "text/html" not in data:
        encoded = "".join(data["image/gif"].split())
        data["text/html"] = f'<img src="data:image/gif;base64,{encoded}" alt="animation">'


def _report_cells(path: Path, first_id: int) -> list[nbformat.NotebookNode]:
    """The cells of one executed notebook as the report shows them; refused if a cell raised."""
    nb = nbformat.read(path, as_version=4)
    errors = _errors(nb)
    if errors:
        raise ReportError(f"{path.name} has cells that raised ({'; '.join(errors)}): "
                          "fix the run first.")
    cells = []
    for cell in nb.cells:
        if SKIPPED_TAGS & set(cell.metadata.get("tags", [])):
            continue
        cell = copy.deepcopy(cell)
        # ids must be unique across notebooks
        cell["id"] = f"{path.stem}-{cell.get('id', first_id + len(cells))}"
        if cell.cell_type == "markdown":  # badges: remote images, and of use in a notebook only
            cell.source = BADGE.sub("", cell.source)
        for output in cell.get("outputs", []):
            gif_as_html(output)
        cells.append(cell)
    return cells


def combined_notebook(executed_dir: Path, run: dict) -> nbformat.NotebookNode:
    """One notebook: a summary, objective and method, then each executed notebook's cells.

    The notebooks of `make run-all`, whose record `run` is: not the extra runs
    (`make run-gan-mnist`), which have records of their own."""
    paths = [p for p in sorted(executed_dir.glob("[0-9][0-9]_*.ipynb")) if p.stem not in EXTRA_RUNS]
    if not paths:
        raise ReportError(f"No executed notebooks in {executed_dir}: run `make run-all` first.")
    cells = [new_markdown_cell(_run_summary(run)), new_markdown_cell(OBJECTIVE),
             new_markdown_cell(METHOD)]
    if claims := verdicts_markdown(load_metrics(), readings=True):
        cells.append(new_markdown_cell("## Verdicts on the reports' claims\nEach is tested in the notebook named "
                                       "beside it, where its test and its numbers are shown.\n\n" + claims))
    for path in paths:
        cells += _report_cells(path, len(cells))
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return new_notebook(cells=cells, metadata={"kernelspec": kernelspec})


def build_report(out: Path | None = None, show_code: bool = False) -> Path:
    """Write `outputs/report.html` from `outputs/notebooks/` and `outputs/run.json`; return
    its path."""
    from nbconvert import HTMLExporter

    run_json = outputs_dir() / "run.json"
    run = json.loads(run_json.read_text()) if run_json.exists() else {}
    nb = combined_notebook(outputs_dir("notebooks"), run)
    exporter = HTMLExporter(template_name="lab", exclude_input=not show_code, embed_images=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    # Offline: no script from a CDN (the report has no widgets and no LaTeX that needs them).
    exporter.mathjax_url = exporter.require_js_url = exporter.jquery_url = ""
    exporter.widget_renderer_url = exporter.mermaid_js_url = ""
    resources = {"metadata": {"name": "Generative models lab: report"}}
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    out = out or outputs_dir() / "report.html"
    out.write_text(html, encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", choices=("html", "readme"), default="html",
                        help="html: outputs/report.html (default); readme: the README's results "
                             "and claims, docs/results.md, docs/performance.md's timings and bench")
    parser.add_argument("--show-code", action="store_true", help="keep the code cells (html)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        if args.what == "readme":
            written = ", ".join(str(path) for path in update_readme())
            print(f"marked sections of {written} rewritten from {outputs_dir()}")
            return 0
        path = build_report(args.out, args.show_code)
    except ReportError as err:
        print(f"report: {err}", file=sys.stderr)
        return 1
    print(f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
