import base64
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labtools import notebook_setup, report
from labtools import results as lab_results

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
    # badges of any notebook
    title = "# 01 · first\n\n" + notebook_setup.badges("01_other_name") + "\n\nIntro."
    _executed(tmp_path / "notebooks" / "01_a.ipynb", new_markdown_cell(title), _figure_cell(),
              _figure_cell())
    table = new_code_cell("Markdown(...)")
    markdown = {"text/markdown": "| a | b |\n|---|---|\n| 1 | 2 |"}
    table.outputs = [new_output("display_data", data=markdown)]
    _executed(tmp_path / "notebooks" / "02_b.ipynb", new_markdown_cell("# 02 · second"), table,
              _figure_cell())
    run = {"profile": "smoke", "device": "cpu", "total_seconds": 60}
    (tmp_path / "run.json").write_text(json.dumps(run))
    # An extra run (its own record, not this run's) is left out of this run's report.
    monkeypatch.setitem(report.EXTRA_RUNS, "02_b_digits", ("02_b", {}))
    _executed(tmp_path / "notebooks" / "02_b_digits.ipynb", new_markdown_cell("# 02 · extra"),
              _figure_cell())

    html = report.build_report().read_text()

    assert html.count(PNG) == 3 and "extra" not in html  # each figure of the run, embedded
    assert "<table" in html and "Objective" in html and "smoke" in html
    assert "first" in html and "second" in html
    assert 'src="http' not in html and "colab-badge" not in html  # opens offline


def test_a_notebook_whose_cell_raised_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    (tmp_path / "notebooks").mkdir()
    failed = new_code_cell("1/0")
    failed.outputs = [new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                 traceback=[])]
    _executed(tmp_path / "notebooks" / "01_a.ipynb", failed)
    with pytest.raises(report.ReportError, match="01_a.ipynb.*ZeroDivisionError"):
        report.build_report()


