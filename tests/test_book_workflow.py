"""The workflow that publishes the book (.github/workflows/book.yml), read as GitHub reads it, against the Makefile."""
import re
import shlex

import pytest
import yaml

from labutils.runtime import repo_root

WORKFLOW = repo_root() / ".github" / "workflows" / "book.yml"


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def makefile_targets() -> set[str]:
    """The Makefile's rule names (`name:` at the start of a line, not `NAME := value`)."""
    text = (repo_root() / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, re.MULTILINE))


def make_commands(job: dict) -> list[tuple[list[str], dict[str, str]]]:
    """Each `make` command of the job's run steps: (its targets, its VAR=value arguments)."""
    commands = []
    for step in job["steps"]:
        for line in step.get("run", "").splitlines():
            words = shlex.split(line)
            if words[:1] == ["make"]:
                assignments = dict(w.split("=", 1) for w in words[1:] if "=" in w)
                commands.append(([w for w in words[1:] if "=" not in w], assignments))
    return commands


def test_every_make_step_names_a_target_of_the_makefile(workflow):
    targets = makefile_targets()
    assert {"run-all", "book", "book-check", "test"} <= targets  # the parser finds the rules
    commands = [command for job in workflow["jobs"].values() for command in make_commands(job)]
    assert commands and all(names and set(names) <= targets for names, _ in commands), commands


def test_it_builds_the_book_from_a_quick_run_checks_it_and_publishes_that(workflow):
    build = workflow["jobs"]["build"]
    assert [(names, args.get("PROFILE")) for names, args in make_commands(build)] == [
        (["run-all"], "quick"), (["book"], None), (["book-check"], None)]
    upload = next(step for step in build["steps"] if step.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "outputs/book"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert any(step.get("uses", "").startswith("actions/deploy-pages@") for step in deploy["steps"])
    assert deploy["permissions"]["pages"] == "write" and deploy["permissions"]["id-token"] == "write"


def test_it_runs_on_a_push_to_main_and_by_hand_and_only_where_pages_publishes_from_actions(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"push", "workflow_dispatch"} and triggers["push"]["branches"] == ["main"]
    # Elsewhere (a fork without Pages) nothing but the first job runs: the build waits on its answer.
    pages = workflow["jobs"]["pages"]
    assert "build_type" in pages["steps"][0]["run"] and pages["permissions"] == {"pages": "read"}
    assert workflow["jobs"]["build"]["needs"] == "pages"
    assert workflow["jobs"]["build"]["if"] == "needs.pages.outputs.enabled == 'true'"
    # Write access only where it publishes.
    assert workflow["permissions"] == {"contents": "read"}
    assert all("write" not in job.get("permissions", {}).values() for name, job in workflow["jobs"].items()
               if name != "deploy")
