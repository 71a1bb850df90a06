"""The XOR judge predicts with a student's state_dict without the reference's code: it must refuse
exactly what the reference model's load_state_dict(strict=True) refuses, and predict exactly what
that model predicts."""

from __future__ import annotations

import pytest
import torch

from grader.assignments import get_assignment
from grader.reports.catalog import catalog
from grader.trusted.judges.xor import model as judge
from grader.trusted.reference import load_reference
from grader.trusted.results import Message


@pytest.fixture(scope="module")
def reference_model():
    return load_reference(get_assignment("xor").reference).ClasificadorSimple(2, 4, 1)


def _state(**changes) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    state = {name: torch.randn(shape, generator=generator) for name, shape in judge.REFERENCE_SHAPES.items()}
    for name, value in changes.items():
        name = name.replace("__", ".")
        if value is None:
            del state[name]
        else:
            state[name] = value
    return state


STATES = {
    "as the model has them": _state(),
    "a key missing": _state(linear2__bias=None),
    "a key too many": _state(linear3__weight=torch.zeros(1, 4)),
    "eight hidden units": _state(linear1__weight=torch.zeros(8, 2), linear1__bias=torch.zeros(8),
                                 linear2__weight=torch.zeros(1, 8)),
    "a transposed weight": _state(linear1__weight=torch.zeros(2, 4)),
    "a bias with an extra dimension": _state(linear2__bias=torch.zeros(1, 1)),
}


@pytest.mark.parametrize("case", STATES)
def test_a_state_dict_is_refused_exactly_when_the_reference_model_refuses_it(reference_model, case):
    state = STATES[case]
    try:
        reference_model.load_state_dict(state, strict=True)
        refused = False
    except RuntimeError:
        refused = True
    assert bool(judge.strict_load_problem(state)) == refused
    if not refused:
        x = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            assert torch.equal(judge.reference_forward(state, x), reference_model(x))


def test_a_refusal_says_which_parameter_and_shapes():
    # As data, which the catalogs put in words.
    problem = judge.strict_load_problem(STATES["a transposed weight"])
    assert problem == Message("load_problem.shape", {"param": "linear1.weight", "got": [2, 4], "expected": [4, 2]})
    assert judge.strict_load_problem(STATES["a key missing"]) == Message(
        "load_problem.keys", {"missing": ["linear2.bias"], "unexpected": []})
    assert catalog("en").message(problem) == "`linear1.weight` has shape [2, 4], and the model's is [4, 2]."
