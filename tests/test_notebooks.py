"""The notebooks as files: parameters that map onto the configs, the shared opening, no outputs."""
import ast
import json
import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from labtools import notebook_setup
from labutils.config import AEConfig, GANConfig, VAEConfig, config_fields
from labtools.pipeline import all_runs
from labutils.profiles import EXTRA_RUNS, FULL, PROFILES, parameters

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ALL = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
# Notebook parameters that are not config fields: run context, not hyperparameters.
RUN_PARAMETERS = {"profile", "progress", "retrain", "interactive"}
CONFIG_OF = {"01_autoencoder": AEConfig, "02_vae": VAEConfig, "04_gan": GANConfig}
# Parameters that size a notebook's own extra sections, not the model it trains.
SECTION_PARAMETERS = {"collapse_demo_epochs", "main_run_only", "variant_epochs", "recipe_epochs", "swd_images",
                      "classifier_epochs", "exercise_epochs", "seeds", "data_fractions"}


def _notebook_parameters(stem):
    inferred = pm.inspect_notebook(str(NOTEBOOKS / f"{stem}.ipynb"))
    return {name: ast.literal_eval(p["default"]) for name, p in inferred.items()}


@pytest.mark.parametrize("stem, config_class", CONFIG_OF.items())
def test_notebook_defaults_are_the_config_defaults(stem, config_class):
    """Under the full profile the notebook's defaults, with those left at None taking FULL's values, must be
    the reports' (the config's)."""
    params = {**_notebook_parameters(stem), **FULL[stem]}
    given = {name: value for name, value in params.items() if name in config_fields(config_class)}
    # Compared as the config resolves them (e.g. the GAN's image_size None is the data set's own size).
    built, defaults = config_class(**given).to_dict(), config_class().to_dict()
    for name in given:
        assert built[name] == defaults[name], \
            f"{stem}: parameter {name}={params[name]!r} gives {built[name]!r}, config default {defaults[name]!r}"
    unknown = set(params) - set(config_fields(config_class)) - RUN_PARAMETERS
    assert unknown <= SECTION_PARAMETERS, f"{stem}: parameters that map onto nothing: {unknown}"


# The sentence of a notebook's "## Parameters" text that names its parameters that are not config fields.
NOT_FIELDS = re.compile(r"Not fields of `(?:lab\.)?(\w+)`:([^.]*)\.")


def _parameters_cell(cells):
    """The index of the cell tagged `parameters` (papermill's)."""
    return next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))


def _parameters_text(path):
    """The Markdown cell just above the notebook's parameters cell."""
    cells = nbformat.read(path, as_version=4).cells
    start = _parameters_cell(cells)
    text = cells[start - 1]
    assert text.cell_type == "markdown" and text.source.startswith("## Parameters"), \
        f"{path.name}: a '## Parameters' Markdown cell should introduce the parameters cell"
    return text.source


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_the_parameters_text_names_exactly_the_parameters_that_are_not_config_fields(path):
    text, config_class = _parameters_text(path), CONFIG_OF.get(path.stem)
    # The parameters cell leaves the profile's parameters at None (tests/test_profiles.py): the text says so.
    assert "left at `None` takes the profile's value" in " ".join(text.split()), \
        f"{path.name}: its Parameters text should say what a parameter left at None means"
    claims = NOT_FIELDS.findall(text)
    if config_class is None:
        assert "no config of its own" in text and not claims, \
            f"{path.name}: its Parameters text should say the notebook has no config of its own"
        return
    form = f'one sentence "Not fields of `{config_class.__name__}`: `name`, `name`."'
    assert len(claims) == 1, f"{path.name}: its Parameters text needs {form}"
    named_class, names = claims[0]
    assert named_class == config_class.__name__, f"{path.name}: {form}"
    said = re.findall(r"`(\w+)`", names)
    not_fields = [name for name in _notebook_parameters(path.stem) if name not in config_fields(config_class)]
    assert len(said) == len(set(said)) and set(said) == set(not_fields), \
        f"{path.name}: the text says {said} are not fields of {named_class}; they are {not_fields}"


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_parameter_exists_in_its_notebook(profile):
    """papermill only warns about unknown names; a typo in a profile would silently do nothing."""
    runs = all_runs()
    assert set(EXTRA_RUNS) <= set(runs)
    for name, notebook in sorted(runs.items()):
        names = set(_notebook_parameters(notebook.stem))
        injected = set(parameters(profile, name))
        assert injected <= names, f"{profile}/{name}: {injected - names} not in the parameters cell"
    assert set(PROFILES[profile]) <= set(runs), f"{profile}: parameters for runs that do not exist"


def test_notebooks_are_committed_without_outputs():
    for notebook in NOTEBOOKS.glob("*.ipynb"):
        for cell in json.loads(notebook.read_text())["cells"]:
            assert not cell.get("outputs") and not cell.get("execution_count"), notebook.name


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_every_notebook_opens_with_badges_and_the_shared_setup_cell(path):
    cells = nbformat.read(path, as_version=4).cells
    assert notebook_setup.badges(path.stem) in cells[0].source
    first_code = next(c for c in cells if c.cell_type == "code")
    assert first_code.source == notebook_setup.setup_cell(), f"{path.name}: rebuild its setup cell"
    assert notebook_setup.repository_url() in first_code.source


MAX_CODE_CELL_LINES = 25
MAX_PARAMETERS_LINES = 30  # the parameters cell is a table, one name a line, which papermill reads
MAX_TEMPLATE_SHARE = 0.05  # of the notebooks' code lines: lines inside triple-quoted strings or Markdown( calls


