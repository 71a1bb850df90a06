"""XOR grading in real kernels is repeatable (forgery is in tests/hostile/cases.toml): a grading
now gives the score and feedback that the kernel's artifacts recorded by check-reference give."""

from __future__ import annotations

import nbformat
import pytest

pytestmark = pytest.mark.kernel


def test_same_notebook_same_score_and_feedback(tmp_path):
    from grader.authoring.check import case_notebook, recorded_case, rejudged
    from grader.grading import grade_notebook

    case = recorded_case("xor", "no_zero_grad")
    path = tmp_path / "twice.ipynb"
    nbformat.write(case_notebook(case), path)
    now, recorded = grade_notebook(path, seed=case.seed), rejudged(case)
    assert now.seed == recorded.seed
    assert [(c.name, c.score, c.messages) for c in now.checks] == \
        [(c.name, c.score, c.messages) for c in recorded.checks]
    assert now.notes == recorded.notes
