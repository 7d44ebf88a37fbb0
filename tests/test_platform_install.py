"""The notebooks' setup cell on Colab and Kaggle (`pip install -e generative-lab`) replaces none of
the platform's packages: every requirement it brings, and recursively those of each package the
platform lacks, is met by the version the platform ships. Colab's published package lists are
committed in requirements/platforms/ (source and date in each file's header); the requirements of
a package the platform lacks are read from its metadata as installed here. Also: the `lab` extra
stays out of what the setup cell installs, and requirements/constraints.txt pins every direct
dependency within pyproject.toml's bounds."""
import ast
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = ROOT / "requirements" / "platforms"
COLAB_LISTS = sorted(PLATFORMS.glob("colab-gpu-*.txt"))
KAGGLE_LIST = PLATFORMS / "kaggle-requirements-2026-08-12.txt"
KAGGLE_BASE = PLATFORMS / "colab-gpu-2026-08-14.txt"  # the Python 3.12 runtime Kaggle's image starts from
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def platform_packages(path: Path) -> dict[str, Version | None]:
    """{canonical name: version} from a `pip freeze` list; None where the line gives no version
    (a git checkout). Lines of a requirements list that pin no exact version, or name no package
    (a bare git+https:// address), are left out: their versions are unknown (Kaggle's list)."""
    packages = {}
    for line in path.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#") or line.startswith("git+"):
            continue
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if requirement.url:  # name @ URL: the version is in a wheel's or an archive's file name
            file = requirement.url.split("#")[0].rsplit("/", 1)[-1]
            parse = parse_wheel_filename if file.endswith(".whl") else parse_sdist_filename
            try:
                packages[name] = parse(file)[1]
            except ValueError:
                packages[name] = None
        elif len(requirement.specifier) == 1 and next(iter(requirement.specifier)).operator == "==":
            packages[name] = Version(next(iter(requirement.specifier)).version)
    return packages


def platform_python(path: Path) -> str:
    """The Python version a list's header names (`# python: 3.13.15`)."""
    match = re.search(r"^# python: (\d+\.\d+\.\d+)", path.read_text(), re.MULTILINE)
    assert match, f"{path.name}: its header needs a line '# python: X.Y.Z' (os-info-gpu.txt has it)"
    return match[1]


def marker_environment(python: str) -> dict[str, str]:
    """Marker values of a Linux x86-64 CPython `python`, as Colab's and Kaggle's runtimes are."""
    return {**default_environment(), "python_version": ".".join(python.split(".")[:2]),
            "python_full_version": python, "sys_platform": "linux", "platform_system": "Linux",
            "os_name": "posix", "platform_machine": "x86_64", "implementation_name": "cpython",
            "platform_python_implementation": "CPython"}


def _applies(requirement: Requirement, environment: dict, extras: frozenset[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**environment, "extra": extra}) for extra in extras | {""})


def install_conflicts(requirements: list[str], platform: dict[str, Version | None],
                      environment: dict[str, str]) -> list[str]:
    """What installing `requirements` would replace on `platform`: one line per requirement that the
    platform's version does not meet. A package the platform lacks is followed into its own
    requirements (from its metadata as installed here)."""
    conflicts, followed = [], set()
    pending = [(Requirement(line), "labutils", frozenset()) for line in requirements]
    while pending:
        requirement, asked_by, asker_extras = pending.pop()
        if not _applies(requirement, environment, asker_extras):
            continue
        name = canonicalize_name(requirement.name)
        if name in platform:
            version = platform[name]
            if version is None and requirement.specifier:
                conflicts.append(f"{requirement} (asked by {asked_by}): the platform's {name} has no "
                                 "known version to check")
            elif version is not None and not requirement.specifier.contains(version, prereleases=True):
                conflicts.append(f"{requirement} (asked by {asked_by}): the platform has {name} {version}")
            continue
        extras = frozenset(requirement.extras)
        if (name, extras) in followed:
            continue
        followed.add((name, extras))
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            conflicts.append(f"{requirement} (asked by {asked_by}): not on the platform and not installed "
                             "here, so its own requirements cannot be read; install it here to check")
            continue
        pending += [(Requirement(line), name, extras) for line in requires]
    return sorted(conflicts)


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(line).name) for line in requirements}


@pytest.mark.parametrize("path", COLAB_LISTS, ids=lambda p: p.stem)
def test_the_setup_cell_replaces_none_of_colab_s_packages(path):
    platform = platform_packages(path)
    assert {"torch", "ipykernel", "ipywidgets", "google-colab"} <= set(platform)  # the list was read
    conflicts = install_conflicts(PYPROJECT["dependencies"], platform, marker_environment(platform_python(path)))
    assert conflicts == [], (f"the setup cell's install would replace Colab's packages ({path.name}); lower "
                             "these bounds in pyproject.toml's [project.dependencies]:\n" + "\n".join(conflicts))