def _code_cells(path):
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def template_lines(source: str) -> int:
    """Lines of `source` inside a triple-quoted string or a `Markdown(...)` call: text assembled in code."""
    lines = set()
    for node in ast.walk(ast.parse(source)):
        is_markdown = isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "Markdown"
        segment = ast.get_source_segment(source, node) or "" if isinstance(node, ast.Constant) else ""
        if is_markdown or (isinstance(node, ast.Constant) and segment.startswith(('"""', "'''"))):
            lines |= set(range(node.lineno, node.end_lineno + 1))
    return len(lines)


def test_the_template_counter_counts_docstrings_and_markdown_calls():
    assert template_lines('x = 1\nMarkdown(f"a {x}"\n         "b")\n') == 2
    assert template_lines('text = """\none\ntwo\n"""\ny = "short"\n') == 4
    assert template_lines("y = 2\n") == 0


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_code_cells_are_short_and_hold_no_text_templates(path):
    cells = _code_cells(path)
    notebook_cells = nbformat.read(path, as_version=4).cells
    parameters = notebook_cells[_parameters_cell(notebook_cells)].source
    longest = max(len(source.splitlines()) for source in cells if source != parameters)
    assert longest <= MAX_CODE_CELL_LINES, f"{path.name}: a code cell of {longest} lines"
    assert len(parameters.splitlines()) <= MAX_PARAMETERS_LINES, f"{path.name}: a parameters cell too long"
    # Docstrings of the code a notebook teaches are documentation, not text assembled for display.
    taught = [s for s in cells if not s.startswith("#@save")]
    assert sum(template_lines(s) for s in taught) == 0, f"{path.name}: text is assembled in code cells"


def test_under_five_percent_of_all_code_lines_are_text_templates():
    cells = [s for path in ALL for s in _code_cells(path)]
    share = sum(template_lines(s) for s in cells) / sum(len(s.splitlines()) for s in cells)
    assert share <= MAX_TEMPLATE_SHARE, f"{share:.1%} of the notebooks' code lines are text templates"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_every_notebook_ends_with_three_to_five_exercises_one_of_them_runnable(path):
    cells = nbformat.read(path, as_version=4).cells
    start = next(i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("## Things to try"))
    numbered = [line for line in cells[start].source.splitlines() if line[:3] in {f"{n}. " for n in range(1, 10)}]
    assert 3 <= len(numbered) <= 5, f"{path.name}: {len(numbered)} exercises"
    assert any(c.cell_type == "code" for c in cells[start:]), f"{path.name}: no exercise runs"


def _python_of(source: str) -> str:
    """A cell's source with IPython's magics and shell lines (% and !) made `pass`, so ast can parse it."""
    return "\n".join(line[:len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


class _ModuleBindings(ast.NodeVisitor):
    """Names a cell binds in the notebook's namespace: assigned, looped over, imported, defined, deleted.

    Function bodies, lambdas and class bodies have their own scopes, and comprehension variables do not
    leak, so none of those count; a walrus (:=) inside a comprehension still binds outside it.
    """

    def __init__(self):
        self.names: set[str] = set()

    def visit_Name(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.names.add(node.id)

    def visit_FunctionDef(self, node):
        self.names.add(node.name)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node):
        pass

    def visit_comprehension(self, node):
        for part in (node.iter, *node.ifs):
            self.visit(part)

    def visit_alias(self, node):
        if node.name != "*":
            self.names.add(node.asname or node.name.split(".")[0])

    def visit_ExceptHandler(self, node):
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node):
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node):
        if node.name:
            self.names.add(node.name)


def bound_names(source: str) -> set[str]:
    visitor = _ModuleBindings()
    visitor.visit(ast.parse(_python_of(source)))
    return visitor.names


def parameters_rebound(path: Path) -> dict[int, set[str]]:
    """Code cells after the parameters cell that bind one of its names: {cell index: names}."""
    cells = nbformat.read(path, as_version=4).cells
    start = _parameters_cell(cells)
    parameters = bound_names(cells[start].source)
    # The cell after resolves the profile and the parameters left at None (tests/test_profiles.py); it
    # keeps every value it is given, so rerunning it changes nothing.
    resolved = {"profile", *FULL.get(path.stem, {}), "in_force"}
    return {i: found for i, c in enumerate(cells[start + 1:], start + 1)
            if c.cell_type == "code" and (found := bound_names(c.source) & parameters - (resolved if i == start + 1 else set()))}


def test_bound_names_are_the_cells_own_and_not_a_scopes_inside_it():
    source = ("%matplotlib inline\nimport numpy as np\nimport os.path\nfrom math import log as ln\n"
              "a, (b, c) = 1, (2, 3)\nd += 1\nfor e in []:\n    !ls\nwith open(x) as f:\n    del g\n"
              "def h(k, m=1):\n    n = 2\nclass P:\n    q = 3\nr = [s for s in t if (u := s)]\nv = lambda w: w\n"
              "try:\n    pass\nexcept ValueError as y:\n    pass\n")
    assert bound_names(source) == {"np", "os", "ln", "a", "b", "c", "d", "e", "f", "g", "h", "P", "r", "u", "v", "y"}


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_no_cell_after_the_parameters_cell_rebinds_a_parameter(path):
    """A later cell that rebinds a parameter (a loop variable named `diffaugment`, say) changes what a
    rerun of the config cell builds, silently."""
    rebound = parameters_rebound(path)
    assert rebound == {}, f"{path.name}: cells (index: names) that rebind parameters, rename them there: {rebound}"
