"""The backprop judge without a kernel: its inputs, its cross-checks of the reference, and the
training check driven by the real probe code in this process."""

from __future__ import annotations

import types

import pytest
import torch

from grader.assignments import get_assignment
from grader.trusted.artifacts import Artifact
from grader.trusted.judges.backprop import expected as reference_answers
from grader.trusted.judges.backprop import inputs as drawn
from grader.trusted.judges.backprop.verdicts.training import judge_training
from grader.trusted.reference import load_reference
from grader.untrusted.probes import in_process_tools
from grader.untrusted.probes.backprop import probe_backprop_training
from grader.untrusted.probes.common import Tools


@pytest.fixture(scope="module")
def ref():
    return load_reference(get_assignment("backprop").reference)


@pytest.mark.parametrize("seed", [0, 1, 2, 1234])
def test_reference_agrees_with_autograd_and_finite_differences(ref, seed):
    inputs, _ = drawn.draw_inputs(seed, "cpu")
    answers = reference_answers.expected(inputs, ref)  # raises ReferenceDisagrees otherwise
    assert len(answers["finite_differences"]) == len(inputs["cases"]["backprop"])


def test_a_wrong_reference_is_refused(ref):
    wrong = types.SimpleNamespace(**vars(ref))
    wrong.sigmoid_prime = lambda z: torch.sigmoid(z) * z * (1 - torch.sigmoid(z))
    inputs, _ = drawn.draw_inputs(0, "cpu")
    with pytest.raises(reference_answers.ReferenceDisagrees, match="sigmoid_prime"):
        reference_answers.expected(inputs, wrong)


def test_cases_cover_a_batch_of_one_a_square_layer_and_extreme_z():
    inputs, hidden = drawn.draw_inputs(7, "cpu")
    nets = inputs["cases"]["backprop"]
    assert nets[0][1].shape[0] == 1
    assert any(p["W2"].shape[0] == p["W2"].shape[1] for p, _, _ in nets)
    assert all(t.dtype == torch.float64 for p, x, y in nets for t in (*p.values(), x, y))
    assert inputs["extreme"]["sigmoid"][0][0].abs().max() > 709
    z_L, a_L, y = inputs["extreme"]["output_delta"][0]
    assert z_L.shape == a_L.shape == y.shape
    assert "test_x" not in inputs["train"] and len(hidden["test_y"]) == drawn.TEST_POINTS


def test_same_seed_same_inputs_other_seed_other_inputs():
    first, second, other = (drawn.draw_inputs(s, "cpu")[0] for s in (5, 5, 6))
    assert torch.equal(first["cases"]["hidden_delta"][2][1], second["cases"]["hidden_delta"][2][1])
    assert not torch.equal(first["cases"]["hidden_delta"][2][1], other["cases"]["hidden_delta"][2][1])


def train_in_process(namespace: dict, seed: int):
    """The kernel's training probe, run here on functions defined in ``namespace``."""
    inputs, hidden = drawn.draw_inputs(seed, "cpu")
    values, tensors = {}, {}
    probe_backprop_training(Tools(in_process_tools(), "."), values, tensors, namespace, inputs)
    artifact = Artifact("backprop_training", ok=True, values=values, tensors=tensors)
    return judge_training(artifact, inputs, hidden, cell_of=lambda count: None)


@pytest.mark.parametrize("seed", [0, 1234])
def test_training_with_the_reference_reaches_the_threshold(ref, seed):
    verdict = train_in_process(ref.backprop.__globals__, seed)
    assert verdict.passed, verdict.messages


def test_training_with_gradient_ascent_fails(ref):
    namespace = dict(ref.backprop.__globals__)
    exec("def backprop(params, x, y):\n    return {k: -v for k, v in reference_backprop(params, x, y).items()}",
         namespace | {"reference_backprop": ref.backprop}, namespace)
    verdict = train_in_process(namespace, 0)
    assert not verdict.passed
    assert [m.key for m in verdict.messages] == ["training_low"]