def test_an_animation_is_embedded_as_a_playing_image(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    (tmp_path / "notebooks").mkdir()
    gif = base64.b64encode(b"GIF89a" + bytes(20)).decode()
    cell = new_code_cell("Image(gif)")
    data = {"image/gif": gif, "text/plain": "<IPython.core.display.Image>"}
    cell.outputs = [new_output("display_data", data=data)]
    _executed(tmp_path / "notebooks" / "01_a.ipynb", new_markdown_cell("# 01 · a"), cell)

    html = report.build_report().read_text()

    assert f'<img alt="animation" src="data:image/gif;base64,{gif}"' in html
    assert "IPython.core.display.Image" not in html  # not the text fallback


def _finished_run(outputs, status="ok", figures=("02_vae_losses", "02_vae_prior_samples",
                                                 "04_gan_real_vs_generated", "04_gan_recipe_run")):
    (outputs / "metrics").mkdir(parents=True)
    (outputs / "figures").mkdir()
    (outputs / "run.json").write_text(json.dumps({
        "profile": "full", "device": "cpu (2 threads)", "started": "2026-11-21T08:00:00+00:00",
        "status": status, "git_commit": "abcdef1234567890", "total_seconds": 5400,
        "data_sources": ["MNIST: data/MNIST/raw (IDX)"],
        "notebooks": {"01_autoencoder": {"seconds": 56.0}, "02_vae": {"seconds": 80.0},
                      "03_evaluation": {"seconds": 200.0}, "04_gan": {"seconds": 5000.0}}}))
    metrics = {
        "01_autoencoder": {"test_mse": 0.0067891},
        "02_vae": {"test_recon_mse": 0.0196, "test_kl": 10.191, "test_loss": 29.126,
                   "test_elbo_nats": -477.86, "active_units": 8, "config": {"latent_dim": 32}},
        "03_evaluation": {"iwae": {"k": 1000, "log_likelihood_nats": -476.31},
                          "knn_accuracy": {"pixels": 0.9691, "pca": 0.976, "ae": 0.969,
                                           "vae": 0.939}},
        "04_gan": {"swd": 42.25, "swd_floor": 11.5, "data_label": "art", "epochs": 100,
                   "recipe_run": {"swd": 30.04, "epochs": 200, "swd_in_training_at_main_end": 35.0,
                                   "main_swd_in_training_at_end": 45.0, "recall_ratio": 0.97,
                                   "main_recall_ratio": 0.04}},
    }
    for stem, record in metrics.items():
        (outputs / "metrics" / f"{stem}.json").write_text(json.dumps(record))
    for figure in figures:
        (outputs / "figures" / f"{figure}.png").write_bytes(base64.b64decode(PNG))


def _gan_on_mnist(outputs):
    (outputs / "metrics" / "04_gan_mnist.json").write_text(json.dumps({
        "profile": "full", "epochs": 100, "swd": 8.04, "swd_floor": 7.1,
        "classifier_frechet_distance": 1.234, "classifier_frechet_distance_floor": 0.2}))
    (outputs / "figures" / "04_gan_mnist_real_vs_generated.png").write_bytes(base64.b64decode(PNG))


def _bench():
    row = {"lab_images_per_s": 80000.0, "reference_images_per_s": 25000.0, "speedup": 3.2,
           "lab_epoch_s": 0.75, "reference_epoch_s": 2.4, "full_profile_epochs": 50,
           "lab_full_profile_min": 0.625, "reference_full_profile_min": 2.0,
           "lab_peak_rss_mb": 1000.0, "reference_peak_rss_mb": 900.0}
    return {"device": "cpu (2 threads)", "date": "2026-11-21", "git_commit": "abcdef1234567890",
            "repeats": 3, "models": {"ae": row}}


# The three files `make readme` writes, each with its markers amid hand-written text.
PAGES = {
    "README.md": "# Lab\n\nintro\n<!-- headline -->\nold headline\n<!-- /headline -->\nmiddle\n"
                 "<!-- claims -->\nold claims\n<!-- /claims -->\nend\n",
    "docs/results.md": "# Results\n\n<!-- results -->\nold results\n<!-- /results -->\n"
                       "\n## Provenance\n\nby hand\n",
    "docs/performance.md": "# Performance\n\n<!-- timings -->\nold timings\n<!-- /timings -->\nbetween\n"
                           "<!-- bench -->\nold bench\n<!-- /bench -->\nafter\n",
}


def _lab(tmp_path, monkeypatch, bench=True, **run):
    """A repository root with the three pages, and a finished run (and a benchmark) in outputs/."""
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("LAB_OUTPUTS", str(outputs))
    _finished_run(outputs, **run)
    if bench:
        (outputs / "bench.json").write_text(json.dumps(_bench()))
    (tmp_path / "docs").mkdir()
    for name, text in PAGES.items():
        (tmp_path / name).write_text(text)
    return outputs


def _pages(root):
    return {name: (root / name).read_text() for name in PAGES}


def _between(text, name):
    return text.split(f"<!-- {name} -->")[1].split(f"<!-- /{name} -->")[0]


def test_readme_gets_the_headline_and_claims_and_the_docs_the_rest(tmp_path, monkeypatch):
    _lab(tmp_path, monkeypatch)

    written = lab_results.update_readme(tmp_path)

    assert sorted(written) == sorted(tmp_path / name for name in PAGES)
    pages = _pages(tmp_path)
    readme, results = pages["README.md"], pages["docs/results.md"]
    performance = pages["docs/performance.md"]
    for name, page in pages.items():  # the hand-written text around the markers is kept
        assert "old " not in page, name
    assert readme.startswith("# Lab\n\nintro\n<!-- headline -->\n") and "\nmiddle\n" in readme
    assert readme.endswith("<!-- /claims -->\nend\n")
    assert results.endswith("<!-- /results -->\n\n## Provenance\n\nby hand\n")
    assert performance.endswith("<!-- /bench -->\nafter\n") and "\nbetween\n" in performance
    # README: the headline rows only, and where the rest is
    headline = _between(readme, "headline")
    assert "| AE test reconstruction error (MSE per pixel) | 0.00679 |" in headline
    assert "| VAE test loss, reconstruction + β·KL, the training objective (per image) | 29.13 |" in headline
    assert "| VAE active latent units | 8 of 32 |" in headline
    assert "42.2 (floor, real vs real: 11.5)" in headline
    # the headline compares the options at the main run's budget; the longer run is in the docs
    assert ("| GAN SWD ×10³ after 100 epochs each, in-training sample: the reports' set-up / the lab's recipe"
            " | 45.0 / 35.0 |") in headline
    assert "(1: as varied, near 0: collapsed): the reports' set-up / the lab's recipe | 0.04 / 0.97 |" in headline
    assert "200 epochs" not in headline
    assert ("| GAN sliced Wasserstein distance ×10³ with the lab's recipe, 200 epochs "
            "(the reports' set-up: 100) | 30.0 |") in results
    assert "VAE test KL" not in headline and "kNN" not in headline and "log p(x)" not in headline
    assert "[docs/results.md](docs/results.md)" in headline
    assert "| `04_gan` | 83.3 min |" in performance and "| 01–03 together | 5.6 min |" in performance
    assert "83.3 min" not in readme  # the front page links the times, it does not hold them
    # docs/results.md: every row, with where the run came from
    assert "| VAE test KL (nats per image) | 10.19 |" in results
    assert "| VAE test ELBO, a lower bound on log p(x) (nats per image) | -477.9 |" in results
    assert ("| VAE test log p(x), importance-weighted estimate (k = 1000, nats per image) "
            "| -476.3 |") in results
    assert ("| kNN (k=5) digit accuracy: pixels / PCA-32 / AE / VAE "
            "| 0.969 / 0.976 / 0.969 / 0.939 |") in results
    assert "| AE test reconstruction error (MSE per pixel) | 0.00679 |" in results
    prose = " ".join(results.split())
    assert "PROFILE=full` run of 2026-11-21 at `abcdef1`" in prose and "MNIST: data/MNIST/raw (IDX)" in prose
    assert "Device: cpu (2 threads)." in prose
    # docs/performance.md: the benchmark's output, which the README does not repeat
    assert "3.20x" in performance and "0.75s" in performance
    assert "commit `abcdef123456`" in performance
    assert "3.20x" not in readme and "0.75" not in readme and "```" not in readme


def test_the_vae_rows_name_the_loss_and_the_elbo_apart():
    rows = {row.key: row for row in lab_results.result_rows(
        {"02_vae": {"test_loss": 29.126}, "03_evaluation": {"test_elbo_nats": -478.04}})}
    assert rows["vae_loss"].value == "29.13" and "reconstruction + β·KL" in rows["vae_loss"].measure
    assert rows["vae_elbo"].value == "-478.0"  # notebook 03's ELBO where 02's record has none
    assert "vae_loss" in lab_results.HEADLINE_ROWS and "vae_elbo" not in lab_results.HEADLINE_ROWS
    old_record = {row.key: row for row in lab_results.result_rows({"02_vae": {"test_elbo": 29.1}})}
    assert old_record["vae_loss"].value == "—"  # the old key, test_elbo, is not read


def test_a_run_that_trained_nothing_keeps_the_timings_of_the_last_one_that_did(tmp_path, monkeypatch):
    outputs = _lab(tmp_path, monkeypatch)
    run = json.loads((outputs / "run.json").read_text())
    for entry in run["notebooks"].values():
        entry["trained"] = False  # every notebook loaded its checkpoints
    (outputs / "run.json").write_text(json.dumps(run))

    lab_results.update_readme(tmp_path)

    performance = (tmp_path / "docs/performance.md").read_text()
    assert _between(performance, "timings") == "\nold timings\n"
    assert "old headline" not in (tmp_path / "README.md").read_text()
    run["notebooks"]["04_gan"]["trained"] = True  # one training is a from-scratch time to show
    (outputs / "run.json").write_text(json.dumps(run))
    lab_results.update_readme(tmp_path)
    assert "| `04_gan` | 83.3 min |" in (tmp_path / "docs/performance.md").read_text()


def test_figures_every_one_in_the_docs_at_most_three_in_the_readme(tmp_path, monkeypatch):
    outputs = _lab(tmp_path, monkeypatch, figures=tuple(lab_results.RESULT_FIGURES))
    _gan_on_mnist(outputs)

    lab_results.update_readme(tmp_path)

    readme = (tmp_path / "README.md").read_text()
    results = (tmp_path / "docs/results.md").read_text()
    shown = [name for name in lab_results.RESULT_FIGURES if f"](figures/{name}.png)" in results]
    # The three-panel GAN figure holds the real and generated grids: the two-panel one is left out.
    assert shown == [name for name in lab_results.RESULT_FIGURES if name != "04_gan_real_vs_generated"]
    assert readme.count("![") == 3 and readme.count("](docs/figures/") == 3
    for name in ("02_vae_prior_samples", "04_gan_recipe_run", "04_gan_mnist_real_vs_generated"):
        assert f"](docs/figures/{name}.png)" in readme
        assert f"**{lab_results.RESULT_FIGURES[name].caption}**" in readme
    for name in shown:  # copied next to the pages that show them
        assert (tmp_path / "docs" / "figures" / f"{name}.png").exists()
    assert not (tmp_path / "docs" / "figures" / "04_gan_real_vs_generated.png").exists()
    assert all(len(line) <= 100 for line in readme.splitlines() + results.splitlines()
               if not line.startswith("|"))  # tables aside, lines as the hand-written ones


def test_without_the_recipe_run_the_two_panel_gan_figure_heads_the_readme(tmp_path, monkeypatch):
    _lab(tmp_path, monkeypatch, figures=("04_gan_real_vs_generated",))
    stale = tmp_path / "docs" / "figures" / "04_gan_recipe_run.png"  # copied by an earlier run's make readme
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an earlier run's figure")

    lab_results.update_readme(tmp_path)

    readme = (tmp_path / "README.md").read_text()
    assert readme.count("![") == 1 and "](docs/figures/04_gan_real_vs_generated.png)" in readme
    assert not stale.exists()  # no page shows it any more
    assert (tmp_path / "docs" / "figures" / "04_gan_real_vs_generated.png").exists()


def test_the_gan_on_mnist_from_its_own_run(tmp_path, monkeypatch):
    _gan_on_mnist(_lab(tmp_path, monkeypatch))

    lab_results.update_readme(tmp_path)

    readme = (tmp_path / "README.md").read_text()
    results = (tmp_path / "docs/results.md").read_text()
    swd = "| GAN sliced Wasserstein distance ×10³ (MNIST, `make run-gan-mnist`, 100 epochs) | 8.0 (floor: 7.1) |"
    frechet = ("| GAN on MNIST: Fréchet distance in the lab classifier's features "
               "| 1.23 (floor: 0.20) |")
    assert swd in readme and swd in results
    assert frechet in results and frechet not in readme
    assert "](docs/figures/04_gan_mnist_real_vs_generated.png)" in readme
    assert "](figures/04_gan_mnist_real_vs_generated.png)" in results


def test_without_a_gan_on_mnist_run_there_is_no_mnist_gan_row(tmp_path, monkeypatch):
    _lab(tmp_path, monkeypatch)
    lab_results.update_readme(tmp_path)
    results = (tmp_path / "docs/results.md").read_text()
    assert "make run-gan-mnist" not in results and "GAN on MNIST" not in results


def test_without_a_benchmark_the_bench_section_is_left_as_it_is(tmp_path, monkeypatch):
    _lab(tmp_path, monkeypatch, bench=False)

    lab_results.update_readme(tmp_path)

    performance = (tmp_path / "docs/performance.md").read_text()
    assert _between(performance, "bench") == "\nold bench\n"
    assert "| `04_gan` | 83.3 min |" in performance
    assert "make bench" not in (tmp_path / "README.md").read_text()


def test_a_page_without_its_markers_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    _lab(tmp_path, monkeypatch)
    (tmp_path / "docs/performance.md").write_text("# Performance\n\nno markers\n")
    before = _pages(tmp_path)

    with pytest.raises(report.ReportError, match="docs/performance.md has no <!-- timings -->"):
        lab_results.update_readme(tmp_path)
    assert _pages(tmp_path) == before


def test_readme_is_not_rewritten_from_an_unfinished_run(tmp_path, monkeypatch):
    _lab(tmp_path, monkeypatch, status="failed in 04_gan.ipynb")
    with pytest.raises(report.ReportError, match="did not finish"):
        lab_results.update_readme(tmp_path)
    assert _pages(tmp_path) == PAGES


def test_the_committed_pages_have_every_section_make_readme_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))  # no run: only the markers are checked
    root = Path(report.__file__).resolve().parent.parent
    for name, bodies in lab_results.readme_sections({}, {}, _bench()).items():
        assert bodies, name
        lab_results.replace_sections((root / name).read_text(), bodies, name)  # raises if one is missing


