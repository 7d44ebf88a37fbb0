"""What the notebooks import when they run, which is all that their setup cell installs on Colab and
Kaggle: every third-party module that a notebook, or a labutils module it can reach, imports (at the
top or inside a function) comes from a distribution in pyproject.toml's [project.dependencies]; those
modules import without loading the make commands' stack (the `lab` extra); and the explorers ask of
ipywidgets only what Colab's 7.7.1 has (its API is recorded in requirements/platforms/)."""
import ast
import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "labutils"
TOOLS = ROOT / "labtools"  # the make commands (not installed)
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
WIDGETS_7_7 = ROOT / "requirements" / "platforms" / "ipywidgets-7.7.1-api.json"
PLATFORM_MODULES = ("google.colab", "kaggle_secrets")  # the platforms' own, imported only there


def imported_names(source: str) -> set[str]:
    """Every absolute import in `source`, at the top or inside a function; `from a import b` gives
    both a and a.b (b may be a module)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def notebook_source(path: Path) -> str:
    """A notebook's code cells as one Python source (IPython's % and ! lines left out)."""
    cells = json.loads(path.read_text())["cells"]
    lines = [line for cell in cells if cell["cell_type"] == "code"
             for line in "".join(cell["source"]).splitlines() if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def module_file(name: str) -> Path | None:
    """labutils.a.b -> its .py file, or None when `name` is no module of the package."""
    base = ROOT.joinpath(*name.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def notebook_modules() -> set[str]:
    """The labutils modules a notebook can reach: what they import, what `lab.X` names (every module
    of the packages the facade names), and everything those import in turn."""
    import labutils

    start = {"labutils"} | set().union(*(imported_names(notebook_source(p)) for p in (ROOT / "notebooks").glob("*.ipynb")))
    for name in labutils._SUBMODULES:
        folder = PACKAGE / name
        start |= {f"labutils.{name}"} | {f"labutils.{name}.{p.stem}" for p in folder.glob("*.py")
                                         if folder.is_dir() and p.stem not in ("__init__", "__main__")}
    reached, pending = set(), [name for name in start if name.startswith("labutils") and module_file(name)]
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        pending += [n for n in imported_names(module_file(name).read_text()) if n.startswith("labutils") and module_file(n)]
    return reached


def third_party_imports() -> dict[str, set[str]]:
    """{top-level module: where it is imported} over the notebooks and the modules they reach."""
    sources = {p.name: notebook_source(p) for p in (ROOT / "notebooks").glob("*.ipynb")}
    sources |= {name: module_file(name).read_text() for name in notebook_modules()}
    found = {}
    for where, source in sources.items():
        for name in imported_names(source) - set(_platform_own(imported_names(source))):
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in ("__future__", "labutils"):
                found.setdefault(top, set()).add(where)
    return found


def _platform_own(names: set[str]) -> list[str]:
    return [name for name in names if name.startswith(PLATFORM_MODULES)]


def _run_time_names() -> set[str]:
    return {canonicalize_name(Requirement(line).name) for line in PYPROJECT["dependencies"]}


def test_what_the_notebooks_import_is_a_run_time_dependency():
    distributions = metadata.packages_distributions()
    imports = third_party_imports()
    assert {"torch", "ipywidgets", "IPython", "sklearn"} <= set(imports)  # function-level imports are seen
    missing = [f"{top} (imported by {', '.join(sorted(where))}) comes from {distributions.get(top, ['nothing installed'])}"
               for top, where in sorted(imports.items())
               if not {canonicalize_name(d) for d in distributions.get(top, [])} & _run_time_names()]
    assert missing == [], ("add these to pyproject.toml's [project.dependencies] (the setup cell installs "
                           "only those), or keep the import out of what a notebook reaches:\n" + "\n".join(missing))


def test_everything_else_the_lab_imports_is_in_its_lab_extra():
    """The make commands and the tests may import more: from the run-time dependencies or the `lab` extra."""
    listed = _run_time_names() | {canonicalize_name(Requirement(line).name)
                                  for line in PYPROJECT["optional-dependencies"]["lab"]}
    distributions = metadata.packages_distributions()
    missing = set()
    for path in sorted(PACKAGE.rglob("*.py")) + sorted(TOOLS.rglob("*.py")) + sorted((ROOT / "tests").rglob("*.py")):
        names = imported_names(path.read_text())
        for top in {name.split(".")[0] for name in names - set(_platform_own(names))}:
            local = (path.parent / f"{top}.py").is_file()  # a script's sibling, e.g. tests/browser/run.py
            if top not in sys.stdlib_module_names and top not in ("__future__", "labutils", "labtools") and not local:
                if not {canonicalize_name(d) for d in distributions.get(top, [])} & listed:
                    missing.add(f"{top} ({path.relative_to(ROOT)})")
    assert sorted(missing) == [], "add their distributions to pyproject.toml's `lab` extra"


def test_the_make_commands_stay_out_of_what_the_notebooks_reach():
    """labtools is not installed on Colab: neither a notebook nor a module it reaches imports it."""
    reached = notebook_modules()
    sources = [notebook_source(p) for p in (ROOT / "notebooks").glob("*.ipynb")]
    sources += [module_file(name).read_text() for name in reached]
    assert not {name for source in sources for name in imported_names(source) if name.split(".")[0] == "labtools"}
    assert {"explore", "summaries", "training", "profiles"} <= {name.split(".")[1] for name in reached if name != "labutils"}


def _lab_only_modules() -> set[str]:
    """Top-level modules of the `lab` extra's packages that no run-time dependency itself requires
    (packaging is in the extra for the tests, and matplotlib needs it too)."""
    lab = {canonicalize_name(Requirement(line).name) for line in PYPROJECT["optional-dependencies"]["lab"]}
    requirements = [Requirement(line) for dist in _run_time_names() for line in metadata.distribution(dist).requires or []]
    required = {canonicalize_name(r.name) for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})}
    return {top for top, dists in metadata.packages_distributions().items()
            if {canonicalize_name(d) for d in dists} & (lab - required)}


def test_the_notebooks_modules_import_without_loading_the_lab_stack():
    """papermill, nbformat, nbconvert, JupyterLab, nbval, pytest: none is loaded by importing what a
    notebook reaches (a fresh interpreter, so nothing this test session loaded counts)."""
    watched = _lab_only_modules()
    assert {"papermill", "nbformat", "nbconvert", "jupyterlab", "pytest"} <= watched
    modules = sorted(notebook_modules())
    code = ("import importlib, json, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            f"print(json.dumps(sorted(set(m.split('.')[0] for m in sys.modules) & set({sorted(watched)!r}))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def widget_api() -> dict:
    """The installed ipywidgets' widget classes and the public traits each takes (what
    requirements/platforms/ipywidgets-7.7.1-api.json records for 7.7.1)."""
    import ipywidgets

    classes = {name: sorted(t for t in obj.class_trait_names() if not t.startswith("_"))
               for name, obj in vars(ipywidgets).items()
               if isinstance(obj, type) and issubclass(obj, ipywidgets.Widget) and not name.startswith("_")}
    return {"ipywidgets": ipywidgets.__version__, "widgets": classes}


def widget_calls() -> list[tuple[str, str, set[str]]]:
    """(file, class, keyword arguments) of every `widgets.X(...)` call in labutils/explore/. A box's
    positional argument is its `children` (Box(children=(), **kwargs) in 7.7 and 8), any other class's
    is flagged; a `**name` is resolved when `name = dict(...)` in the same file."""
    calls = []
    for path in sorted((PACKAGE / "explore").glob("*.py")):
        tree = ast.parse(path.read_text())
        dicts = {node.targets[0].id: {k.arg for k in node.value.keywords} for node in ast.walk(tree)
                 if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                 and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") == "dict"}
        for node in ast.walk(tree):
            func = getattr(node, "func", None)
            if isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "widgets":
                keywords = {"children" if func.attr.endswith("Box") else "(positional)"} if node.args else set()
                for keyword in node.keywords:
                    keywords |= {keyword.arg} if keyword.arg else dicts.get(getattr(keyword.value, "id", ""), {"**?"})
                calls.append((path.name, func.attr, keywords))
    return calls


def test_the_explorers_use_only_what_ipywidgets_7_7_and_the_installed_version_both_have():
    """Colab ships ipywidgets 7.7.1 (google-colab keeps it): each widget class and keyword the
    explorers use must exist there and in the version installed here."""
    recorded = json.loads(WIDGETS_7_7.read_text())
    assert recorded["ipywidgets"] == "7.7.1"
    calls = widget_calls()
    assert {"IntSlider", "FloatSlider", "Image", "VBox"} <= {cls for _, cls, _ in calls}
    for api in (recorded, widget_api()):
        unknown = [f"{file}: widgets.{cls}({', '.join(sorted(kw - set(api['widgets'].get(cls, []))))})"
                   for file, cls, kw in calls if cls not in api["widgets"] or kw - set(api["widgets"][cls])]
        assert unknown == [], f"not in ipywidgets {api['ipywidgets']}: " + "; ".join(unknown)


if __name__ == "__main__":  # records the API of the ipywidgets this Python has: see widget_api
    api = widget_api()
    classes = ",\n".join(f"  {json.dumps(name)}: {json.dumps(traits)}" for name, traits in sorted(api["widgets"].items()))
    print(f'{{"ipywidgets": {json.dumps(api["ipywidgets"])},\n'
          f' "recorded_by": "python tests/test_run_time_imports.py, in a venv with that ipywidgets",\n'
          f' "widgets": {{\n{classes}\n}}}}')
