"""The tables of known mistakes without a kernel: a hint is named only when every matching wrong
version carries it; eval_model's inputs separate the decision rules students write, judged here
on eval_model functions written as students write them (right ones in several styles get full
marks and no hint); the run on the meta device flags exactly the batches left on the CPU; the
backprop table names its mistakes; check-reference's coverage, precision and recall."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn as nn
import torch.utils.data as tud

from grader.authoring import check, mutants
from grader.trusted.artifacts import Artifact
from grader.trusted.compare import FLOAT64
from grader.trusted.judges.backprop.inputs import draw_inputs as backprop_inputs
from grader.trusted.judges.backprop.mistakes import hints as backprop_hints
from grader.trusted.judges.backprop.network import PARAMETERS
from grader.trusted.judges.backprop.verdicts.backprop import layer_hint
from grader.trusted.judges.xor import mistakes as known
from grader.trusted.judges.xor.inputs import draw_inputs as xor_inputs
from grader.trusted.judges.xor.inputs import eval_sets
from grader.trusted.judges.xor.model import REFERENCE_SHAPES
from grader.trusted.judges.xor.verdicts.devices import device_messages
from grader.trusted.judges.xor.verdicts.eval_model import accuracy_messages
from grader.trusted.judges.xor.verdicts.train_model import judge_train
from grader.trusted.judges.mistakes import Mistake, Table, diagnose
from grader.trusted.results import Message
from grader.untrusted.probes import in_process_tools
from grader.untrusted.probes.common import Tools
from grader.untrusted.probes.xor import probe_device_moves

SEEDS = (0, 1, 2, 1234)


# ---------------------------------------------------------------- the mechanism

def test_a_value_two_mistakes_give_names_neither_and_says_how_to_look():
    table = Table((Mistake.row("f", "hint.a", lambda x: x + 1), Mistake.row("f", "hint.b", lambda x: x + 1),
                   Mistake.row("f", ("hint.a", "hint.c"), lambda x: 2 * x)), look={"f": "look.f"})
    same = lambda got, candidate: got == candidate  # noqa: E731
    assert diagnose(table, "f", 4, same, 3) == [Message("look.f")]  # hint.a and hint.b both give 4
    assert diagnose(table, "f", 6, same, 3) == [Message("hint.a"), Message("hint.c")]
    assert diagnose(table, "f", 5, same, 3) == [Message("look.f")]
    assert diagnose(table, "f", 5, same, 3, look=False) == []
    assert table.hints() == {("f", "hint.a"), ("f", "hint.b"), ("f", "hint.c")}


# ---------------------------------------------------------------- eval_model's inputs

@pytest.mark.parametrize("seed", SEEDS)
def test_eval_logits_sit_on_every_boundary_and_nowhere_near_one(seed):
    inputs = _inputs(seed)
    for case in eval_sets(inputs):
        logits = _model(inputs)(case["x"]).squeeze(1).detach()
        assert torch.equal(logits, case["logits"])  # the judge's logits are the model's, bit for bit
        assert int((logits == 0).sum()) >= 4
        for low, high in known.EVAL_REGIONS:
            assert int(((logits > low) & (logits < high)).sum()) >= 5
        off_zero = logits[logits != 0]
        for boundary in known.EVAL_BOUNDARIES:
            assert float((off_zero - boundary).abs().min()) > known.EVAL_MARGIN
        # The two right forms agree on every point; the strict one does not.
        assert torch.equal((torch.sigmoid(logits) >= 0.5), (logits >= 0))
        assert not torch.equal((torch.sigmoid(logits) > 0.5), (logits >= 0))
        assert len(case["y"]) % case["batch_size"] != 0


def _model(inputs) -> nn.Module:
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    state = inputs["eval_state"]
    model.load_state_dict({"0.weight": state["linear1.weight"], "0.bias": state["linear1.bias"],
                           "2.weight": state["linear2.weight"], "2.bias": state["linear2.bias"]})
    return model.eval()


# eval_model as students write it: the lecture's loop with one step replaced.
def _eval(binarize=lambda p: (torch.sigmoid(p.squeeze(dim=1)) >= 0.5).long(), finish=None):
    def eval_model(model, data_loader):
        correct, total, per_batch = 0.0, 0, []
        with torch.no_grad():
            for data_inputs, data_labels in data_loader:
                pred_labels = binarize(model(data_inputs))
                hits = float((pred_labels == data_labels).sum())
                correct, total = correct + hits, total + data_labels.shape[0]
                per_batch.append(hits / data_labels.shape[0])
        if finish is not None:
            return finish(correct, total, per_batch, data_loader)
        return correct / total
    return eval_model


RIGHT = {
    "lecture": _eval(),
    "logits >= 0": _eval(lambda p: (p.squeeze(1) >= 0).long()),
    "torch.where": _eval(lambda p: torch.where(torch.sigmoid(p.view(-1)) >= 0.5, 1.0, 0.0)),
    "float labels": _eval(lambda p: (torch.sigmoid(p.flatten()) >= 0.5).float()),
    "sigmoid in float64": _eval(lambda p: (torch.sigmoid(p.double().squeeze(1)) >= 0.5).long()),
    "divided by the dataset": _eval(finish=lambda c, t, b, loader: c / len(loader.dataset)),
}
WRONG = {
    "hint.threshold_strict": [_eval(lambda p: (torch.sigmoid(p.squeeze(1)) > 0.5).long()),
                              _eval(lambda p: torch.round(torch.sigmoid(p.squeeze(1)))),
                              _eval(lambda p: (p.squeeze(1) > 0).long())],
    "hint.threshold_on_logits": [_eval(lambda p: (p.squeeze(1) >= 0.5).long()),
                                 _eval(lambda p: (p.squeeze(1) > 0.5).long())],
    "hint.round_logits": [_eval(lambda p: torch.round(p.squeeze(1)))],
    "hint.argmax_one_logit": [_eval(lambda p: p.argmax(dim=1)), _eval(lambda p: torch.max(p, 1)[1])],
    "hint.all_class_one": [_eval(lambda p: (torch.sigmoid(p.squeeze(1)) >= 0).long())],
    "hint.classes_inverted": [_eval(lambda p: (torch.sigmoid(p.squeeze(1)) < 0.5).long())],
    "hint.not_binarized": [_eval(lambda p: torch.sigmoid(p.squeeze(1))), _eval(lambda p: p.squeeze(1))],
    "hint.eval_squeeze": [_eval(lambda p: (torch.sigmoid(p) >= 0.5).long())],
    "hint.percentage": [_eval(finish=lambda c, t, b, loader: 100 * c / t)],
    "hint.count_not_fraction": [_eval(finish=lambda c, t, b, loader: c)],
    "hint.batch_mean": [_eval(finish=lambda c, t, b, loader: sum(b) / len(b))],
    "hint.last_batch": [_eval(finish=lambda c, t, b, loader: b[-1])],
    "hint.divided_by_batches": [_eval(finish=lambda c, t, b, loader: c / len(loader))],
    "hint.full_batches": [_eval(finish=lambda c, t, b, loader: c / (len(loader) * loader.batch_size))],
}


@functools.lru_cache(maxsize=None)
def _inputs(seed: int) -> dict:
    return xor_inputs(seed, "cpu")[0]


def _accuracy_messages(eval_model, seed: int) -> list[Message]:
    inputs = _inputs(seed)
    answers = {}
    answers["accuracy"], answers["accuracy2"] = (known.eval_accuracy(c) for c in eval_sets(inputs))
    results = []
    for prefix in ("eval", "eval2"):
        loader = tud.DataLoader(tud.TensorDataset(inputs[f"{prefix}_x"], inputs[f"{prefix}_y"]),
                                batch_size=inputs[f"{prefix}_batch_size"], shuffle=False)
        results.append(float(eval_model(_model(inputs), loader)))
    artifact = Artifact("eval", ok=True, values={
        "result": results[0], "result_kind": "float", "second": {"result": results[1], "result_kind": "float"}})
    return accuracy_messages(artifact, inputs, answers, lambda count: None)


@pytest.mark.parametrize("style", RIGHT)
@pytest.mark.parametrize("seed", SEEDS)
def test_right_rules_in_other_styles_get_the_accuracy(style, seed):
    assert _accuracy_messages(RIGHT[style], seed) == []


@pytest.mark.parametrize("hint", WRONG)
@pytest.mark.parametrize("seed", SEEDS)
def test_each_wrong_rule_or_average_is_named(hint, seed):
    for eval_model in WRONG[hint]:
        keys = [m.key for m in _accuracy_messages(eval_model, seed)]
        assert keys == ["accuracy_wrong", hint]


def test_a_wrong_accuracy_no_known_mistake_explains_says_how_to_look():
    keys = [m.key for m in _accuracy_messages(_eval(finish=lambda c, t, b, loader: 0.5 * c / t + 0.1), 0)]
    assert keys == ["accuracy_wrong", "look.eval_model"]


# ---------------------------------------------------------------- device moves on the meta device

# Cells as students write them, run in a namespace of their own as a notebook's globals.
LECTURE_TRAIN = """
def train_model(model, optimizer, data_loader, loss_module, num_epochs=100):
    model.train()
    for _ in range(num_epochs):
        for data_inputs, data_labels in data_loader:
            data_inputs = data_inputs.to(device)
            data_labels = data_labels.to(device)
            preds = model(data_inputs).squeeze(dim=1)
            loss = loss_module(preds, data_labels.float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
"""
CUDA_WHEN_AVAILABLE = """
def train_model(model, optimizer, data_loader, loss_module, num_epochs=100):
    if torch.cuda.is_available():
        model.cuda()
    for _ in range(num_epochs):
        for data_inputs, data_labels in data_loader:
            if torch.cuda.is_available():
                data_inputs, data_labels = data_inputs.cuda(), data_labels.cuda()
            loss = loss_module(model(data_inputs).squeeze(1), data_labels.float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            print(f"pérdida {loss.item():.3f}")  # no data on meta: says nothing about moves
"""
OWN_DEVICE_NAME = LECTURE_TRAIN.replace("(device)", "(dispositivo, non_blocking=True)").replace(
    "    model.train()", "    model.to(dispositivo)\n    model.train()")
DEVICE_PARAMETER = LECTURE_TRAIN.replace("num_epochs=100):", "num_epochs=100, device=device):")
EVAL_FORGETS_LABELS = """
def eval_model(model, data_loader):
    correct = 0
    for data_inputs, data_labels in data_loader:
        preds = model(data_inputs.to(device)).squeeze(1)
        correct += int(((torch.sigmoid(preds) >= 0.5).long() == data_labels).sum())
    return correct / len(data_loader.dataset)
"""


def _device_messages(cells: str) -> dict[str, list[str]]:
    """The device_moves probe run here on the functions ``cells`` define, then the judge's
    reading of what it recorded."""
    inputs, _ = xor_inputs(3, "cpu")
    namespace = {"torch": torch, "device": torch.device("cpu"), "dispositivo": torch.device("cpu")}
    exec(cells, namespace)
    values: dict = {}
    probe_device_moves(Tools(in_process_tools(), "."), values, {}, namespace, inputs)
    assert namespace["device"] == namespace["dispositivo"] == torch.device("cpu")
    assert not torch.cuda.is_available()  # put back
    artifact = Artifact("device_moves", ok=True, values=values)
    return {name: [m.key for m in device_messages(artifact, name, lambda count: None)]
            for name in ("train_model", "eval_model")}


FLAGGED = ["device_not_moved", "hint.device_move"]


TRAIN_CASES = {  # the cells of train_model, and whether they forget a move
    "the lecture's": (LECTURE_TRAIN, False),
    "inputs never moved": (LECTURE_TRAIN.replace("data_inputs = data_inputs.to(device)", "pass"), True),
    "labels never moved": (LECTURE_TRAIN.replace("data_labels = data_labels.to(device)", "pass"), True),
    ".cuda() when CUDA is available, and .item()": (CUDA_WHEN_AVAILABLE, False),
    "a device of its own name, non_blocking, the model moved inside": (OWN_DEVICE_NAME, False),
    "a device= parameter": (DEVICE_PARAMETER, False),
}


@pytest.mark.parametrize("case", TRAIN_CASES)
def test_the_meta_run_flags_exactly_the_batches_left_behind(case):
    cells, flagged = TRAIN_CASES[case]
    messages = _device_messages(cells + EVAL_FORGETS_LABELS)
    assert messages["train_model"] == (FLAGGED if flagged else [])
    assert messages["eval_model"] == FLAGGED


def test_only_a_mix_of_devices_is_a_missing_move():
    def artifact(message):
        return Artifact("device_moves", ok=True, values={"train_model": {"ran": True, "error": {
            "type": "RuntimeError", "message": message, "frames": [
                {"execution_count": 7, "line": 9, "function": "train_model", "code": "preds = model(x)"}]}}})
    mixed = device_messages(artifact("Tensor on device cpu is not on the expected device meta!"),
                                 "train_model", lambda count: 4)
    assert [m.key for m in mixed] == ["device_not_moved", "at_line", "hint.device_move"]
    assert mixed[1].params == {"cell": 5, "line": 9, "code": "preds = model(x)"}
    for other in ("Tensor.item() cannot be called on meta tensors", "Cannot copy out of meta tensor; no data!",
                  "Torch not compiled with CUDA enabled"):
        assert device_messages(artifact(other), "train_model", lambda count: 4) == []


# ---------------------------------------------------------------- XORDataset and ClasificadorSimple

def test_a_swapped_pair_is_named_as_such_not_as_float_labels():
    size = 1000
    swapped = {"label": ("int64", [size]), "item_point": ("int64", []), "item_label": ("float32", [2])}
    values = {k: {"kind": "tensor", "dtype": d, "shape": s} for k, (d, s) in swapped.items()}
    assert diagnose(known.TABLE, "XORDataset.items", values, known.same_items, size) == [Message("hint.item_order")]
    values["label"] = values["item_label"] = {"kind": "tensor", "dtype": "float32", "shape": [size]}
    values["item_label"] = {"kind": "tensor", "dtype": "float32", "shape": []}
    values["item_point"] = {"kind": "tensor", "dtype": "float32", "shape": [2]}
    assert diagnose(known.TABLE, "XORDataset.items", values, known.same_items, size) == [Message("hint.label_long")]
    values["item_point"] = {"kind": "tensor", "dtype": "float64", "shape": [2]}  # something else
    assert diagnose(known.TABLE, "XORDataset.items", values, known.same_items, size) == []


def test_each_wrong_forward_is_named():
    g = torch.Generator().manual_seed(0)
    state = {n: torch.randn(*s, generator=g, dtype=torch.float64) for n, s in REFERENCE_SHAPES.items()}
    x = torch.randn(9, 2, generator=g, dtype=torch.float64)
    l1 = x @ state["linear1.weight"].T + state["linear1.bias"]

    def out(h):
        return h @ state["linear2.weight"].T + state["linear2.bias"]

    same = known.same_tensor(FLOAT64)
    for got, hint in ((out(l1), "hint.no_activation"), (out(torch.sigmoid(l1)), "hint.hidden_sigmoid"),
                      (out(torch.relu(l1)), "hint.hidden_relu"), (torch.sigmoid(out(torch.tanh(l1))), "hint.logits"),
                      (out(torch.tanh(l1)) + 1, "look.forward")):
        assert diagnose(known.TABLE, "ClasificadorSimple.forward", got, same, state, x) == [Message(hint)]


# ---------------------------------------------------------------- backprop's table

def test_backprop_names_its_mistakes_and_only_when_they_fit():
    inputs, _ = backprop_inputs(0, "cpu")
    z = inputs["cases"]["sigmoid_prime"][1][0]
    a = torch.sigmoid(z)
    want = {"out": a * (1 - a)}
    for got, key in ((a * z * (1 - a), "hint.slide_typo"), (z * (1 - z), "hint.prime_takes_z"),
                     (a, "hint.prime_is_sigmoid"), (a * (1 - a) + 0.1, "look.backprop_values")):
        assert [m.key for m in backprop_hints("sigmoid_prime", "out", [z], got, want)] == [key]


# ---------------------------------------------------------------- check-reference

def test_a_known_mistake_without_a_mutant_is_a_coverage_problem(tmp_path, monkeypatch):
    text = (mutants.MUTANTS_DIR / "xor.toml").read_text("utf-8")
    (tmp_path / "xor.toml").write_text(text.replace('"hint.round_logits"', '"accuracy_wrong"'), "utf-8")
    monkeypatch.setattr(mutants, "MUTANTS_DIR", tmp_path)
    assert check.coverage_problems("xor") == [
        "xor: no mutant of eval_model names hint.round_logits, a known mistake of the judge's table; "
        "add one to mutants/xor.toml"]


def test_a_hint_the_case_does_not_claim_is_a_deviation_and_counts_against_precision():
    mutant = mutants.Mutant("xor", "m", "d", (("a", "b"),), ("eval_model",), ("c",), ("hint.percentage",))
    case = check.Case("xor", "mutant", "m", 1, mutant)
    assert check.claimed_hints(case) == {"hint.percentage"}
    assert check.claimed_hints(check.Case("xor", "reference", "reference", 1)) == set()
    findings = [check.Finding(case, hints_named=("hint.percentage", "hint.batch_mean"), hints_claimed=("hint.percentage",)),
                check.Finding(case, hints_named=(), hints_claimed=("hint.percentage",))]
    scores = check.hint_scores(findings)
    assert (scores.right, scores.named, scores.claimed) == (1, 2, 2)
    from grader.reports.check_matrix import summary_line

    assert summary_line(findings, [], 3.0) == "2 cases, 0 deviating (3 s); hints: precision 50% (1/2), recall 50% (1/2)"


def test_train_model_hints_name_only_what_the_parameters_and_calls_show():
    inputs = _inputs(0)
    want_calls = inputs["train_epochs"] * -(-len(inputs["train_x"]) // inputs["train_batch_size"])
    answers = {"trained": known.lecture_training(inputs), "train_forward_calls": want_calls, "train_losses": []}

    def keys(state, calls=want_calls, steps=10):
        artifact = Artifact("train_loop", ok=True, tensors=dict(state), values={
            "forward_calls": calls, "optimizer_calls": {"zero_grad": steps, "step": steps}})
        return [m.key for m in judge_train(artifact, inputs, answers, lambda count: None).messages][2:]

    assert keys(known.lecture_training(inputs, torch.sigmoid)) == ["hint.sigmoid_before_loss"]
    assert keys(inputs["train_state"]) == ["hint.step_order"]
    assert keys({k: v + 0.01 for k, v in answers["trained"].items()}) == ["look.train_model"]
    per_epoch = want_calls // inputs["train_epochs"]
    assert keys(inputs["train_state"], calls=5 * per_epoch) == ["hint.num_epochs"]
    # A loop over some other loader (not a whole number of epochs of this one) is not "epochs".
    assert keys({k: v + 0.01 for k, v in answers["trained"].items()}, calls=per_epoch * 2 + 1) == ["look.train_model"]


def test_the_hidden_layer_hint_needs_both_hidden_gradients_to_have_come_back():
    g = torch.Generator().manual_seed(0)
    want = {name: torch.randn(3, 2, generator=g, dtype=torch.float64) for name in PARAMETERS}
    wrong_w1 = {f"case0.{name}": (v + 1 if name == "W1" else v) for name, v in want.items()}
    no_b1 = {k: v for k, v in want.items() if k != "b1"}
    assert [m.key for m in layer_hint(Artifact("backprop", ok=True, tensors=wrong_w1), "case0", want)] \
        == ["hint.backprop_hidden_layer"]
    tensors = {f"case0.{name}": v for name, v in no_b1.items()}
    assert layer_hint(Artifact("backprop", ok=True, tensors=tensors), "case0", want) == []
