"""What a real run left behind: `make test` executes every notebook with the smoke profile
(papermill, into $LAB_OUTPUTS) before pytest starts and sets LAB_SMOKE_RUN=1; these tests build
the lab report from that run and check the run's record."""
import json
import os
import re

import nbformat
import pytest

from labtools import report
from labtools.pipeline import notebooks_in_order
from labutils.runtime import outputs_dir

pytestmark = pytest.mark.skipif(os.environ.get("LAB_SMOKE_RUN") != "1",
                                reason="needs the smoke run that `make test` makes first (LAB_SMOKE_RUN=1)")


def _executed_notebooks():
    return [nbformat.read(outputs_dir("notebooks") / p.name, as_version=4) for p in notebooks_in_order()]


def _outputs(nb, mime):
    return [o["data"][mime] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if mime in o.get("data", {})]


def test_the_smoke_run_executed_every_notebook():
    # Each cell's own checks (ran, in order, without an error) are tests/test_notebook_cells.py's.
    run = json.loads((outputs_dir() / "run.json").read_text())
    assert run["profile"] == "smoke" and run["status"] == "ok"
    assert set(run["notebooks"]) == {p.stem for p in notebooks_in_order()}


def test_the_report_of_the_smoke_run_holds_every_figure_and_table(tmp_path):
    html = report.build_report(out=tmp_path / "report.html").read_text()
    notebooks = _executed_notebooks()

    pngs = [png for nb in notebooks for png in _outputs(nb, "image/png")]
    gifs = [gif for nb in notebooks for gif in _outputs(nb, "image/gif")]
    assert len(pngs) >= 20 and gifs  # the run made its figures and the GAN's animation
    for image in pngs + gifs:
        assert "".join(image.split()) in html  # embedded, byte for byte
    assert html.count('src="data:image/png;base64,') == len(pngs)  # and nothing else

    # Every table: those the notebooks computed (Markdown displays and DataFrames), those in their
    # narrative, the run's summary table and the verdicts of every notebook; a Markdown table is counted
    # by its |---| line.
    def markdown_tables(text):
        return len(re.findall(r"^\|[-| :]+\|$", text, re.M))

    computed = sum(markdown_tables(md) for nb in notebooks for md in _outputs(nb, "text/markdown"))
    dataframes = sum(frame.count("<table") for nb in notebooks for frame in _outputs(nb, "text/html"))
    narrative = sum(markdown_tables(c.source) for nb in notebooks for c in nb.cells if c.cell_type == "markdown")
    assert computed >= 3 and dataframes >= 4
    assert html.count("<table") == computed + dataframes + narrative + 2
    assert "Verdicts on the reports&#39; claims" in html or "Verdicts on the reports' claims" in html
    for stem in ("01_autoencoder", "02_vae", "03_evaluation", "04_gan"):  # the report's verdict table names each
        assert f"<code>{stem}</code>" in html
    assert "smoke" in html and 'src="http' not in html  # the run it came from; opens offline
    for nb in notebooks:  # every notebook's title is a section of the report
        title = next(c.source for c in nb.cells if c.cell_type == "markdown").splitlines()[0].lstrip("# ")
        assert title in html


def test_the_smoke_run_of_the_gan_on_mnist_scored_digits_with_the_classifier():
    run = json.loads((outputs_dir() / "run_04_gan_mnist.json").read_text())
    assert run["status"] == "ok" and "MNIST" in run["data_sources"][0]
    metrics = json.loads((outputs_dir("metrics") / "04_gan_mnist.json").read_text())
    assert metrics["config"]["dataset"] == "mnist" and metrics["config"]["image_size"] == 32
    assert metrics["classifier_frechet_distance"] > metrics["classifier_frechet_distance_floor"] > 0
    assert sum(metrics["generated_digit_share"]) == pytest.approx(1.0)
    assert metrics["recipe_run"] is None and metrics["options_study"] == {}  # not run on MNIST
    assert (outputs_dir("figures") / "04_gan_mnist_fixed_noise_final.png").exists()


def test_the_smoke_run_s_03_evaluated_the_runs_that_01_and_02_recorded():
    metrics = json.loads((outputs_dir("metrics") / "03_evaluation.json").read_text())
    lines = metrics["evaluated_runs"]
    assert [line.split(":")[0] for line in lines] == ["AE", "VAE"]
    assert all("last run, recorded" in line and "loaded, nothing trains" in line for line in lines), lines
    assert metrics["checkpoints_found"] == {"AE": True, "VAE": True}
    for notebook, model in (("01_autoencoder", "ae"), ("02_vae", "vae")):
        record = json.loads((outputs_dir("metrics") / f"{notebook}.json").read_text())
        assert len(record["checkpoints"]) == record["parameters"]["seeds"]
        assert {**metrics["configs"][model], "device": None} == {**record["config"], "device": None}
