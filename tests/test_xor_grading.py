"""XOR grading in real kernels is repeatable (forgery is in tests/hostile/cases.toml)."""

from __future__ import annotations

import nbformat
import pytest

from conftest import apply_replacements, load_cases

pytestmark = pytest.mark.kernel


def test_same_notebook_same_score_and_feedback(reference_xor, tmp_path):
    from grader.grading import grade_notebook

    mutant = next(m for m in load_cases("xor.toml", "mutant") if m["name"] == "no_zero_grad")
    path = tmp_path / "twice.ipynb"
    nbformat.write(apply_replacements(reference_xor, mutant["replace"]), path)
    first, second = grade_notebook(path), grade_notebook(path)
    assert first.seed == second.seed
    assert [(c.name, c.score, c.messages) for c in first.checks] == \
        [(c.name, c.score, c.messages) for c in second.checks]
