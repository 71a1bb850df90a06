"""Every assignment graded end to end in real kernels: the reference gets full marks, the skeleton
gets 0, each mutant loses points in exactly its tags, each correct variant gets full marks."""

from __future__ import annotations

import nbformat
import pytest

from conftest import apply_replacements, load_cases
from grader.assignments import ASSIGNMENTS, get_assignment
from grader.trusted.points import checks_of

pytestmark = pytest.mark.kernel

NAMES = sorted(ASSIGNMENTS)
MUTANTS = [(name, m) for name in NAMES for m in load_cases(f"{name}.toml", "mutant")]
VARIANTS = [(name, v) for name in NAMES for v in load_cases(f"{name}_correct_variants.toml", "variant")]


def lost_tags(result) -> set[str]:
    return {tag for tag, (got, out_of) in result.tag_scores().items() if got < out_of}


def message_keys(result) -> set[str]:
    return {m.key for check in result.checks for m in check.messages + check.advice} | {n.key for n in result.notes}


@pytest.mark.parametrize("name", NAMES)
def test_reference_gets_full_marks(graded, reference, name):
    result = graded(reference(name), f"{name}_reference")
    failed = {c.name: c.messages for c in result.checks if not c.passed}
    assert failed == {}
    assert result.score == result.max_score == 100
    assert result.notes == []
    assert [c.advice for c in result.checks if c.advice] == []


@pytest.mark.parametrize("name", NAMES)
def test_untouched_skeleton_gets_zero(graded, name):
    skeleton = nbformat.read(get_assignment(name).exercise, as_version=4)
    result = graded(skeleton, f"{name}_skeleton")
    assert result.score == 0
    assert "hint.not_implemented" in message_keys(result)


@pytest.mark.parametrize("name,mutant", MUTANTS, ids=[f"{n}-{m['name']}" for n, m in MUTANTS])
def test_mutant_loses_points_exactly_in_its_tags(graded, reference, name, mutant):
    assert set(mutant["tags"]) <= {spec.tag for spec in checks_of(name)}
    result = graded(apply_replacements(reference(name), mutant["replace"]), f"{name}_{mutant['name']}")
    assert lost_tags(result) == set(mutant["tags"]), mutant["description"]
    failed = {c.name for c in result.checks if not c.passed}
    assert set(mutant["checks"]) <= failed
    missing = set(mutant["messages"]) - message_keys(result)
    assert not missing, f"feedback lacks {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_every_check_has_a_mutant_that_fails_it(name):
    caught = {check for n, mutant in MUTANTS if n == name for check in mutant["checks"]}
    assert caught == {spec.name for spec in checks_of(name)}


@pytest.mark.parametrize("name,variant", VARIANTS, ids=[f"{n}-{v['name']}" for n, v in VARIANTS])
def test_correct_variant_gets_full_marks(graded, reference, name, variant):
    result = graded(apply_replacements(reference(name), variant["replace"]), f"{name}_{variant['name']}")
    assert {c.name: c.messages for c in result.checks if not c.passed} == {}
    assert set(variant.get("advice", [])) <= message_keys(result)
