"""What the kernel can say about how a function computed, and what the grader believes of it,
without kernels: the keeper's records are torch.save's and JSON's formats written by hand, whatever
the notebook patched afterwards; the grader's own reading of the code finds autograd however it is
imported and not in names that merely say grad; the end-to-end check believes predictions only
from weights it evaluates itself, or from a kernel forward that depends on the trained weights."""

from __future__ import annotations

import contextlib
import json
import os
import signal

import pytest
import torch

from grader.trusted.artifacts import Artifact, load_artifact
from grader.trusted.judges.xor.inputs import draw_inputs
from grader.trusted.judges.xor.verdicts.end_to_end import SHUFFLES, judge_end_to_end
from grader.trusted.judges.autograd_code import autograd_in_code
from grader.trusted.judges.backprop import FUNCTIONS
from grader.trusted.records import RecordFolder
from grader.untrusted.probes import in_process_keeper, in_process_tools


# ---------------------------------------------------------------- a probe alone, without a pid namespace

def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rpartition(")")[2].split()[0]


def test_without_a_pid_namespace_the_keeper_stops_the_kernel_and_all_it_started():
    """Mode "none": the probe's child stops the kernel's family, each process /proc shows as born
    of it (here a shell standing in for the kernel, with a child), and says the stop is complete."""
    import subprocess
    import time

    keeper = in_process_keeper()
    kernel = subprocess.Popen(["/bin/sh", "-c", "sleep 60 & wait"])
    try:
        deadline = time.monotonic() + 10
        while len(keeper["_kernel_and_descendants"](kernel.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        stopped, complete = keeper["_stop_family"](kernel.pid, os.getpid())
        assert complete and stopped == keeper["_kernel_and_descendants"](kernel.pid) and len(stopped) == 2
        deadline = time.monotonic() + 5
        while any(_state(pid) not in "Tt" for pid in stopped) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert all(_state(pid) in "Tt" for pid in stopped)
    finally:
        for pid in keeper["_kernel_and_descendants"](kernel.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        kernel.wait()


# ---------------------------------------------------------------- records written by the keeper

TENSORS = {
    "transposed": torch.arange(6.0, dtype=torch.float64).reshape(2, 3).T,
    "scalar": torch.tensor(True),
    "empty": torch.zeros(0, 3),
    "with history": torch.randn(3, requires_grad=True) * 2,
    "strided": torch.arange(5)[::2],
    "half": torch.tensor([1.5, -2.0], dtype=torch.bfloat16),
}


def test_records_load_as_torch_save_and_json_would_have_written_them(tmp_path, monkeypatch):
    tools = in_process_tools(str(tmp_path))
    (tmp_path / "probe").mkdir()
    folder = RecordFolder.made(tmp_path / "probe", frozenset({os.geteuid()}))
    # Whatever the notebook replaces afterwards, the keeper bound its writers before.
    monkeypatch.setattr(json, "_default_encoder", None)
    monkeypatch.setattr(torch.serialization, "_save", lambda *a, **k: 1 / 0)
    monkeypatch.setattr(torch.Tensor, "clone", lambda self: 1 / 0)
    monkeypatch.setattr(os, "write", lambda *a: 1 / 0)
    record = {"name": "p", "ok": True, "error": None, "values": {"n": [1, 2.5, float("nan")], 3: (True, None)},
              "stdout": ""}
    tools.write_record("probe", "p", record, {k: tools.snapshot(v) for k, v in TENSORS.items()})
    monkeypatch.undo()
    artifact = load_artifact(folder, "p")
    assert artifact.ok and artifact.problem is None
    assert artifact.values == {"n": [1, 2.5, "nan"], "<int>": [True, None]}
    for name, tensor in TENSORS.items():
        assert artifact.tensors[name].dtype == tensor.dtype and torch.equal(artifact.tensors[name], tensor.detach())


class LoudInt(int):
    def __repr__(self):
        return '"forged"'


class LoudDict(dict):
    def items(self):
        return [("ok", True)]


def test_values_are_written_as_their_exact_builtin_types(tmp_path):
    tools = in_process_tools(str(tmp_path))
    (tmp_path / "probe").mkdir()
    folder = RecordFolder.made(tmp_path / "probe", frozenset({os.geteuid()}))
    tools.write_record("probe", "p", {"name": "p", "ok": False, "values": LoudDict(n=LoudInt(3))}, {})
    assert json.loads((tmp_path / "probe" / "p.json").read_text()) == {"name": "p", "ok": False,
                                                                        "values": {"n": 3}}


def test_a_probe_writes_only_in_a_folder_of_the_exchange_folder(tmp_path):
    tools = in_process_tools(str(tmp_path))
    (tmp_path / "probe").mkdir()
    folder = RecordFolder.made(tmp_path / "probe", frozenset({os.geteuid()}))
    (tmp_path / "link").symlink_to(tmp_path / "probe")
    for folder in ("../probe", str(tmp_path / "probe"), "link"):
        with pytest.raises(OSError):
            tools.write_record(folder, "p", {"name": "p", "ok": True}, {})
    assert list((tmp_path / "probe").iterdir()) == []


# ---------------------------------------------------------------- the dispatch mode's view

def _watched(function, *args):
    tools = in_process_tools()
    watch = tools.AutogradWatch()
    tools.watched_call(watch, function, *args)
    return watch.seen


def reverse_mode(z):
    z = z.detach().requires_grad_(True)
    torch.sigmoid(z).sum().backward()
    return z.grad


def forward_mode(z):
    import torch.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        return fwAD.unpack_dual(torch.sigmoid(fwAD.make_dual(z, torch.ones_like(z)))).tangent


def functional(z):
    return torch.func.grad(lambda t: torch.sigmoid(t).sum())(z)


def by_hand(z):
    a = torch.sigmoid(z)
    return a * (1 - a)


def takes_the_mode_off(z):
    torch._C._pop_torch_dispatch_stack(None)
    return by_hand(z)


@pytest.mark.parametrize("function", [reverse_mode, forward_mode, functional, takes_the_mode_off])
def test_the_dispatch_mode_sees_autograd_however_it_is_reached(function):
    assert _watched(function, torch.randn(5, dtype=torch.float64))


def test_the_dispatch_mode_sees_nothing_in_code_by_hand():
    assert _watched(by_hand, torch.randn(5, dtype=torch.float64)) == []


# ---------------------------------------------------------------- the grader's reading of the code

def _reading(*cells: str) -> dict[str, list[str]]:
    return autograd_in_code(cells, FUNCTIONS)


@pytest.mark.parametrize("cells, function", [
    (["from torch.autograd import grad as g", "def mse_loss_grad(a, y):\n    return g(mse_loss(a, y), a)[0]"],
     "mse_loss_grad"),
    (["import torch.autograd.forward_ad as fwAD\n%matplotlib inline",
      "def sigmoid_prime(z):\n    with fwAD.dual_level():\n        return z"], "sigmoid_prime"),
    (["import torch as t", "def backprop(p, x, y):\n    return t.func.grad(f)(p)"], "backprop"),
    (["from torch.func import *", "def backprop(p, x, y):\n    return jacrev(f)(p)"], "backprop"),
    (["def helper(loss):\n    loss.backward()", "def backprop(p, x, y):\n    return helper(p)"], "backprop"),
    (["def hidden_delta(W, d, z):\n    z.requires_grad = True\n    return z"], "hidden_delta"),
    (["layer_gradients = lambda d, a: torch.autograd.grad(d, a)"], "layer_gradients"),
])
def test_the_code_shows_autograd(cells, function):
    assert _reading(*cells)[function]


def test_names_that_say_grad_are_not_autograd():
    cells = ["import torch\nx = torch.ones(2, requires_grad=True)\nx.sum().backward()",  # top-level code: not a function
             "def mse_loss_grad(a, y):\n    grad = a - y\n    return grad",
             "def backprop(p, x, y):\n    '''No autograd, no backward().'''\n    grads = {'W1': mse_loss_grad(x, y)}\n"
             "    return grads",
             # backprop's call to the student's own output_delta is not followed: the probe runs
             # backprop with the grader's output_delta.
             "def output_delta(z, a, y):\n    z.backward()\n    return z"]
    reading = _reading(*cells)
    assert reading["mse_loss_grad"] == [] and reading["backprop"] == [] and reading["output_delta"]


# ---------------------------------------------------------------- end to end: whose predictions

def _xor_case(seed: int = 3):
    inputs, hidden = draw_inputs(seed, "cpu")
    return inputs, hidden, {"end_to_end_losses": []}


def _solution() -> dict[str, torch.Tensor]:
    """Weights that solve XOR with the lecture's model."""
    return {"linear1.weight": torch.tensor([[8.0, 8.0], [8.0, 8.0], [0.0, 0.0], [0.0, 0.0]]),
            "linear1.bias": torch.tensor([-4.0, -12.0, 0.0, 0.0]),
            "linear2.weight": torch.tensor([[8.0, -8.0, 0.0, 0.0]]), "linear2.bias": torch.tensor([-6.0])}


def _untrained() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    names = {"0": "linear1", "2": "linear2"}
    return {f"{names[k[0]]}{k[1:]}": v.detach() for k, v in model.state_dict().items()}


def _artifact(trained, initial, kernel_logits=None, kernel_initial=None, kernel_shuffled=None) -> Artifact:
    tensors = {f"state.{k}": v for k, v in trained.items()} | {f"initial.{k}": v for k, v in initial.items()}
    if kernel_logits is not None:
        tensors["logits"], tensors["initial_logits"] = kernel_logits, kernel_initial
        tensors["test_x"] = draw_inputs(3, "cpu")[0]["test_x"]
        tensors |= {f"shuffled_logits.{i}": kernel_shuffled for i in range(SHUFFLES)}
    return Artifact("end_to_end", ok=True, tensors=tensors)


def _rounded_xor(x: torch.Tensor) -> torch.Tensor:
    corner = torch.round(x)
    return (20 * (corner[:, :1] != corner[:, 1:]).float() - 10)


def test_trained_weights_are_evaluated_by_the_grader_whatever_else_the_state_holds():
    inputs, hidden, answers = _xor_case()
    artifact = _artifact(_solution(), _untrained())
    artifact.tensors["state.esquinas"] = torch.ones(1)  # a buffer: ignored, not a reason to ask the kernel
    artifact.tensors["logits"] = torch.full((len(hidden["test_y"]), 1), -5.0)
    verdict = judge_end_to_end(artifact, inputs, hidden, answers, True, lambda count: None)
    assert verdict.passed and [m.key for m in verdict.messages] == ["accuracy_reached"]


def test_weights_that_solve_xor_before_training_were_not_learnt():
    inputs, hidden, answers = _xor_case()
    verdict = judge_end_to_end(_artifact(_solution(), _solution()), inputs, hidden, answers, True,
                                    lambda count: None)
    assert not verdict.passed and verdict.messages[0].key == "predictions_ignore_training"


def test_kernel_predictions_that_do_not_depend_on_the_weights_do_not_count():
    inputs, hidden, answers = _xor_case()
    answer = _rounded_xor(inputs["test_x"])
    artifact = _artifact(_untrained(), _untrained(), answer, answer, answer)
    verdict = judge_end_to_end(artifact, inputs, hidden, answers, False, lambda count: None)
    assert not verdict.passed
    assert [m.key for m in verdict.messages] == ["predictions_ignore_training", "logits_from_kernel"]


def test_kernel_predictions_that_depend_on_the_trained_weights_count():
    inputs, hidden, answers = _xor_case()
    answer = _rounded_xor(inputs["test_x"])
    chance = torch.randn(len(answer), 1, generator=torch.Generator().manual_seed(0))
    artifact = _artifact(_untrained(), _untrained(), answer, chance, chance)
    verdict = judge_end_to_end(artifact, inputs, hidden, answers, False, lambda count: None)
    assert verdict.passed and [m.key for m in verdict.messages] == ["accuracy_reached", "logits_from_kernel"]


def test_kernel_predictions_for_other_points_than_the_graders_do_not_count():
    inputs, hidden, answers = _xor_case()
    answer = _rounded_xor(inputs["test_x"])
    chance = torch.randn(len(answer), 1, generator=torch.Generator().manual_seed(0))
    artifact = _artifact(_untrained(), _untrained(), answer, chance, chance)
    artifact.tensors["test_x"] = artifact.tensors["test_x"] + 0.5
    verdict = judge_end_to_end(artifact, inputs, hidden, answers, False, lambda count: None)
    assert not verdict.passed and verdict.messages[0].key == "logits_unusable"
