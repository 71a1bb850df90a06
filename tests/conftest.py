"""Shared fixtures: notebooks made from the reference by replacements kept as data, and a cache of
grading results so that each notebook is graded once per test session."""

from __future__ import annotations

import tomllib
from pathlib import Path

import nbformat
import pytest

from grader.assignments import get_assignment
from grader.authoring import mutants
from grader.authoring.mutants import MUTANTS_DIR

TESTS = Path(__file__).parent
SEED = 1234  # every kernel test grades with this seed, so outcomes are exact


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="Rewrite the golden report files under tests/golden/ from the current output.")


def load_cases(file_name: str, kind: str) -> list[dict]:
    """The entries of one file of the mutation suite (``mutants/`` at the course's root)."""
    return tomllib.loads((MUTANTS_DIR / file_name).read_text("utf-8"))[kind]


def apply_replacements(reference: nbformat.NotebookNode, replacements) -> nbformat.NotebookNode:
    return mutants.apply_replacements(reference, replacements)


@pytest.fixture(scope="session")
def reference():
    """reference(name) -> the reference notebook of that assignment (a copy is made per mutant)."""
    def read(name: str) -> nbformat.NotebookNode:
        return nbformat.read(get_assignment(name).reference, as_version=4)

    return read


@pytest.fixture(scope="session")
def reference_xor(reference) -> nbformat.NotebookNode:
    return reference("xor")


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """grade(notebook) -> GradeResult, graded with SEED once per distinct notebook."""
    from grader.grading import grade_notebook

    cache: dict[str, object] = {}
    folder = tmp_path_factory.mktemp("notebooks")

    def grade(notebook: nbformat.NotebookNode, name: str, **options):
        key = name + repr(sorted(options.items()))
        if key not in cache:
            path = folder / f"{name}.ipynb"
            nbformat.write(notebook, path)
            cache[key] = grade_notebook(path, seed=options.pop("seed", SEED), **options)
        return cache[key]

    return grade


def pytest_collection_modifyitems(config, items):
    """The modules kept on one worker (pytest.mark.xdist_group: each a few minutes of gradings
    behind one fixture) first: under -n 2 (--dist loadgroup) they start while the other worker
    takes the many short tests, rather than one worker grading a whole module alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)