def test_the_verdicts_of_every_notebook_in_one_table_in_notebook_order():
    from labutils.metrics.verdicts import Verdict

    holds = Verdict("the AE reconstructs better", "report 1", "t", {"estimate": 0.01, "low": 0.005, "high": 0.02,
                                                                   "level": 0.95, "seeds": 3, "images": 10000})
    noisy = Verdict("G's loss decreases", "both reports", "t", {"estimate": 0.1, "low": -0.1, "high": 0.3,
                                                               "level": 0.95, "points": 20})
    metrics = {"04_gan": {"verdicts": [noisy.record()]}, "03_evaluation": {"verdicts": [holds.record()]},
               "02_vae": {}}
    table = lab_results.verdicts_markdown(metrics).splitlines()
    assert table[0].startswith("| notebook | report | claim | verdict |") and len(table) == 6
    assert table[2].startswith("| `03_evaluation` | report 1 | the AE reconstructs better | **holds** | 0.01 [0.005, 0.02]")
    assert table[3].startswith("| `04_gan` | both reports | G's loss decreases | **within noise** |")
    assert table[2].endswith("| 5% | no p-value |") and "Holm" in table[5]
    assert lab_results.verdicts_markdown({"02_vae": {}}) == ""
    # the claims are their own section
    assert "**holds**" not in lab_results.headline_markdown(metrics, {}, Path("."))


