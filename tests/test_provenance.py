"""labtools.provenance: which run made each number `make readme` writes, and whether labutils/ or
notebooks/ have changed since, tried on a repository made in the test."""
import json
import subprocess
from pathlib import Path

import pytest

from labtools import provenance
from labtools import results as lab_results


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=lab", "-c", "user.email=lab@example.org", *args], cwd=root,
                          capture_output=True, text=True, check=True).stdout.strip()


def _commit(root: Path, path: str, text: str) -> str:
    """Write `path`, commit it, and return the new commit's hash."""
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text)
    _git(root, "add", path)
    _git(root, "commit", "-q", "-m", f"change {path}")
    return _git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path):
    _git(tmp_path, "init", "-q")
    _commit(tmp_path, "notebooks/01_autoencoder.ipynb", "{}")
    _commit(tmp_path, "labutils/models.py", "layers = 3\n")
    return tmp_path


def _source(commit, notebook="01_autoencoder", dirty=False, loaded=False):
    return provenance.Source(notebook, "run.json", "quick", "cpu", "2026-12-04", commit, dirty, loaded)


def test_a_run_at_head_was_made_by_today_s_code(repo):
    head = _git(repo, "rev-parse", "HEAD")
    assert provenance.code_age(head, repo) == provenance.Age("current")
    sentence = provenance.age_sentence([_source(head)], repo)
    assert sentence.startswith("All these numbers were made by today's code") and head[:7] in sentence


def test_a_later_commit_to_labutils_makes_the_numbers_older_than_the_code(repo):
    run_commit = _git(repo, "rev-parse", "HEAD")
    _commit(repo, "labutils/models.py", "layers = 4\n")
    _commit(repo, "notebooks/01_autoencoder.ipynb", '{"cells": []}')

    assert provenance.code_age(run_commit, repo) == provenance.Age("older", 2)
    sentence = provenance.age_sentence([_source(run_commit)], repo)
    assert sentence.startswith(f"Older than the code at `{_git(repo, 'rev-parse', '--short=7', 'HEAD')}`: "
                               "every number here; labutils/ or notebooks/ have changed in 2 commits since "
                               f"`{run_commit[:7]}`.")
    assert "`make run-all PROFILE=quick` makes them anew." in sentence


def test_a_later_commit_to_docs_alone_leaves_them_made_by_today_s_code(repo):
    run_commit = _git(repo, "rev-parse", "HEAD")
    _commit(repo, "docs/results.md", "# Results\n")
    _commit(repo, "labtools/results.py", "# the commands, not the numbers\n")

    assert provenance.code_age(run_commit, repo).state == "current"
    assert provenance.age_sentence([_source(run_commit)], repo).startswith("All these numbers were made by today's")


def test_only_the_runs_behind_the_code_are_named_older(repo):
    before = _git(repo, "rev-parse", "HEAD")
    after = _commit(repo, "labutils/models.py", "layers = 4\n")
    sentence = provenance.age_sentence([_source(after), _source(before, "04_gan_mnist")], repo)
    assert "Older than the code" in sentence and "the numbers of `04_gan_mnist`;" in sentence
    assert f"1 commit since `{before[:7]}`" in sentence and sentence.endswith("The others were made by today's code.")


def test_what_git_cannot_settle_is_said_so(repo, tmp_path_factory):
    head = _git(repo, "rev-parse", "HEAD")
    # a run with uncommitted edits, even at HEAD: they may have touched labutils/ or notebooks/
    assert "Cannot tell whether any number here" in provenance.age_sentence([_source(head, dirty=True)], repo)
    assert "uncommitted edits" in provenance.age_sentence([_source(head, dirty=True)], repo)
    # numbers recomputed at HEAD from checkpoints whose training commit no record holds
    assert "trained earlier" in provenance.age_sentence([_source(head, loaded=True)], repo)
    # a commit this repository does not hold, no commit at all, no repository at all
    unknown = provenance.age_sentence([_source("0123456789abcdef0123456789abcdef01234567")], repo)
    assert "does not hold commit `0123456`" in unknown
    assert "no run record holds the commit" in provenance.age_sentence([_source(None)], repo)
    elsewhere = tmp_path_factory.mktemp("not_a_repository")
    assert provenance.code_age(head, elsewhere).state == "unknown"
    assert "no git repository" in provenance.age_sentence([_source(head)], elsewhere)


