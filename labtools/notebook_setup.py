"""The opening every notebook shares: badges and the one setup cell for Colab and Kaggle.

The repository's address is written once, in pyproject.toml ([project.urls] Repository); the
notebooks carry copies of these cells, and a test checks that they match what this module makes.
A fork points all of them at itself with one command (what `make fork REPO=...` runs):

    python -m labtools.notebook_setup --repository https://github.com/OWNER/NAME
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path

from labutils.runtime import repo_root

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
KAGGLE_BADGE = "https://kaggle.com/static/images/open-in-kaggle.svg"
# The two badges as badges() writes them, whatever repository and notebook they point to.
BADGES = re.compile(r"\[!\[Open in Colab\]\(%s\)\]\([^)\s]*\) "
                    r"\[!\[Open in Kaggle\]\(%s\)\]\([^)\s]*\)"
                    % (re.escape(COLAB_BADGE), re.escape(KAGGLE_BADGE)))
# pyproject.toml's line that holds the address (in [project.urls]).
REPOSITORY_LINE = re.compile(r'^Repository = "[^"]*"$', re.MULTILINE)
# A GitHub repository's address: Colab opens notebooks from GitHub only (colab.../github/...).
GITHUB_URL = re.compile(r"https://github\.com/(?P<owner>[A-Za-z0-9](?:-?[A-Za-z0-9])*)"
                        r"/(?P<name>[A-Za-z0-9._-]+)")
SETUP_CELL_MARK = "LAB_REPOSITORY = "  # how the first code cell is known for the setup cell


def repository_url() -> str:
    with open(repo_root() / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]


def badges(notebook: str, branch: str = "main", repository: str | None = None) -> str:
    """Markdown: "Open in Colab" and "Open in Kaggle" for `notebooks/<notebook>.ipynb`."""
    url = repository or repository_url()
    github_path = url.removeprefix("https://github.com/")
    colab = (f"https://colab.research.google.com/github/{github_path}/blob/{branch}"
             f"/notebooks/{notebook}.ipynb")
    kaggle = (f"https://kaggle.com/kernels/welcome?src={url}/blob/{branch}"
              f"/notebooks/{notebook}.ipynb")
    return (f"[![Open in Colab]({COLAB_BADGE})]({colab}) "
            f"[![Open in Kaggle]({KAGGLE_BADGE})]({kaggle})")


def setup_cell(repository: str | None = None) -> str:
    """Source of the setup cell: imports only, except on Colab/Kaggle where it first installs
    labutils. (Its lines are the notebooks' own, some of them longer than 100 columns.)"""
    url = repository or repository_url()
    return f'''\
# Setup. Locally and under papermill this only imports labutils. On Colab or Kaggle it first
# clones the lab and installs it with only what the notebooks import, keeping the platform's own
# CUDA torch and Jupyter (the package's lower bounds are ones they already meet). On Kaggle an
# attached "Abstract Art Gallery" data set under /kaggle/input/ is found by load_abstract_art()
# without further set-up.
import os
import subprocess
import sys

LAB_REPOSITORY = "{url}"
if "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ:
    if not os.path.isdir("generative-lab"):
        subprocess.run(["git", "clone", "--depth", "1", LAB_REPOSITORY, "generative-lab"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", "generative-lab"], check=True)
    sys.path.insert(0, os.path.abspath("generative-lab"))  # this kernel predates the install

import labutils as lab
import labutils.plots  # the lab's figure style, before any figure (also those drawn with plt directly)

print("lab root:", lab.repo_root(), "| device (auto):", lab.describe_device(lab.get_device("auto")))'''


# -- pointing a fork at itself -------------------------------------------------------------------
class ForkError(ValueError):
    """The address or a file is not as the fork command needs it; nothing has been written."""


def github_repository(url: str) -> str:
    """`url` as https://github.com/OWNER/NAME (a trailing ".git" or "/" dropped), or ForkError."""
    url = url.strip().removesuffix("/").removesuffix(".git")
    match = GITHUB_URL.fullmatch(url)
    if not match or match["name"] in (".", ".."):
        raise ForkError(
            f"{url!r} is not a GitHub repository's address. Colab opens notebooks from GitHub "
            "only, so give your fork's address on GitHub: REPO=https://github.com/OWNER/NAME "
            "(push the fork to GitHub first if it lives elsewhere).")
    return url


def _source_lines(text: str) -> list[str]:
    """A cell's source as .ipynb files store it: lines that keep their line ends."""
    return text.splitlines(keepends=True)


def forked_notebook(path: Path, repository: str) -> str:
    """The text of notebook `path` with its badges (first markdown cell) and its setup cell (first
    code cell) pointing at `repository`; every other byte as it was (no outputs are added)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = notebook["cells"]
    title = next((c for c in cells if c["cell_type"] == "markdown"), None)
    setup = next((c for c in cells if c["cell_type"] == "code"), None)
    if title is None or not BADGES.search("".join(title["source"])):
        raise ForkError(f"{path.name}: its first markdown cell has no Colab and Kaggle badges "
                        "to repoint; put notebook_setup.badges() back into it.")
    if setup is None or SETUP_CELL_MARK not in "".join(setup["source"]):
        raise ForkError(f"{path.name}: its first code cell is not the setup cell; "
                        "put notebook_setup.setup_cell() back as its first code cell.")
    new_badges = badges(path.stem, repository=repository)
    title_text = BADGES.sub(lambda _: new_badges, "".join(title["source"]), count=1)
    title["source"] = _source_lines(title_text)
    setup["source"] = _source_lines(setup_cell(repository))
    # As nbformat writes a notebook: one-space indent, unescaped text, a final newline.
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def forked_pyproject(path: Path, repository: str) -> str:
    """pyproject.toml's text with [project.urls] Repository set to `repository`, nothing else."""
    text, count = REPOSITORY_LINE.subn(f'Repository = "{repository}"', path.read_text())
    if count != 1 or tomllib.loads(text)["project"]["urls"]["Repository"] != repository:
        raise ForkError(f"{path}: expected one line 'Repository = \"...\"' in [project.urls].")
    return text


def fork(repository: str, root: Path | None = None) -> list[Path]:
    """Point pyproject.toml and every notebook's badges and setup cell at `repository`.

    Every new text is made, and so checked, before any file is written: a refusal leaves the
    repository as it was. Returns the files written."""
    root = root or repo_root()
    repository = github_repository(repository)
    texts = {root / "pyproject.toml": forked_pyproject(root / "pyproject.toml", repository)}
    for notebook in sorted((root / "notebooks").glob("*.ipynb")):
        texts[notebook] = forked_notebook(notebook, repository)
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")
    return list(texts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repository", required=True, metavar="URL",
                        help="the fork's address: https://github.com/OWNER/NAME")
    args = parser.parse_args(argv)
    try:
        written = fork(args.repository)
    except ForkError as err:
        print(f"fork: {err}", file=sys.stderr)
        return 2
    print(f"{len(written)} files now point at {github_repository(args.repository)}: "
          + ", ".join(path.name for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