def test_the_claims_table_gives_each_verdict_s_error_rate_and_its_fate_under_holm():
    from labutils.metrics.uncertainty import t_interval
    from labutils.metrics.verdicts import Verdict

    clear = Verdict("clear", "report 1", "t", t_interval([1.0, 1.1, 0.9, 1.05, 0.95])).record()     # p ~ 1e-5
    marginal = Verdict("marginal", "report 1", "t", t_interval([0.1, 0.5, 0.35, 0.02, 0.4])).record()  # p = 0.040
    noisy = Verdict("noisy", "report 2", "t", t_interval([-1.0, 1.0, 0.5])).record()
    table = lab_results.verdicts_markdown({"02_vae": {"verdicts": [clear, marginal, noisy]}}).splitlines()
    assert table[2].endswith("| 5% | p = 9.3e-06, survives Holm |")
    assert "**holds**" in table[3] and table[3].endswith("| 5% | p = 0.04, not after Holm |")   # 2 × 0.040 > 0.05
    assert "undecided" in table[4]
    assert table[-1].startswith("Each verdict's error rate") and "of the 2 decided ones" in table[-1]


def test_the_full_claims_table_quotes_the_report_and_says_how_the_claim_is_read():
    from labutils.metrics.verdicts import Verdict

    quoted = Verdict("AE loss plateaus lower", "report 1", "t", {"estimate": 0.01, "low": 0.005, "high": 0.02,
                                                                  "level": 0.95, "seeds": 3},
                     quote="AE loss plateaus lower than VAE", reading="reconstruction term | same scale").record()
    unquoted = {k: v for k, v in quoted.items() if k not in ("quote", "reading")}   # an older record
    metrics = {"03_evaluation": {"verdicts": [quoted, unquoted]}}
    full = lab_results.verdicts_markdown(metrics, readings=True).splitlines()
    assert full[0].endswith("| the report's words | read as |") and full[1].count("|---") == 9
    assert full[2].endswith("| “AE loss plateaus lower than VAE” | reconstruction term \\| same scale |")
    assert full[3].endswith("| — | — |")
    # the README's table stays compact
    assert "the report's words" not in lab_results.verdicts_markdown(metrics)


