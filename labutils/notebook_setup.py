"""The opening every notebook shares: badges and the one setup cell for Colab and Kaggle.

The repository's address is written once, in pyproject.toml ([project.urls] Repository); the
notebooks carry copies of these cells, and a test checks that they match what this module makes.
"""
from __future__ import annotations

import tomllib

from labutils.runtime import repo_root

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
KAGGLE_BADGE = "https://kaggle.com/static/images/open-in-kaggle.svg"


def repository_url() -> str:
    with open(repo_root() / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]


def badges(notebook: str, branch: str = "main") -> str:
    """Markdown: "Open in Colab" and "Open in Kaggle" for `notebooks/<notebook>.ipynb`."""
    url = repository_url()
    github_path = url.removeprefix("https://github.com/")
    colab = f"https://colab.research.google.com/github/{github_path}/blob/{branch}/notebooks/{notebook}.ipynb"
    kaggle = f"https://kaggle.com/kernels/welcome?src={url}/blob/{branch}/notebooks/{notebook}.ipynb"
    return f"[![Open in Colab]({COLAB_BADGE})]({colab}) [![Open in Kaggle]({KAGGLE_BADGE})]({kaggle})"


def setup_cell() -> str:
    """Source of the setup cell: imports only, except on Colab/Kaggle where it first installs labutils."""
    return f'''# Setup. Locally and under papermill this only imports labutils. On Colab or Kaggle it first
# clones the lab and installs it, keeping the platform's own CUDA torch (the package asks only
# for lower bounds). On Kaggle an attached "Abstract Art Gallery" data set under /kaggle/input/
# is found by load_abstract_art() without further set-up.
import os
import subprocess
import sys

LAB_REPOSITORY = "{repository_url()}"
if "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ:
    if not os.path.isdir("generative-lab"):
        subprocess.run(["git", "clone", "--depth", "1", LAB_REPOSITORY, "generative-lab"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", "generative-lab"], check=True)
    sys.path.insert(0, os.path.abspath("generative-lab"))  # this kernel predates the install

import labutils as lab
import labutils.plots  # the lab's figure style, before any figure (also those drawn with plt directly)

print("lab root:", lab.repo_root(), "| device (auto):", lab.describe_device(lab.get_device("auto")))'''
