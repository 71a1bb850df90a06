"""XOR-specific grading properties in real kernels: forgery does not pay, grading is repeatable."""

from __future__ import annotations

import nbformat
import pytest

from conftest import TESTS, apply_replacements, load_cases

pytestmark = pytest.mark.kernel


def test_forging_printing_and_monkeypatching_do_not_raise_the_score(graded):
    notebook = nbformat.read(TESTS / "notebooks" / "xor_hostile_forger.ipynb", as_version=4)
    result = graded(notebook, "hostile_forger")
    assert result.score == 0


def test_same_notebook_same_score_and_feedback(reference_xor, tmp_path):
    from grader.grading import grade_notebook

    mutant = next(m for m in load_cases("xor.toml", "mutant") if m["name"] == "no_zero_grad")
    path = tmp_path / "twice.ipynb"
    nbformat.write(apply_replacements(reference_xor, mutant["replace"]), path)
    first, second = grade_notebook(path), grade_notebook(path)
    assert first.seed == second.seed
    assert [(c.name, c.score, c.messages) for c in first.checks] == \
        [(c.name, c.score, c.messages) for c in second.checks]