def _verdict(claim, estimate, low, high):
    from labutils.metrics.verdicts import Verdict

    return Verdict(claim, "report 1", "t", {"estimate": estimate, "low": low, "high": high, "level": 0.95,
                                            "seeds": 3, "images": 10000}).record()


def test_the_readme_claims_table_comes_from_the_run_s_metrics_and_names_the_run(tmp_path, monkeypatch):
    outputs = _lab(tmp_path, monkeypatch)
    during_the_run, later = "2026-11-21T08:30:00+00:00", "2026-12-01T10:00:00+00:00"
    for stem, verdicts, profile, written in (
            ("02_vae", [_verdict("KL divergence stabilises", 0.0101, 0.0036, 0.0155)], "full", during_the_run),
            ("03_evaluation", [_verdict("AE reconstructs better", 0.0132, 0.0124, 0.014),
                               _verdict("VAE's latents are more structured", -0.03, -0.04, -0.02)],
             "full", during_the_run),
            ("04_gan", [_verdict("Quality improves with more epochs", 5.31, 3.75, 7.37)], "quick", later)):
        path = outputs / "metrics" / f"{stem}.json"
        record = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**record, "profile": profile, "written": written, "verdicts": verdicts}))

    lab_results.update_readme(tmp_path)

    claims = _between((tmp_path / "README.md").read_text(), "claims")
    # the run, named from outputs/run.json, and the notebook whose record another run wrote
    assert ("From the `make run-all PROFILE=full` run of 2026-11-21 at `abcdef1`, and for `04_gan` a quick run "
            "of 2026-12-01 that no run record names.") in " ".join(claims.split())
    # tmp_path is no git repository: whether the numbers are older than the code is not known
    assert "Cannot tell whether any number here is older than the code" in " ".join(claims.split())
    rows = [line for line in claims.splitlines() if line.startswith("| `")]
    assert [row.split(" | ")[2] for row in rows] == ["KL divergence stabilises", "AE reconstructs better",
                                                     "VAE's latents are more structured",
                                                     "Quality improves with more epochs"]
    assert rows[0].startswith("| `02_vae` | report 1 | KL divergence stabilises | **holds** | 0.0101 [0.0036, 0.0155]")
    assert "| **does not hold** |" in rows[2]
    assert "old claims" not in claims


