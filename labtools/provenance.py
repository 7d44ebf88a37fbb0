"""Which run made each number that `make readme` writes, and whether the code has changed since.

The records: each run's `outputs/run.json` or `outputs/run_NAME.json` (`labtools.pipeline`: profile,
start, commit, whether each notebook trained) and each notebook's metrics file (its profile and when
it was written). A metrics file comes from the run record that names its notebook and was running
when the file was written. Checkpoints hold no commit: a number that a run recomputed from loaded
checkpoints has no training commit to show, and the page says so ("—") rather than guess one.
"""
from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable, NamedTuple

# The code that makes a number: the package and the notebooks. labtools/ (the commands), docs/ and tests/
# do not change what a run measures. A commit here need not change a number either: "older" means made by
# code that has changed since, not that the number would differ.
RESULT_CODE = ("labutils", "notebooks")
SLACK = timedelta(seconds=10)  # `started` and `written` are whole seconds
MAKE_TARGETS = {"run.json": "run-all", "run_04_gan_mnist.json": "run-gan-mnist"}  # record -> make target


class Source(NamedTuple):
    """The run that wrote one notebook's metrics, as the records hold it."""
    notebook: str
    record: str | None  # the run record's file name (outputs/), None when no record names this run
    profile: str
    device: str  # as the run record names it ("—" without one)
    date: str  # the day the run started (without a record: the day the metrics were written)
    commit: str | None  # the run's commit, without "-dirty"; None when not recorded
    dirty: bool  # the run's tree had uncommitted changes
    loaded: bool  # the run trained nothing here: its models are checkpoints of an earlier run


class Age(NamedTuple):
    state: str  # "current", "older" or "unknown"
    commits: int = 0  # for "older": commits since that change RESULT_CODE
    why: str = ""  # for "unknown": why it cannot tell


def run_records(outputs: Path) -> dict[str, dict]:
    """{file name: record} for every run record in `outputs` (run.json, run_NAME.json)."""
    import json

    return {path.name: json.loads(path.read_text()) for path in sorted(outputs.glob("run*.json"))}


