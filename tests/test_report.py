import base64
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labutils import notebook_setup, report

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082")).decode()


def _executed(path, *cells):
    nb = new_notebook(cells=list(cells))
    nbformat.write(nb, path)


def _figure_cell():
    cell = new_code_cell("fig")
    cell.outputs = [new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]
    return cell


def test_report_embeds_every_figure_and_table_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    (tmp_path / "notebooks").mkdir()
    title = "# 01 · first\n\n" + notebook_setup.badges("01_other_name") + "\n\nIntro."  # badges of any notebook
    _executed(tmp_path / "notebooks" / "01_a.ipynb", new_markdown_cell(title), _figure_cell(), _figure_cell())
    table = new_code_cell("Markdown(...)")
    table.outputs = [new_output("display_data", data={"text/markdown": "| a | b |\n|---|---|\n| 1 | 2 |"})]
    _executed(tmp_path / "notebooks" / "02_b.ipynb", new_markdown_cell("# 02 · second"), table, _figure_cell())
    (tmp_path / "run.json").write_text(json.dumps({"profile": "smoke", "device": "cpu", "total_seconds": 60}))
    # An extra run (its own record, not this run's) is left out of this run's report.
    monkeypatch.setitem(report.EXTRA_RUNS, "02_b_digits", ("02_b", {}))
    _executed(tmp_path / "notebooks" / "02_b_digits.ipynb", new_markdown_cell("# 02 · extra"), _figure_cell())

    html = report.build_report().read_text()

    assert html.count(PNG) == 3 and "extra" not in html  # each figure of the run, embedded
    assert "<table" in html and "Objective" in html and "smoke" in html
    assert "first" in html and "second" in html
    assert 'src="http' not in html and "colab-badge" not in html  # opens offline


def test_a_notebook_whose_cell_raised_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    (tmp_path / "notebooks").mkdir()
    failed = new_code_cell("1/0")
    failed.outputs = [new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]
    _executed(tmp_path / "notebooks" / "01_a.ipynb", failed)
    with pytest.raises(report.ReportError, match="01_a.ipynb.*ZeroDivisionError"):
        report.build_report()


