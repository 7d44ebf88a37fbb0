"""Every cell of every notebook, as the smoke run of `make test` executed it: the checks nbval makes
(`--nbval-lax`), made on papermill's executed copies, so that each notebook runs once in `make test`.

One test per code cell, named after its notebook and its number: it ran, in order, without an error,
within the run's cell time limit, and it is the cell of the notebook in `notebooks/` today (an executed
copy from older code fails). `make nbval` runs the notebooks under nbval itself, a second execution.
"""
import json
import os

import nbformat
import pytest

from labtools.pipeline import notebooks_in_order
from labutils.runtime import outputs_dir

SMOKE_RUN = os.environ.get("LAB_SMOKE_RUN") == "1"
# nbval's markers ask it to compare a cell's outputs with those stored in the notebook, or to expect an
# error: the lab's notebooks are kept without outputs and raise nothing, so none may carry one.
NBVAL_MARKERS = ("NBVAL_CHECK_OUTPUT", "NBVAL_RAISES_EXCEPTION", "NBVAL_SKIP", "NBVAL_IGNORE_OUTPUT")


def _code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def _executed_cells():
    """(notebook stem, index among its code cells) for every code cell of the smoke run's copies."""
    if not SMOKE_RUN:
        return [pytest.param(None, None, marks=pytest.mark.skip(reason="needs the smoke run of `make test`"))]
    cells = []
    for notebook in notebooks_in_order():
        executed = nbformat.read(outputs_dir("notebooks") / notebook.name, as_version=4)
        cells += [pytest.param(notebook.stem, i, id=f"{notebook.stem}-cell{i + 1}")
                  for i in range(len(_code_cells(executed)))]
    return cells


@pytest.fixture(scope="module")
def smoke_run():
    record = json.loads((outputs_dir() / "run.json").read_text())
    executed = {p.stem: nbformat.read(outputs_dir("notebooks") / p.name, as_version=4) for p in notebooks_in_order()}
    source = {p.stem: nbformat.read(p, as_version=4) for p in notebooks_in_order()}
    return record, executed, source


@pytest.mark.parametrize("stem, index", _executed_cells())
def test_the_cell_ran_in_order_without_error_within_the_time_limit(smoke_run, stem, index):
    record, executed, source = smoke_run
    cell = _code_cells(executed[stem])[index]
    assert cell.execution_count == index + 1, "a cell was skipped or ran out of order"
    errors = [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"{stem}, cell [{index + 1}] raised {errors[0]}"
    limit = record["cell_timeout"]
    assert limit and cell.metadata["papermill"]["duration"] <= limit
    # The notebook's own cell at this place, papermill's injected parameters aside.
    own = [c for c in _code_cells(executed[stem]) if "injected-parameters" not in c.metadata.get("tags", [])]
    today = [c.source for c in _code_cells(source[stem])]
    assert len(own) == len(today), f"the executed {stem} is not today's notebook"
    place = next((j for j, c in enumerate(own) if c is cell), None)  # None: the injected parameters
    if place is not None:
        assert cell.source == today[place], f"the executed {stem} is not today's notebook"


@pytest.mark.parametrize("notebook", notebooks_in_order(), ids=lambda p: p.stem)
def test_no_cell_asks_nbval_for_a_comparison_this_check_does_not_make(notebook):
    for cell in _code_cells(nbformat.read(notebook, as_version=4)):
        assert not any(marker in cell.source for marker in NBVAL_MARKERS), cell.source[:80]
