"""tests/browser/run.py's edits and cell choice, on a small notebook made here (the browser run itself is
`make browser-test`)."""
import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("browser_run", Path(__file__).parent / "browser" / "run.py")
browser_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(browser_run)

PARAMETERS = ('profile = "auto"   # "full", "quick" # or "smoke"\n'
              "num_epochs = None  # passes (full 100)\n"
              "num_epochs_extra = 2\n")


def code(source, tags=(), cell_id="x"):
    return {"cell_type": "code", "id": cell_id, "metadata": {"tags": list(tags)}, "source": source}


def test_an_edit_replaces_only_the_value_as_a_learner_types_it():
    edited = browser_run.set_parameter(PARAMETERS, "num_epochs", "5")
    assert edited.splitlines()[1] == "num_epochs = 5  # passes (full 100)"
    assert edited.splitlines()[0] == PARAMETERS.splitlines()[0] and edited.endswith("num_epochs_extra = 2\n")
    edited = browser_run.set_parameter(PARAMETERS, "profile", '"smoke"')
    assert edited.splitlines()[0] == 'profile = "smoke"   # "full", "quick" # or "smoke"'


def test_an_edit_of_a_missing_name_or_with_broken_source_is_refused():
    with pytest.raises(ValueError, match="no such line; its names: profile, num_epochs"):
        browser_run.set_parameter(PARAMETERS, "epochs", "5")
    with pytest.raises(SyntaxError):
        browser_run.set_parameter(PARAMETERS, "num_epochs", "5 +")
    with pytest.raises(ValueError, match="NAME=VALUE"):
        browser_run.parse_edits(["num_epochs"])
    assert browser_run.parse_edits(['profile="smoke"', "num_epochs = 5"]) == {"profile": '"smoke"', "num_epochs": "5"}


def test_the_cells_read_are_counted_among_code_cells_past_papermills():
    notebook = {"cells": [code("import lab"), {"cell_type": "markdown", "source": "# Title"},
                          code(PARAMETERS, ["parameters"]), code("profile = 'smoke'", ["injected-parameters"]),
                          code("print(profile)"),
                          {"cell_type": "markdown", "source": "Cost"}, code("estimate()", cell_id="cell-9-estimate")]}
    assert browser_run.cells_to_read(notebook) == {"in_force": 3, "estimate": 4}
    assert browser_run.run_name("04_gan", True, {"profile": '"smoke"'}) == "04_gan-as-is-profile=smoke"
