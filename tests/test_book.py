"""labtools.book (`make book`) on tiny executed notebooks: no browser (tests/browser/book_check.py is that)."""
import base64
import json
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labtools import book, notebook_setup
from labtools.pipeline import notebooks_in_order

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082")).decode()
COMMIT = "0123456789abcdef0123456789abcdef01234567"
WIDGET = {"version_major": 2, "version_minor": 0, "model_id": "abc"}


def _figure(data=None):
    cell = new_code_cell("fig")
    cell.outputs = [new_output("display_data", data=data or {"image/png": PNG, "text/plain": "<Figure>"})]
    return cell


def _write(outputs, name, *cells, metadata=None):
    (outputs / "notebooks").mkdir(exist_ok=True)
    nbformat.write(new_notebook(cells=list(cells), metadata=metadata or {}), outputs / "notebooks" / f"{name}.ipynb")


def _run(outputs, names, status="ok", file="run.json"):
    record = {"profile": "smoke", "device": "cpu (2 threads)", "git_commit": COMMIT, "status": status,
              "started": "2026-12-05T02:22:44+00:00", "total_seconds": 90, "versions": {"torch": "2.15.0"},
              "notebooks": {name: {"status": "ok", "seconds": 12.0, "trained": True} for name in names}}
    (outputs / file).write_text(json.dumps(record))


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    title = "# 01 · First\n\n" + notebook_setup.badges("01_a") + "\n\nWhat the first one teaches."
    _write(tmp_path, "01_a", new_markdown_cell(title), _figure(), _figure())
    # A headless run's explorer: the sliders' state in the metadata, its figure drawn beside the widget.
    explorer = _figure({"application/vnd.jupyter.widget-view+json": WIDGET, "image/png": PNG, "text/plain": "VBox()"})
    model = {"model_name": "VBoxModel", "model_module": "@jupyter-widgets/controls", "state": {}}
    state = {"application/vnd.jupyter.widget-state+json": {"state": {"abc": model}, "version_major": 2,
                                                           "version_minor": 0}}
    _write(tmp_path, "02_b", new_markdown_cell("# 02 · Second\n\nThe second."), explorer, metadata={"widgets": state})
    _run(tmp_path, ["01_a", "02_b"])
    return tmp_path


def test_the_index_links_every_notebook_of_the_run_and_says_which_run(outputs):
    _write(outputs, "03_stale", new_markdown_cell("# 03 · From an older run"))  # not in run.json: no page

    out, pages = book.build_book()

    assert out == outputs / "book"
    assert pages == ["index.html", "01_a.html", "02_b.html", "report.html"]
    assert sorted(p.name for p in out.iterdir()) == sorted(pages)
    index = (out / "index.html").read_text()
    assert re.findall(r'href="(\w+\.html)"', index) == ["index.html", "01_a.html", "02_b.html", "report.html",
                                                       "index.html"]  # the bars at top and bottom, the table
    assert "01 · First" in index and "What the first one teaches." in index and "The second." in index
    assert "smoke" in index and "cpu (2 threads)" in index and "2026-12-05 02:22:44 UTC" in index
    assert f"{notebook_setup.repository_url()}/commit/{COMMIT}" in index and ">0123456<" in index
    assert '<nav class="book"><a href="index.html">Contents</a></nav>' in (out / "report.html").read_text()


def test_each_page_embeds_its_figures_and_loads_nothing_from_the_network(outputs):
    out, _ = book.build_book()

    first, second = (out / "01_a.html").read_text(), (out / "02_b.html").read_text()
    assert first.count(f"data:image/png;base64,{PNG}") == 2 and second.count(PNG) == 1
    for page in (first, second, (out / "index.html").read_text()):
        assert not re.search(r"<script[^>]*\ssrc=", page)  # no require.js, MathJax or widget manager
        assert not re.search(r'<img[^>]*src="http', page)
        assert "widget-view+json" not in page and "widget-state+json" not in page
    # The badges are links, not remote images; the bars lead to the contents and the pages either side.
    assert 'href="https://colab.research.google.com/github/' in first and notebook_setup.COLAB_BADGE not in first
    assert '<a href="02_b.html">02 · Second →</a>' in first and '<a href="01_a.html">← 01 · First</a>' in second


def test_mathjax_is_loaded_only_by_a_page_with_latex(outputs):
    _write(outputs, "01_a", new_markdown_cell("# 01 · Maths\n\nThe loss $\\|x - \\hat x\\|^2$."))
    _write(outputs, "02_b", new_markdown_cell("# 02 · None\n\nSet `$LAB_OUTPUTS` first (a `$HOME` path works)."))
    out, _ = book.build_book()

    assert "mathjax" in (out / "01_a.html").read_text().lower()
    assert "mathjax" not in (out / "02_b.html").read_text().lower()


def test_a_run_is_named_by_the_make_target_that_runs_it():
    assert book.run_command(["04_gan_mnist"]) == "make run-gan-mnist"
    assert book.run_command(["01_autoencoder", "02_vae"]) == "python -m labtools.pipeline run --only 01_autoencoder 02_vae"


def test_an_extra_run_has_its_own_section(outputs, monkeypatch):
    monkeypatch.setitem(book.EXTRA_RUNS, "02_b_digits", ("02_b", {"dataset": "mnist"}))
    _write(outputs, "02_b_digits", new_markdown_cell("# 02 · Second"), _figure())
    _run(outputs, ["02_b_digits"], file="run_02_b_digits.json")

    out, pages = book.build_book()

    assert "02_b_digits.html" in pages
    index = (out / "index.html").read_text()
    assert "Also run: <code>python -m labtools.pipeline run --only 02_b_digits</code>" in index and "<code>dataset='mnist'</code>" in index
    assert '<a href="02_b_digits.html">02_b_digits: 02 · Second</a>' in index


@pytest.mark.parametrize("case, message", [
    ("failed run", "run.json: the run did not finish .failed in 02_b.ipynb."),
    ("error", r"01_a.ipynb, cell 2 raised ZeroDivisionError: division by zero"),
    ("widget alone", "02_b.ipynb, cell 2 shows a widget with no static figure"),
    ("missing notebook", "make run-all recorded 02_b, but .* is not there"),
    ("no run", "No run record"),
])
def test_what_cannot_make_a_book_is_refused_and_leaves_the_last_one(outputs, case, message):
    out, _ = book.build_book()
    if case == "failed run":
        _run(outputs, ["01_a", "02_b"], status="failed in 02_b.ipynb")
    elif case == "error":
        failed = new_code_cell("1/0")
        failed.outputs = [new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]
        _write(outputs, "01_a", new_markdown_cell("# 01"), failed)
    elif case == "widget alone":
        _write(outputs, "02_b", new_markdown_cell("# 02"), _figure({"application/vnd.jupyter.widget-view+json": WIDGET,
                                                                  "text/plain": "VBox()"}))
    elif case == "missing notebook":
        (outputs / "notebooks" / "02_b.ipynb").unlink()
    else:
        (outputs / "run.json").unlink()

    with pytest.raises(book.BookError, match=message):
        book.build_book()
    assert book.main([]) == 1
    assert sorted(p.name for p in outputs.iterdir() if p.name.startswith("book")) == ["book"]  # the last one, whole
    assert (out / "01_a.html").exists() and (out / "index.html").exists()


def test_what_each_notebook_teaches_comes_from_the_readme_table():
    teaches = book.teaches()
    assert sorted(teaches) == [p.stem for p in notebooks_in_order()]
    assert all(text and "|" not in text for text in teaches.values())
