"""The rendered lab: the last run's executed notebooks as a static HTML site, what `make book` builds.

    python -m labtools.book            # outputs/book/ from outputs/run.json and outputs/notebooks/

One page per notebook of the run, as the run left it (text, code, every figure and table), an index
that says what each notebook teaches and which run made the pages (profile, commit, device, date),
and the run's report (`make report`). Pages are nbconvert's "lab" template, as the report's are,
with every figure embedded and nothing loaded from the network: a headless run draws each explorer
as its static figure, so no page needs the widget manager; require.js goes too, and MathJax is kept
only on a page whose Markdown has LaTeX (none has today; it would load from a CDN at view time). The
"Open in Colab/Kaggle" badges, remote images, become plain links. A run that failed, or a page with
an error or a widget that has no static figure, is refused. `tests/browser/book_check.py` opens
every page in headless chromium.
"""
from __future__ import annotations

import argparse
import copy
import html
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbformat.v4 import new_markdown_cell, new_notebook

from labtools import notebook_setup
from labtools.report import gif_as_html, build_report
from labtools.results import ReportError
from labutils.profiles import EXTRA_RUNS
from labutils.runtime import outputs_dir, repo_root

# The lab template, less what loads from the network, with a bar to the contents and the pages either side.
TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock -%}
{%- block jupyter_widgets -%}{%- endblock -%}
{%- block html_head_js_mermaidjs -%}{%- endblock -%}
{%- block html_head_js_mathjax -%}{% if resources.book_math %}{{ super() }}{% endif %}{%- endblock -%}
{%- block extra_css -%}{{ resources.book_style }}{%- endblock extra_css -%}
{%- block body_header -%}{{ super() }}{{ resources.book_nav }}{%- endblock body_header -%}
{%- block body_footer -%}{{ resources.book_nav | replace('class="book"', 'class="book bottom"') }}\
{{ super() }}{%- endblock body_footer -%}
"""
NAV_STYLE = """<style>
nav.book { display: flex; gap: 1.5em; flex-wrap: wrap; padding: 0.6em 1em; margin: 0 0 1em;
  border-bottom: 1px solid #ddd; font-family: var(--jp-ui-font-family); font-size: 14px; background: #f7f7f7; }
nav.book.bottom { border-top: 1px solid #ddd; border-bottom: none; margin: 2em 0 0; }
nav.book a { text-decoration: none; }
</style>"""
WIDGET = "application/vnd.jupyter.widget-view+json"
STATIC = ("image/png", "image/jpeg", "image/svg+xml", "image/gif", "text/html", "text/markdown")
# A Colab or Kaggle badge, `[![Open in Colab](badge.svg)](link)`, whatever notebook it opens.
BADGE = re.compile(r"\[!\[([^\]]*)\]\((?:%s|%s)\)\]\(([^)\s]*)\)" % (
    re.escape(notebook_setup.COLAB_BADGE), re.escape(notebook_setup.KAGGLE_BADGE)))
# LaTeX in Markdown ($...$, $$...$$, \(...\), \[...\]) once code spans and blocks are taken out.
MATH = re.compile(r"\$\$.+?\$\$|\$[^\s$][^$\n]*\$|\\\(.+?\\\)|\\\[.+?\\\]", re.DOTALL)
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


class BookError(ReportError):
    """The run is missing, failed, or left a page that cannot be shown: no book is made from it."""


def run_records(outputs: Path) -> list[tuple[str, dict]]:
    """[(command, record)]: `make run-all`'s run.json, then each extra run's run_NAME.json, each of which
    holds the notebooks that run wrote (outputs/notebooks/NAME.ipynb). Refused when a run failed."""
    if not (outputs / "run.json").exists():
        raise BookError(f"No run record at {outputs / 'run.json'}: run `make run-all` first.")
    records = []
    for path in [outputs / "run.json", *sorted(outputs.glob("run_*.json"))]:
        record = json.loads(path.read_text())
        if record.get("status") != "ok":
            raise BookError(f"{path.name}: the run did not finish ({record.get('status', 'no status')}); "
                            "fix it and run it again.")
        command = "make run-all" if path.name == "run.json" else run_command(path.stem.removeprefix("run_").split("+"))
        records.append((command, record))
    return records


def run_command(notebooks: list[str]) -> str:
    """The command that runs just these notebooks: the Makefile's target whose recipe runs `--only` them
    (`make run-gan-mnist`), else the pipeline's own."""
    only = "--only " + " ".join(notebooks)
    makefile = (repo_root() / "Makefile").read_text(encoding="utf-8")
    for target, recipe in re.findall(r"^(run-[\w-]+):.*\n((?:\t.*\n)+)", makefile, re.MULTILINE):
        if re.search(re.escape(only) + r"(\s|$)", recipe):
            return f"make {target}"
    return f"python -m labtools.pipeline run {only}"


def teaches() -> dict[str, str]:
    """{notebook: what it teaches}, from the README's table of the notebooks (one source for both)."""
    readme = (repo_root() / "README.md").read_text(encoding="utf-8")
    table = re.search(r"^\| notebook \| what it teaches \|\n\|[-|]+\|\n((?:\|.*\n)+)", readme, re.MULTILINE)
    return dict(re.findall(r"^\| `(\d\d_\w+)` \| (.+?) \|$", table.group(1), re.MULTILINE)) if table else {}


def extra_run(name: str) -> str | None:
    """What an extra run is (`04_gan_mnist`: "`04_gan` again, with dataset="mnist", ..."), or None."""
    if name not in EXTRA_RUNS:
        return None
    base, changes = EXTRA_RUNS[name]
    return f"`{base}` again, with " + ", ".join(f"`{k}={v!r}`" for k, v in changes.items())


def title_and_summary(nb: nbformat.NotebookNode) -> tuple[str, str]:
    """The first Markdown cell's heading, and its first paragraph that is neither heading nor badges."""
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    paragraphs = [p.strip() for p in first.split("\n\n") if p.strip()]
    heading = next((p.lstrip("# ") for p in paragraphs if p.startswith("#")), "")
    body = next((p for p in paragraphs if not p.startswith("#") and not BADGE.search(p)), "")
    return heading, " ".join(body.split())


def page_notebook(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """A copy of an executed notebook as its page shows it: badges as links, animations as images, no
    widget state. Refused if a cell raised, or shows a widget with no static figure beside it."""
    nb = copy.deepcopy(nb)
    # The state of the sliders a headless run made but never showed: without it nbconvert draws an output's
    # static figure in place of the widget (with it, a <script> for the widget manager, from a CDN).
    nb.metadata.pop("widgets", None)
    for number, cell in enumerate(nb.cells, 1):
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"\) (?=\[Open in)", ") · ", BADGE.sub(r"[\1](\2)", cell.source))
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                raise BookError(f"{name}.ipynb, cell {number} raised {output.ename}: {output.evalue}")
            data = output.get("data", {})
            if WIDGET in data:
                if not any(mime in data for mime in STATIC):
                    raise BookError(f"{name}.ipynb, cell {number} shows a widget with no static figure: "
                                    "run the notebooks headless (`make run-all`), which draws each explorer.")
            gif_as_html(output)
    return nb


def has_math(nb: nbformat.NotebookNode) -> bool:
    return any(MATH.search(CODE.sub("", c.source)) for c in nb.cells if c.cell_type == "markdown")


def exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", template_file="book.html.j2", embed_images=True,
                        extra_loaders=[DictLoader({"book.html.j2": TEMPLATE})])


def nav(pages: list[tuple[str, str]], index: int | None) -> str:
    """The bar of links at the top and bottom of a page: the contents, and the pages before and after."""
    links = ['<a href="index.html">Contents</a>']
    if index is not None and index > 0:
        links.append(f'<a href="{pages[index - 1][0]}.html">← {html.escape(pages[index - 1][1])}</a>')
    if index is not None and index + 1 < len(pages):
        links.append(f'<a href="{pages[index + 1][0]}.html">{html.escape(pages[index + 1][1])} →</a>')
    return f'<nav class="book">{" ".join(links)}</nav>'


def commit_link(commit: str) -> str:
    """`abc1234` linked to the commit on the repository, "+ uncommitted edits" when the tree was dirty."""
    full = commit.removesuffix("-dirty")
    if not re.fullmatch(r"[0-9a-f]{40}", full):
        return f"`{commit}`"
    link = f"[`{full[:7]}`]({notebook_setup.repository_url()}/commit/{full})"
    return link + (" + uncommitted edits" if commit.endswith("-dirty") else "")


def run_table(command: str, record: dict) -> str:
    started = record.get("started", "?").replace("T", " ").replace("+00:00", " UTC")
    versions = ", ".join(f"{k} {v}" for k, v in record.get("versions", {}).items())
    rows = [("command", f"`{command} PROFILE={record.get('profile', '?')}`"),
            ("profile", f"`{record.get('profile', '?')}`"), ("commit", commit_link(record.get("git_commit", "?"))),
            ("device", record.get("device", "?")), ("started", started),
            ("took", f"{record.get('total_seconds', 0) / 60:.1f} min"), ("versions", versions),
            ("data", "; ".join(record.get("data_sources", [])) or "—")]
    return "| the run | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def notebooks_table(entries: list[dict]) -> str:
    rows = [f"| [{e['title']}]({e['name']}.html) | {e['teaches']} | {e['seconds']:.0f} s | {e['trained']} |"
            for e in entries]
    return ("| notebook | what it teaches | time | its models |\n|---|---|---|---|\n" + "\n".join(rows))


def index_notebook(sections: list[tuple[str, dict, list[dict]]], report_error: str | None) -> nbformat.NotebookNode:
    """The contents page: the run, then each notebook with what it teaches, the report, and any extra run."""
    command, record, entries = sections[0]
    cells = [new_markdown_cell(
        "# Generative models lab: the notebooks, run\n\n"
        "Each page is one of the lab's notebooks as a headless run left it: the lesson's text, its code, and "
        "what the code printed and drew with the parameters of the run's profile. The sliders of the "
        "explorers are shown as the static figures a headless run draws: open a notebook in Jupyter, Colab "
        "or Kaggle (the links at the top of each page) to move them and to change the code.\n\n"
        + run_table(command, record)),
        new_markdown_cell("## The notebooks\n\n" + notebooks_table(entries))]
    if report_error is None:
        cells.append(new_markdown_cell(
            "## The report\n\n[The lab report](report.html): every notebook's text, figures, tables and "
            "verdicts without the code, and the verdict on each of the lab reports' claims."))
    else:
        cells.append(new_markdown_cell("## The report\n\nNot built: " + html.escape(report_error)))
    for command, record, entries in sections[1:]:
        cells.append(new_markdown_cell(f"## Also run: `{command}`\n\n" + notebooks_table(entries)
                                       + "\n\n" + run_table(command, record)))
    cells.append(new_markdown_cell("---\nBuilt by `make book` (`labtools/book.py`) from the run's "
                                   "executed notebooks; `make run-all` then `make book` builds it anew."))
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def read_sections(outputs: Path) -> list[tuple[str, dict, list[dict]]]:
    """[(command, its run record, [each notebook it ran: name, title, what it teaches, the notebook, ...])]."""
    sections, readme = [], teaches()
    for command, record in run_records(outputs):
        entries = []
        for name, entry in record["notebooks"].items():
            path = outputs / "notebooks" / f"{name}.ipynb"
            if not path.exists():
                raise BookError(f"{command} recorded {name}, but {path} is not there.")
            nb = nbformat.read(path, as_version=4)
            title, summary = title_and_summary(nb)
            title = f"{name}: {title}" if name in EXTRA_RUNS and title else title or name  # not the base's title
            entries.append({"name": name, "title": title, "nb": nb, "seconds": entry.get("seconds", 0),
                            "teaches": readme.get(name) or extra_run(name) or summary or "—",
                            "trained": "trained" if entry.get("trained") else "loaded"})
        sections.append((command, record, entries))
    return sections


def write_pages(sections: list[tuple[str, dict, list[dict]]], folder: Path) -> list[str]:
    """Each notebook's page, the report and the index, into `folder`; returns their file names."""
    exporter_ = exporter()
    entries = [entry for _, _, section in sections for entry in section]
    pages = [(entry["name"], entry["title"]) for entry in entries]
    for number, entry in enumerate(entries):
        nb = page_notebook(entry["nb"], entry["name"])
        resources = {"metadata": {"name": entry["title"]}, "book_nav": nav(pages, number), "book_style": NAV_STYLE,
                     "book_math": has_math(nb)}
        body, _ = exporter_.from_notebook_node(nb, resources=resources)
        (folder / f"{entry['name']}.html").write_text(body, encoding="utf-8")
    try:
        report = build_report(folder / "report.html")
        # `make report`'s page, with the bar back to the contents
        html_ = report.read_text(encoding="utf-8").replace("<main>", "<main>" + NAV_STYLE + nav(pages, None), 1)
        report.write_text(html_, encoding="utf-8")
        report_error = None
    except ReportError as err:  # e.g. no metrics: the pages stand without it
        report_error = str(err)
    resources = {"metadata": {"name": "Generative models lab"}, "book_nav": nav(pages, None), "book_style": NAV_STYLE,
                 "book_math": False}
    body, _ = exporter_.from_notebook_node(index_notebook(sections, report_error), resources=resources)
    (folder / "index.html").write_text(body, encoding="utf-8")
    return ["index.html", *(f"{name}.html" for name, _ in pages), *(["report.html"] if report_error is None else [])]


def build_book(out: Path | None = None) -> tuple[Path, list[str]]:
    """Write the book of the last run into `out` (outputs/book/); return it and its pages' file names.

    Written beside it first, and put in its place only when whole: a refused run leaves the last book."""
    outputs = outputs_dir()
    out = out or outputs / "book"
    sections = read_sections(outputs)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        pages = write_pages(sections, partial)
    except BaseException:
        shutil.rmtree(partial)
        raise
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    return out, pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="the folder to write (default: outputs/book/)")
    args = parser.parse_args(argv)
    try:
        out, pages = build_book(args.out)
    except BookError as err:
        print(f"book: {err}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    print(f"book: {len(pages)} pages ({size:.1f} MB) in {out}: open {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
