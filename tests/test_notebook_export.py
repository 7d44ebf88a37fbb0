"""The notebooks' #@save cells are the package's code: the check that they agree, and that it fails when they do not."""
import json
import shutil
from pathlib import Path

import pytest

from labtools import notebook_export

ROOT = Path(__file__).resolve().parent.parent


def _copy_of_the_repository(tmp_path):
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    shutil.copytree(ROOT / "labutils", tmp_path / "labutils", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _edit_saved_cell(root, notebook, old, new):
    path = root / "notebooks" / notebook
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if "".join(c["source"]).startswith("#@save") and old in "".join(c["source"]))
    cell["source"] = "".join(cell["source"]).replace(old, new)
    path.write_text(json.dumps(nb, indent=1))


def test_the_package_holds_exactly_the_notebooks_saved_cells():
    assert notebook_export.differences(ROOT) == []
    saved = {module for nb in (ROOT / "notebooks").glob("*.ipynb") for module in notebook_export.saved_cells(nb)}
    assert saved == {"labutils.models.autoencoder", "labutils.training.steps", "labutils.training.loop",
                     "labutils.models.gan", "labutils.models.sampling", "labutils.training.gan_step"}


def test_an_edited_notebook_cell_is_caught_and_export_copies_it_into_the_package(tmp_path):
    root = _copy_of_the_repository(tmp_path)
    _edit_saved_cell(root, "02_vae.ipynb", "beta * kl, reconstruction, kl", "4 * beta * kl, reconstruction, kl")
    found = notebook_export.differences(root)
    assert [(d.module, d.notebook) for d in found] == [("labutils.models.autoencoder", "notebooks/02_vae.ipynb")]
    assert "make export" in str(found[0])
    assert notebook_export.main(["--check", "--root", str(root)]) == 1

    assert notebook_export.export(root) == ["labutils.models.autoencoder"]
    assert notebook_export.differences(root) == []
    assert "4 * beta * kl" in (root / "labutils/models/autoencoder.py").read_text()
    assert (root / "labutils/training/steps.py").read_text() == (ROOT / "labutils/training/steps.py").read_text()


def test_an_edit_in_the_package_alone_is_caught_too(tmp_path):
    root = _copy_of_the_repository(tmp_path)
    module = root / "labutils/training/gan_step.py"
    module.write_text(module.read_text().replace("self.iterations += 1", "self.iterations += 2"))
    found = notebook_export.differences(root)
    assert [(d.module, d.notebook) for d in found] == [("labutils.training.gan_step", "notebooks/04_gan.ipynb")]


def test_a_block_that_no_notebook_saves_and_a_misnamed_target_are_refused(tmp_path):
    root = _copy_of_the_repository(tmp_path)
    plots = root / "labutils/plots.py"
    plots.write_text(plots.read_text() + "\n" + notebook_export.BEGIN.format(notebook="notebooks/01_autoencoder.ipynb")
                     + "\nx = 1\n" + notebook_export.END.format(notebook="notebooks/01_autoencoder.ipynb") + "\n")
    assert any(d.module == "labutils.plots" and "no #@save cell" in d.problem
               for d in notebook_export.differences(root))
    _edit_saved_cell(root, "01_autoencoder.ipynb", "#@save labutils.models.autoencoder\ndef mlp",
                     "#@save models/autoencoder.py\ndef mlp")
    with pytest.raises(ValueError, match="must name a module"):
        notebook_export.differences(root)