def test_an_animation_is_embedded_as_a_playing_image(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    (tmp_path / "notebooks").mkdir()
    gif = base64.b64encode(b"GIF89a" + bytes(20)).decode()
    cell = new_code_cell("Image(gif)")
    cell.outputs = [new_output("display_data", data={"image/gif": gif, "text/plain": "<IPython.core.display.Image>"})]
    _executed(tmp_path / "notebooks" / "01_a.ipynb", new_markdown_cell("# 01 · a"), cell)

    html = report.build_report().read_text()

    assert f'<img alt="animation" src="data:image/gif;base64,{gif}"' in html
    assert "IPython.core.display.Image" not in html  # not the text fallback


def _finished_run(outputs, status="ok"):
    (outputs / "metrics").mkdir(parents=True)
    (outputs / "figures").mkdir()
    (outputs / "run.json").write_text(json.dumps({
        "profile": "full", "device": "cpu (2 threads)", "started": "2026-11-21T08:00:00+00:00", "status": status,
        "git_commit": "abcdef1234567890", "data_sources": ["MNIST: data/MNIST/raw (IDX)"], "total_seconds": 5400,
        "notebooks": {"01_autoencoder": {"seconds": 56.0}, "02_vae": {"seconds": 80.0},
                      "03_evaluation": {"seconds": 200.0}, "04_gan": {"seconds": 5000.0}}}))
    (outputs / "metrics" / "01_autoencoder.json").write_text(json.dumps({"test_mse": 0.0067891}))
    (outputs / "metrics" / "04_gan.json").write_text(json.dumps({"swd": 42.25, "swd_floor": 11.5, "data_label": "art",
                                                                 "epochs": 100, "options_run": {"swd": 30.04, "epochs": 200}}))
    for figure in ("02_vae_losses", "04_gan_real_vs_generated", "04_gan_options_run"):
        (outputs / "figures" / f"{figure}.png").write_bytes(base64.b64decode(PNG))


def _bench():
    row = {"lab_images_per_s": 80000.0, "reference_images_per_s": 25000.0, "speedup": 3.2, "lab_epoch_s": 0.75,
           "reference_epoch_s": 2.4, "full_profile_epochs": 50, "lab_full_profile_min": 0.625,
           "reference_full_profile_min": 2.0, "lab_peak_rss_mb": 1000.0, "reference_peak_rss_mb": 900.0}
    return {"device": "cpu (2 threads)", "date": "2026-11-21", "git_commit": "abcdef1234567890", "repeats": 3,
            "models": {"ae": row}}


README = "# Lab\n\nintro\n<!-- timings -->\nold timings\n<!-- /timings -->\nmiddle\n" \
         "<!-- results -->\nold results\n<!-- /results -->\n<!-- bench -->\nold bench\n<!-- /bench -->\nend\n"


def test_readme_sections_are_rewritten_from_the_run_and_the_benchmark(tmp_path, monkeypatch):
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("LAB_OUTPUTS", str(outputs))
    _finished_run(outputs)
    (outputs / "bench.json").write_text(json.dumps(_bench()))
    readme = tmp_path / "README.md"
    readme.write_text(README)

    text = report.update_readme(readme).read_text()

    assert "old timings" not in text and "old results" not in text and "old bench" not in text
    assert text.startswith("# Lab\n\nintro\n") and "\nmiddle\n" in text and text.endswith("end\n")
    assert "| AE test reconstruction error (MSE per pixel) | 0.00679 |" in text
    assert "42.2 (floor, real vs real: 11.5)" in text
    assert "| `04_gan` | 83.3 min |" in text and "| 01–03 together | 5.6 min |" in text
    assert "| AE | 50 | 0.75 s | 0.6 min | 2.0 min |" in text  # timings from the benchmark
    assert "3.20x" in text  # the benchmark's own table
    assert (tmp_path / "docs" / "figures" / "02_vae_losses.png").exists()
    assert "](docs/figures/02_vae_losses.png)" in text
    assert ("| GAN sliced Wasserstein distance ×10³ with DiffAugment, R1 and EMA, 200 epochs (the reports' set-up: 100)"
            " | 30.0 |") in text
    # The three-panel GAN figure holds the real and generated grids, so the two-panel one is left out.
    assert "](docs/figures/04_gan_options_run.png)" in text and "04_gan_real_vs_generated" not in text
    assert not (tmp_path / "docs" / "figures" / "04_gan_real_vs_generated.png").exists()
    assert "MNIST" not in text.split("| measure | value |")[1].split("**")[0]  # no MNIST GAN run: no row


def test_readme_results_show_the_gan_on_mnist_from_its_own_run(tmp_path, monkeypatch):
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("LAB_OUTPUTS", str(outputs))
    _finished_run(outputs)
    (outputs / "metrics" / "04_gan_mnist.json").write_text(json.dumps({
        "profile": "full", "epochs": 100, "swd": 8.04, "swd_floor": 7.1,
        "classifier_frechet_distance": 1.234, "classifier_frechet_distance_floor": 0.2}))
    (outputs / "figures" / "04_gan_mnist_real_vs_generated.png").write_bytes(base64.b64decode(PNG))
    readme = tmp_path / "README.md"
    readme.write_text(README)

    text = report.update_readme(readme).read_text()

    assert ("| GAN sliced Wasserstein distance ×10³ (MNIST, `make run-gan-mnist PROFILE=full`, 100 epochs) "
            "| 8.0 (floor: 7.1) |") in text
    assert "| GAN on MNIST: Fréchet distance in the lab classifier's features | 1.23 (floor: 0.20) |" in text
    assert "](docs/figures/04_gan_mnist_real_vs_generated.png)" in text
    assert (tmp_path / "docs" / "figures" / "04_gan_mnist_real_vs_generated.png").exists()


def test_readme_is_not_rewritten_from_an_unfinished_run(tmp_path, monkeypatch):
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("LAB_OUTPUTS", str(outputs))
    _finished_run(outputs, status="failed in 04_gan.ipynb")
    readme = tmp_path / "README.md"
    readme.write_text(README)
    with pytest.raises(report.ReportError, match="did not finish"):
        report.update_readme(readme)
    assert readme.read_text() == README