@pytest.mark.parametrize("path", COLAB_LISTS, ids=lambda p: p.stem)
def test_the_lab_extra_s_bounds_are_met_by_colab_where_it_has_the_package(path):
    """The setup cell never installs the extra; its bounds are kept low enough that installing it there
    by hand would not replace the packages it names that Colab has (ipykernel, nbconvert, pytest...)."""
    platform = platform_packages(path)
    unmet = [f"{line}: Colab has {platform[name]}" for line in PYPROJECT["optional-dependencies"]["lab"]
             if (name := canonicalize_name(Requirement(line).name)) in platform
             and not Requirement(line).specifier.contains(platform[name], prereleases=True)]
    assert unmet == []


def test_the_setup_cell_replaces_none_of_kaggle_s_pinned_packages():
    """Kaggle publishes no list of its image's packages: Colab's Python 3.12 runtime, with the
    versions Kaggle's own requirements pin laid over it, stands in for one."""
    platform = {**platform_packages(KAGGLE_BASE), **platform_packages(KAGGLE_LIST)}
    assert platform["nbconvert"] == Version("6.4.5")  # Kaggle's pin, over Colab's 7.x
    conflicts = install_conflicts(PYPROJECT["dependencies"], platform, marker_environment(platform_python(KAGGLE_BASE)))
    assert conflicts == [], "\n".join(conflicts)


def test_the_check_catches_a_bound_colab_does_not_meet_also_through_a_package_it_lacks():
    """The checks above can fail: the lab's earlier bounds (ipywidgets 8, ipykernel 6.25) are caught,
    and so is what a missing package asks for (Colab without ipywidgets: this one's widgetsnbextension)."""
    colab = platform_packages(COLAB_LISTS[-1])
    environment = marker_environment(platform_python(COLAB_LISTS[-1]))
    caught = install_conflicts(["ipywidgets>=8.0", "ipykernel>=6.25", "numpy>=1.24"], colab, environment)
    assert [line.split()[0] for line in caught] == ["ipykernel>=6.25", "ipywidgets>=8.0"]
    without_ipywidgets = {name: version for name, version in colab.items() if name != "ipywidgets"}
    through = install_conflicts(["ipywidgets"], without_ipywidgets, environment)
    assert any(line.startswith("widgetsnbextension") and "asked by ipywidgets" in line for line in through)
    # A requirement whose marker excludes the platform's Python is not asked for.
    assert install_conflicts(['ipykernel>=99; python_version < "3.0"'], colab, environment) == []


def test_a_platform_list_is_read_with_its_direct_urls_and_its_python():
    colab = platform_packages(COLAB_LISTS[-1])
    assert colab["google-colab"] == Version("1.0.0")       # google-colab @ file:///.../google_colab-1.0.0.tar.gz
    assert colab["jupyter-kernel-gateway"] is None         # @ git+https://...: no version in the address
    assert Version(platform_python(COLAB_LISTS[-1])) >= Version("3.12")
    assert "jupyterlab" not in platform_packages(KAGGLE_LIST)  # unpinned there: its version is unknown


def test_the_lab_extra_stays_out_of_what_the_setup_cell_installs():
    run_time, lab = _names(PYPROJECT["dependencies"]), _names(PYPROJECT["optional-dependencies"]["lab"])
    assert run_time & lab == set()
    assert {"jupyterlab", "papermill", "nbval", "nbconvert", "ipykernel", "pytest"} <= lab
    assert set(PYPROJECT["optional-dependencies"]) == {"lab"}


def test_the_setup_cell_installs_the_package_without_its_lab_extra():
    from labtools.notebook_setup import setup_cell

    installs = [[getattr(item, "value", None) for item in node.args[0].elts]
                for node in ast.walk(ast.parse(setup_cell())) if isinstance(node, ast.Call)
                and node.args and isinstance(node.args[0], ast.List) and "install" in ast.unparse(node.args[0])]
    assert len(installs) == 1 and installs[0][-2:] == ["-e", "generative-lab"], installs  # no "[lab]"


def test_constraints_pin_every_direct_dependency_within_its_bounds():
    direct = [Requirement(line) for line in PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["lab"]]
    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            pin = Requirement(line)
            assert [spec.operator for spec in pin.specifier] == ["=="], f"constraints.txt: {line!r} is no exact pin"
            pins[canonicalize_name(pin.name)] = Version(next(iter(pin.specifier)).version)
    assert set(pins) == {canonicalize_name(r.name) for r in direct}, "pin each direct dependency, no other"
    outside = [f"{r} (pinned {pins[canonicalize_name(r.name)]})" for r in direct
               if not r.specifier.contains(pins[canonicalize_name(r.name)])]
    assert outside == []
