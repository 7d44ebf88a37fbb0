"""`make fork`: a fork points pyproject.toml and every notebook's opening at itself, and changes
nothing else.

Each test works on a copy of pyproject.toml and notebooks/ in tmp_path ($LAB_ROOT points there):
the committed notebooks keep the lab's own address.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labtools import notebook_setup, subprocess_env

ROOT = Path(__file__).resolve().parent.parent
FORK = "https://github.com/alice-b/my.lab"


@pytest.fixture
def copy(tmp_path, monkeypatch):
    """A copy of the files the fork command rewrites, as the lab's root."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    monkeypatch.setenv("LAB_ROOT", str(tmp_path))
    return tmp_path


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_fork_points_the_address_badges_and_setup_cells_at_the_fork(copy):
    original = notebook_setup.repository_url()

    written = notebook_setup.fork(FORK)

    notebooks = sorted((copy / "notebooks").glob("*.ipynb"))
    assert set(written) == {copy / "pyproject.toml", *notebooks}
    assert notebook_setup.repository_url() == FORK
    for path in notebooks:
        cells = _cells(path)
        first_code = next(c for c in cells if c["cell_type"] == "code")
        assert notebook_setup.badges(path.stem) in "".join(cells[0]["source"])
        assert "".join(first_code["source"]) == notebook_setup.setup_cell()
        assert original not in path.read_text(), path.name
        assert f"github/alice-b/my.lab/blob/main/notebooks/{path.stem}.ipynb" in path.read_text()


def test_fork_changes_only_the_address_line_and_the_two_cells(copy):
    before = {p.name: _cells(p) for p in (copy / "notebooks").glob("*.ipynb")}
    pyproject, original = (copy / "pyproject.toml").read_text(), notebook_setup.repository_url()

    notebook_setup.fork(FORK)

    after = (copy / "pyproject.toml").read_text()
    assert after == pyproject.replace(f'Repository = "{original}"', f'Repository = "{FORK}"')
    assert after != pyproject
    for name, cells in before.items():
        after = _cells(copy / "notebooks" / name)
        setup = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
        differ = [i for i, (a, b) in enumerate(zip(cells, after)) if a != b]
        assert len(after) == len(cells) and differ == [0, setup], name
        for i in differ:  # the source only: ids, metadata, no outputs, as they were
            assert {**cells[i], "source": None} == {**after[i], "source": None}


def test_forking_back_restores_every_byte(copy):
    """The rewrite writes as nbformat does: forking back to the lab's address is a no-op."""
    before = _files(copy)
    original = notebook_setup.repository_url()

    notebook_setup.fork(FORK)
    assert _files(copy) != before
    notebook_setup.fork(original)

    assert _files(copy) == before


@pytest.mark.parametrize("given", [FORK + ".git", FORK + "/", f" {FORK}.git/ "])
def test_a_clone_address_is_accepted_as_the_repository(given):
    assert notebook_setup.github_repository(given) == FORK


@pytest.mark.parametrize("url", [
    "https://gitlab.com/alice/my-lab",  # not GitHub: Colab cannot open it
    "git@github.com:alice/my-lab.git",  # an SSH address
    "http://github.com/alice/my-lab",
    "https://github.com/alice",  # no repository name
    "https://github.com/alice/my-lab/tree/main",
    "https://github.com/-alice/my-lab",  # not a GitHub user name
    'https://github.com/alice/my-lab"',  # would break the TOML string and the setup cell
])
def test_anything_but_a_github_repository_is_refused_and_nothing_written(copy, url):
    before = _files(copy)
    with pytest.raises(notebook_setup.ForkError, match=r"https://github\.com/OWNER/NAME"):
        notebook_setup.fork(url)
    assert _files(copy) == before


def test_a_notebook_without_its_setup_cell_is_refused_before_anything_is_written(copy):
    path = copy / "notebooks" / "02_vae.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    notebook["cells"] = [cell for cell in notebook["cells"]
                         if "LAB_REPOSITORY" not in "".join(cell["source"])]
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    before = _files(copy)

    with pytest.raises(notebook_setup.ForkError, match="02_vae.ipynb: its first code cell"):
        notebook_setup.fork(FORK)
    assert _files(copy) == before  # pyproject.toml and 01 untouched too


def test_the_command_line_forks_or_names_the_fix(copy):
    """What `make fork REPO=...` runs: exit 0 and the files rewritten, or exit 2 and the fix."""
    command = [sys.executable, "-m", "labtools.notebook_setup", "--repository"]
    refused = subprocess.run([*command, "https://gitlab.com/a/b"], capture_output=True, text=True, env=subprocess_env())
    assert refused.returncode == 2 and "REPO=https://github.com/OWNER/NAME" in refused.stderr
    assert notebook_setup.repository_url() != FORK

    done = subprocess.run([*command, FORK], capture_output=True, text=True, env=subprocess_env())

    assert done.returncode == 0, done.stderr
    assert notebook_setup.repository_url() == FORK
