import json
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labtools import pipeline, subprocess_env


def _notebook(path, *sources):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_notebooks_run_in_numeric_order(tmp_path):
    for name in ("10_last.ipynb", "02_b.ipynb", "01_a.ipynb", "scratch.ipynb"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in pipeline.notebooks_in_order(tmp_path)] == ["01_a.ipynb", "02_b.ipynb", "10_last.ipynb"]


def test_run_all_stops_at_the_first_failure_and_names_it(tmp_path, monkeypatch, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "01_ok.ipynb", "x = 1")
    _notebook(notebooks / "02_fails.ipynb", "y = 2", "raise ValueError('bad parameter')")
    _notebook(notebooks / "03_never.ipynb", "open('ran', 'w').write('yes')")
    monkeypatch.setenv("LAB_ROOT", str(tmp_path))
    monkeypatch.delenv("LAB_OUTPUTS", raising=False)

    assert pipeline.run_all("smoke", kernel="python3") == 1

    err = capsys.readouterr().err
    # Cell [3] as the executed notebook labels it: papermill's injected-parameters cell runs first.
    assert "FAILED: 02_fails.ipynb, cell [3]: ValueError: bad parameter" in err
    record = json.loads((tmp_path / "outputs" / "run.json").read_text())
    assert record["profile"] == "smoke" and record["status"] == "failed in 02_fails.ipynb"
    assert record["notebooks"]["01_ok"]["status"] == "ok"
    assert "03_never" not in record["notebooks"] and not (notebooks / "ran").exists()
    assert set(record["versions"]) >= {"python", "torch", "torchvision"}
    assert (tmp_path / "outputs" / "notebooks" / "02_fails.ipynb").exists()


def test_a_cell_past_the_time_limit_fails_the_run_and_is_named(tmp_path, monkeypatch, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "01_slow.ipynb", "x = 1", "import time; time.sleep(60)", "open('ran', 'w').write('yes')")
    monkeypatch.setenv("LAB_ROOT", str(tmp_path))
    monkeypatch.delenv("LAB_OUTPUTS", raising=False)

    assert pipeline.run_all("smoke", kernel="python3", cell_timeout=2) == 1

    assert "FAILED: 01_slow.ipynb, cell [3]: ran past the cell time limit of 2 s" in capsys.readouterr().err
    record = json.loads((tmp_path / "outputs" / "run.json").read_text())
    assert record["status"] == "failed in 01_slow.ipynb" and record["notebooks"]["01_slow"]["seconds"] < 30
    assert not (notebooks / "ran").exists()


def test_an_extra_run_is_its_notebook_with_more_parameters_under_its_own_name(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "01_first.ipynb", "open('first_ran', 'w').write('yes')")
    _notebook(notebooks / "02_shows.ipynb", "dataset = 'art'\nprofile = 'full'",
              "open(f'ran_{dataset}_{profile}', 'w').write('yes')")
    nb = nbformat.read(notebooks / "02_shows.ipynb", as_version=4)
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, notebooks / "02_shows.ipynb")
    monkeypatch.setenv("LAB_ROOT", str(tmp_path))
    monkeypatch.delenv("LAB_OUTPUTS", raising=False)
    monkeypatch.setitem(pipeline.EXTRA_RUNS, "02_shows_digits", ("02_shows", {"dataset": "digits"}))

    assert pipeline.run_all("smoke", kernel="python3", only=["02_shows_digits"]) == 0

    assert (notebooks / "ran_digits_smoke").exists() and not (notebooks / "first_ran").exists()
    assert (tmp_path / "outputs" / "notebooks" / "02_shows_digits.ipynb").exists()
    record = json.loads((tmp_path / "outputs" / "run_02_shows_digits.json").read_text())
    assert record["status"] == "ok" and list(record["notebooks"]) == ["02_shows_digits"]
    assert not (tmp_path / "outputs" / "run.json").exists()  # `make run-all`'s record is left as it was
    # Only the runs whose notebook exists are offered (not the lab's 04_gan_mnist here).
    with pytest.raises(ValueError, match=r"No run named 02_show: choose from 01_first, 02_shows, 02_shows_digits\.$"):
        pipeline.runs_named(["02_show"])


def test_an_extra_run_takes_its_notebooks_profile_then_its_own_parameters_then_the_profiles_for_it(monkeypatch):
    monkeypatch.setitem(pipeline.EXTRA_RUNS, "04_gan_small", ("04_gan", {"dataset": "mnist", "train_size": 512}))
    monkeypatch.setitem(pipeline.PROFILES, "quick", {"04_gan": {"num_epochs": 7, "train_size": 1024},
                                                     "04_gan_small": {"num_epochs": 3}})
    quick = pipeline.parameters("quick", "04_gan_small")
    assert quick["num_epochs"] == 3 and quick["train_size"] == 512 and quick["dataset"] == "mnist"
    assert pipeline.parameters("quick", "04_gan")["num_epochs"] == 7  # the notebook's own run is unchanged
    assert quick["profile"] == "quick" and quick["progress"] is False


def test_the_gan_on_mnist_is_notebook_04_on_the_digits_without_the_art_only_sections():
    assert pipeline.runs_named(["04_gan_mnist"])["04_gan_mnist"].name == "04_gan.ipynb"
    for profile in pipeline.PROFILES:
        params = pipeline.parameters(profile, "04_gan_mnist")
        assert params["dataset"] == "mnist"
        assert params["variant_epochs"] == params["recipe_epochs"] == 0

def test_the_runner_does_not_load_torch():
    # `make run-all`'s own process stays small: a run's memory is its notebooks' kernels.
    code = "import sys, papermill, labtools.pipeline; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], env=subprocess_env()).returncode == 0


def test_the_package_resolves_its_names_on_first_use():
    import labutils as lab

    assert lab.AEConfig().latent_dim == 32 and callable(lab.models.kl_per_dimension)
    with pytest.raises(AttributeError, match="no attribute 'AEconfig'"):
        lab.AEconfig


def test_a_run_is_dirty_only_when_the_code_that_makes_its_results_has_uncommitted_edits(tmp_path, monkeypatch):
    """`make readme` leaves README and docs modified; a run after it is still the commit's code."""
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)
    (tmp_path / "labutils").mkdir()
    (tmp_path / "labutils" / "model.py").write_text("WIDTH = 1\n")
    (tmp_path / "README.md").write_text("results\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "start")
    monkeypatch.setattr(pipeline, "repo_root", lambda: tmp_path)
    head = pipeline.git_commit()
    assert len(head) == 40
    (tmp_path / "README.md").write_text("new results\n")
    assert pipeline.git_commit() == head
    (tmp_path / "labutils" / "model.py").write_text("WIDTH = 2\n")
    assert pipeline.git_commit() == head + "-dirty"
