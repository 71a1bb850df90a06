"""The XOR exercise graded end to end in real kernels: reference, skeleton, mutants, variants."""

from __future__ import annotations

import json

import nbformat
import pytest

from conftest import SEED, TESTS, apply_replacements, load_cases
from grader.assignments import get_assignment
from grader.trusted.points import checks_of

pytestmark = pytest.mark.kernel

MUTANTS = load_cases("xor.toml", "mutant")
VARIANTS = load_cases("xor_correct_variants.toml", "variant")
TAGS = {spec.tag for spec in checks_of("xor")}


def lost_tags(result) -> set[str]:
    return {tag for tag, (got, out_of) in result.tag_scores().items() if got < out_of}


def message_keys(result) -> set[str]:
    return {m.key for check in result.checks for m in check.messages}


def test_reference_gets_full_marks(graded, reference_xor):
    result = graded(reference_xor, "reference")
    failed = {c.name: c.messages for c in result.checks if not c.passed}
    assert failed == {}
    assert result.score == result.max_score == 100
    assert result.notes == []


def test_untouched_skeleton_gets_zero(graded):
    skeleton = nbformat.read(get_assignment("xor").exercise, as_version=4)
    result = graded(skeleton, "skeleton")
    assert result.score == 0
    assert "hint.not_implemented" in message_keys(result)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m["name"] for m in MUTANTS])
def test_mutant_loses_points_exactly_in_its_tags(graded, reference_xor, mutant):
    assert set(mutant["tags"]) <= TAGS
    result = graded(apply_replacements(reference_xor, mutant["replace"]), mutant["name"])
    assert lost_tags(result) == set(mutant["tags"]), mutant["description"]
    failed = {c.name for c in result.checks if not c.passed}
    assert set(mutant["checks"]) <= failed
    missing = set(mutant["messages"]) - message_keys(result)
    assert not missing, f"feedback lacks {missing}"


def test_every_check_has_a_mutant_that_fails_it():
    caught = {name for mutant in MUTANTS for name in mutant["checks"]}
    assert caught == {spec.name for spec in checks_of("xor")}


@pytest.mark.parametrize("variant", VARIANTS, ids=[v["name"] for v in VARIANTS])
def test_correct_variant_gets_full_marks(graded, reference_xor, variant):
    result = graded(apply_replacements(reference_xor, variant["replace"]), variant["name"])
    assert {c.name: c.messages for c in result.checks if not c.passed} == {}


def test_forging_printing_and_monkeypatching_do_not_raise_the_score(graded):
    notebook = nbformat.read(TESTS / "notebooks" / "xor_hostile_forger.ipynb", as_version=4)
    result = graded(notebook, "hostile_forger")
    assert result.score == 0


def test_same_notebook_same_score_and_feedback(reference_xor, tmp_path):
    from grader.grading import grade_notebook

    notebook = apply_replacements(reference_xor, next(m for m in MUTANTS if m["name"] == "no_zero_grad")["replace"])
    path = tmp_path / "twice.ipynb"
    nbformat.write(notebook, path)
    first, second = grade_notebook(path), grade_notebook(path)
    assert first.seed == second.seed
    assert [(c.name, c.score, c.messages) for c in first.checks] == \
        [(c.name, c.score, c.messages) for c in second.checks]