def _time(stamp: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        return None


def _wrote(run: dict, notebook: str, metrics: dict) -> bool:
    """Whether `run` wrote `notebook`'s metrics: it ran that notebook, of that profile, when they were written."""
    if notebook not in run.get("notebooks", {}) or metrics.get("profile", run.get("profile")) != run.get("profile"):
        return False
    written, started = _time(metrics.get("written")), _time(run.get("started"))
    if written is None or started is None:  # an older record: the notebook's name is all there is
        return True
    finished = started + timedelta(seconds=run.get("total_seconds", 1e9))
    return started - SLACK <= written <= finished + SLACK


def sources(metrics: dict[str, dict], runs: dict[str, dict]) -> dict[str, Source]:
    """{notebook: the run that wrote its metrics}, for every metrics record in `metrics`."""
    found = {}
    for notebook, record in metrics.items():
        writers = [(name, run) for name, run in runs.items() if _wrote(run, notebook, record)]
        if not writers:
            found[notebook] = Source(notebook, None, record.get("profile", "—"), record.get("device", "—"),
                                     (record.get("written") or "—")[:10], None, False, False)
            continue
        name, run = max(writers, key=lambda pair: pair[1].get("started", ""))
        commit = run.get("git_commit", "unknown")
        found[notebook] = Source(notebook, name, run.get("profile", "—"), run.get("device", "—"),
                                 run.get("started", "—")[:10],
                                 None if commit == "unknown" else commit.removesuffix("-dirty"),
                                 commit.endswith("-dirty"), run["notebooks"][notebook].get("trained") is False)
    return found


def source_text(source: Source) -> str:
    """The run, as a table cell: "quick, 2026-12-04, `a0f4b4a`", and what the records lack."""
    if source.record is None:
        return f"{source.profile}, {source.date}, — (no run record names it)"
    text = f"{source.profile}, {source.date}, " + (f"`{source.commit[:7]}`" if source.commit else "—")
    text += " + uncommitted edits" if source.dirty else ""
    return text + ("; models loaded, trained at — (not recorded)" if source.loaded else "")


def _git(root: Path, *args: str) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    except OSError:  # no git here
        return None


def head(root: Path) -> str | None:
    """HEAD's short hash, or None where git or the repository is missing."""
    done = _git(root, "rev-parse", "--short=7", "HEAD")
    return done.stdout.strip() if done and done.returncode == 0 else None


def code_age(commit: str, root: Path) -> Age:
    """Whether RESULT_CODE at HEAD is as it was at `commit`."""
    if head(root) is None:
        return Age("unknown", why="there is no git repository here to compare with")
    known = _git(root, "cat-file", "-e", f"{commit}^{{commit}}")
    if known is None or known.returncode != 0:
        return Age("unknown", why=f"this repository does not hold commit `{commit[:7]}`")
    if _git(root, "diff", "--quiet", commit, "HEAD", "--", *RESULT_CODE).returncode == 0:
        return Age("current")
    since = _git(root, "rev-list", "--count", f"{commit}..HEAD", "--", *RESULT_CODE).stdout.strip()
    return Age("older", int(since or 0))


def source_age(source: Source, root: Path) -> Age:
    """`code_age` of the run that made a number, and what else its records leave open."""
    if source.commit is None:
        return Age("unknown", why="no run record holds the commit that made them")
    age = code_age(source.commit, root)
    if age.state == "current" and source.dirty:
        return Age("unknown", why=f"the run at `{source.commit[:7]}` had uncommitted edits")
    if age.state == "current" and source.loaded:
        return Age("unknown", why="their models were trained earlier, at a commit no record holds")
    return age


def _names(notebooks: list[str]) -> str:
    quoted = [f"`{name}`" for name in notebooks]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def remake_command(source: Source) -> str:
    """The command that makes a run's numbers again."""
    name = source.record or "run.json"
    target = MAKE_TARGETS.get(name)
    if target:
        return f"`make {target} PROFILE={source.profile}`"
    return f"`python -m labtools.pipeline run --profile {source.profile} --only {name[4:-5]}`"


def age_sentence(shown: Iterable[Source], root: Path, remake: bool = True) -> str:
    """Plainly, which of these numbers are older than the code (RESULT_CODE at HEAD), and with `remake`
    the commands that make them anew."""
    shown = list(shown)
    if not shown:
        return ""
    ages, now = {source.notebook: source_age(source, root) for source in shown}, head(root)
    older = [s for s in shown if ages[s.notebook].state == "older"]
    unknown = [s for s in shown if ages[s.notebook].state == "unknown"]
    if not older and not unknown:
        return (f"All these numbers were made by today's code: labutils/ and notebooks/ at `{now}` are as at "
                f"{'their runs' if len({s.commit for s in shown}) > 1 else 'their run'}.")
    sentences = []
    if older:
        which = ("every number here" if len(older) == len(shown)
                 else f"the numbers of {_names([s.notebook for s in older])}")
        since = list({s.commit[:7]: ages[s.notebook].commits for s in older}.items())  # one clause per commit
        (commit, n), rest = since[0], since[1:]
        clauses = [f"{n} commit{'s' if n != 1 else ''} since `{commit}`"] + [f"{n} since `{c}`" for c, n in rest]
        sentences.append(f"Older than the code at `{now}`: {which}; labutils/ or notebooks/ have "
                         f"changed in {' and '.join(clauses)}.")
        if remake:
            commands = list(dict.fromkeys(remake_command(s) for s in older))
            sentences.append(f"{' and '.join(commands)} make{'s' if len(commands) == 1 else ''} them anew.")
    if unknown:
        which = ("any number here is" if len(unknown) == len(shown)
                 else f"the numbers of {_names([s.notebook for s in unknown])} are")
        whys = dict.fromkeys(ages[s.notebook].why for s in unknown)
        sentences.append(f"Cannot tell whether {which} older than the code: {'; '.join(whys)}.")
    if len(older) + len(unknown) < len(shown):
        sentences.append("The others were made by today's code.")
    return " ".join(sentences)


def _notes(source: Source) -> list[str]:
    """What a run's record says about the code and the models behind its numbers."""
    return [note for note, true in (("had uncommitted edits", source.dirty),
                                    ("loaded its models, trained at a commit no record holds", source.loaded)) if true]


def run_phrase(source: Source, notes: bool = True) -> str:
    """The run in a sentence: "the `make run-all PROFILE=quick` run of 2026-12-04 at `a0f4b4a`"."""
    if source.record is None:
        return f"a {source.profile} run of {source.date} that no run record names"
    commit = f"`{source.commit[:7]}`" if source.commit else "a commit not recorded"
    said = f" (it {' and '.join(_notes(source))})" if notes and _notes(source) else ""
    return f"the {remake_command(source)} run of {source.date} at {commit}{said}"


def runs_sentence(shown: Iterable[Source]) -> str:
    """The runs that made these numbers: the first whole, the others with the notebooks they made, and
    what the records say of their code and models, once where it is true of every run."""
    by_run: dict[tuple, list[Source]] = {}
    for source in shown:
        by_run.setdefault(source[1:], []).append(source)  # all but the notebook: one run
    if not by_run:
        return "no run"
    first, *others = [group[0] for group in sorted(by_run.values(), key=lambda g: g[0].record != "run.json")]
    common = _notes(first) if all(_notes(s) == _notes(first) for s in others) else []
    phrases = [run_phrase(first, not common)] + [
        f"for {_names([s.notebook for s in by_run[run[1:]]])} {run_phrase(run, not common)}" for run in others]
    said = f"; {'each' if others else 'it'} {' and '.join(common)}" if common else ""
    return ", and ".join(phrases) + said