def _runs():
    """Two run records: the four notebooks' run and the GAN on MNIST's own, at other commits and profiles."""
    main = {"profile": "quick", "git_commit": "1111111aaaa-dirty", "started": "2026-12-04T18:50:16+00:00",
            "total_seconds": 300, "status": "ok",
            "notebooks": {name: {"trained": name != "04_gan", "seconds": 60.0} for name in
                          ("01_autoencoder", "02_vae", "03_evaluation", "04_gan")}}
    mnist = {"profile": "full", "git_commit": "2222222bbbb", "started": "2026-12-05T09:00:00+00:00",
             "total_seconds": 60, "status": "ok", "notebooks": {"04_gan_mnist": {"trained": True, "seconds": 55.0}}}
    return {"run.json": main, "run_04_gan_mnist.json": mnist}


def _metrics():
    during = "2026-12-04T18:52:00+00:00"
    return {"01_autoencoder": {"profile": "quick", "written": during, "test_mse": 0.0128},
            "02_vae": {"profile": "quick", "written": during, "test_loss": 31.6, "active_units": 15},
            "04_gan": {"profile": "quick", "written": during, "swd": 96.8, "swd_floor": 14.9},
            "04_gan_mnist": {"profile": "full", "written": "2026-12-05T09:00:50+00:00", "swd": 13.9}}


def test_each_headline_row_names_the_run_that_wrote_its_number(repo):
    runs = _runs()
    found = provenance.sources(_metrics(), runs)
    headline = lab_results.readme_sections(runs["run.json"], _metrics(), None, runs, repo)["README.md"]["headline"]
    rows = {line.split(" | ")[0]: line for line in headline.splitlines() if line.startswith("| ") and "---" not in line}

    assert found["04_gan_mnist"].record == "run_04_gan_mnist.json" and found["02_vae"].record == "run.json"
    assert rows["| AE test reconstruction error (MSE per pixel)"].endswith(
        "| quick, 2026-12-04, `1111111` + uncommitted edits |")
    assert "| 15 of — | quick, 2026-12-04, `1111111`" in rows["| VAE active latent units"]
    # 04 loaded its models: the commit that trained them is in no record, and the row says so
    gan = next(row for key, row in rows.items() if key.startswith("| GAN sliced") and "MNIST" not in key)
    assert gan.endswith("| quick, 2026-12-04, `1111111` + uncommitted edits; "
                        "models loaded, trained at — (not recorded) |")
    mnist = next(row for key, row in rows.items() if "MNIST" in key)
    assert mnist.endswith("| full, 2026-12-05, `2222222` |")
    # neither commit is in the test's repository
    assert "Cannot tell whether any number here is older than the code" in " ".join(headline.split())


def test_a_metrics_file_written_outside_every_run_names_no_run():
    runs = _runs()
    metrics = {"01_autoencoder": {"profile": "quick", "written": "2026-12-06T10:00:00+00:00", "test_mse": 0.02},
               # written while the run ran, but of another profile: another run's
               "02_vae": {"profile": "smoke", "written": "2026-12-04T18:52:00+00:00"}}
    found = provenance.sources(metrics, runs)
    assert found["01_autoencoder"].record is None and found["02_vae"].record is None
    assert provenance.source_text(found["01_autoencoder"]) == "quick, 2026-12-06, — (no run record names it)"
    assert provenance.runs_sentence(found.values()) == (
        "a quick run of 2026-12-06 that no run record names, and for `02_vae` a smoke run of 2026-12-04 "
        "that no run record names")


def test_the_claims_name_each_run_once_and_what_its_record_says(repo):
    runs = _runs()
    found = provenance.sources(_metrics(), runs)
    text = provenance.runs_sentence([found["01_autoencoder"], found["02_vae"], found["04_gan_mnist"]])
    assert text == ("the `make run-all PROFILE=quick` run of 2026-12-04 at `1111111` (it had uncommitted edits), "
                    "and for `04_gan_mnist` the `make run-gan-mnist PROFILE=full` run of 2026-12-05 at `2222222`")


def test_run_records_are_read_from_the_outputs(tmp_path):
    for name, record in _runs().items():
        (tmp_path / name).write_text(json.dumps(record))
    assert sorted(provenance.run_records(tmp_path)) == ["run.json", "run_04_gan_mnist.json"]
