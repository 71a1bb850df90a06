"""The committed exercises are exactly what a release of the reference notebooks gives."""

from __future__ import annotations

import nbformat
import pytest

from grader.assignments import ASSIGNMENTS
from grader.authoring.release import BEGIN, release_notebook, strip_solutions


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_committed_exercise_is_a_fresh_release(name):
    assignment = ASSIGNMENTS[name]
    fresh = release_notebook(nbformat.read(assignment.reference, as_version=4), name)
    committed = nbformat.read(assignment.exercise, as_version=4)
    assert [c.source for c in committed.cells] == [c.source for c in fresh.cells]
    assert committed.metadata["grader"]["assignment"] == name
    assert not any(BEGIN in c.source for c in committed.cells)
    assert not any(c.get("outputs") for c in committed.cells if c.cell_type == "code")


def test_strip_keeps_indentation():
    source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    assert strip_solutions(source) == "def f():\n    # TU CÓDIGO AQUÍ\n    raise NotImplementedError()\n"