def test_a_run_without_verdicts_says_so_in_the_claims_section():
    run = {"profile": "smoke", "started": "2026-12-04T16:50:52+00:00", "device": "cpu", "git_commit": "27e623af3db8"}
    text = lab_results.claims_markdown(run, {"01_autoencoder": {}}, {}, Path("."))
    assert "No notebook of the `make run-all PROFILE=smoke` run" in text and "|" not in text


def test_a_figure_older_than_its_notebooks_last_run_is_an_earlier_runs_and_not_shown(tmp_path, monkeypatch):
    import os

    outputs = _lab(tmp_path, monkeypatch, figures=("04_gan_recipe_run", "04_gan_data_sweep", "01_ae_reconstructions"))
    # the data sweep's figure was left by a run before this one (the quick profile no longer draws it)
    old = outputs / "figures" / "04_gan_data_sweep.png"
    os.utime(old, (1_600_000_000, 1_600_000_000))  # 2020, before the record's start
    shown = lab_results._result_figures()
    assert "04_gan_recipe_run" in shown and "01_ae_reconstructions" in shown
    assert "04_gan_data_sweep" not in shown
    notebooks = ["01_autoencoder", "02_vae", "03_evaluation", "04_gan", "04_gan_mnist"]
    assert [lab_results._figure_notebook(name, notebooks) for name in
            ("01_ae_reconstructions", "02_vae_losses", "03_latent_tsne_pca", "04_gan_recipe_run",
             "04_gan_mnist_real_vs_generated")] == ["01_autoencoder", "02_vae", "03_evaluation", "04_gan", "04_gan_mnist"]
