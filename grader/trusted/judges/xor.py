"""Judge of the XOR exercise: inputs drawn at grading time, reference answers, verdicts."""

from __future__ import annotations

import re
from typing import Any, Callable

import torch
import torch.nn as nn
import torch.utils.data as tud

from grader.trusted.artifacts import Artifact, plain_tensors
from grader.trusted.compare import FLOAT32, FLOAT64, compare, dtype_text, shape_text
from grader.trusted.judges.contract import Judge
from grader.trusted.judges.draws import Draw
from grader.trusted.judges.evidence import error_messages, exception_messages, mismatch_message
from grader.trusted.judges.mistakes import diagnose, matching, named_hints
from grader.trusted.judges.xor_mistakes import (TABLE, eval_accuracy, eval_case_is_telling, eval_points,
                                                eval_state_and_zero_point, mostly_same_labels, same_accuracy,
                                                same_batch, same_counts, same_items, same_noise, same_state,
                                                same_tensor)
from grader.trusted.records import Unreadable
from grader.trusted.results import Figure, Message, Verdict

ASSIGNMENT = "xor"
PROBES = ("dataset_shapes", "dataset_samples", "dataset_loader", "model_structure", "model_forward",
          "train_loop", "eval", "visualize", "state_dict", "end_to_end", "device_moves")
MISTAKES = TABLE  # the known mistakes (grader.trusted.judges.xor_mistakes), for check-reference
# What torch says when a tensor on the CPU meets one on the meta device (see probe_device_moves).
DEVICE_MIX = re.compile(r"(?=.*\bmeta\b)(?=.*\bcpu\b).*\bdevices?\b", re.IGNORECASE | re.DOTALL)
ACCURACY_THRESHOLD = 0.95
# Accuracy that predictions made without the trained weights must not exceed. A linear boundary
# gets 3 of XOR's 4 corners (75 %); the lecture's model with its random initial weights scored at
# most 77 % over 3,000 seeds.
CHANCE_ACCURACY = 0.85
SHUFFLES = 7  # the end_to_end probe's shuffles of the trained weights (probes/xor.py)
TEST_SIZE = 500
GRID_LOW, GRID_HIGH, GRID_SIZE = -0.5, 1.5, 41
DEFAULT_STD = 0.1
CORNERS = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
SAVED_STATE_FILE = "saved_state_dict.bin"  # the probe's copy of the file the notebook saved
# The lecture's ClasificadorSimple(2, 4, 1): its parameters, in the order the model registers them.
REFERENCE_SHAPES = {"linear1.weight": (4, 2), "linear1.bias": (4,), "linear2.weight": (1, 4), "linear2.bias": (1,)}
PARAMETER_NAMES = tuple(REFERENCE_SHAPES)

CellOf = Callable[[int], "int | None"]


# ---------------------------------------------------------------- inputs drawn at grading time

class _Draw(Draw):
    def xor_points(self, n: int, std: float = DEFAULT_STD) -> tuple[torch.Tensor, torch.Tensor]:
        corners = torch.randint(0, 2, (n, 2), generator=self.g).to(torch.float32)
        labels = (corners.sum(dim=1) == 1).to(torch.long)
        return corners + self.normal(n, 2, scale=std), labels

    def state(self, sizes, scale: float, dtype=torch.float32) -> dict[str, torch.Tensor]:
        n_in, n_hidden, n_out = sizes
        return {
            "linear1.weight": self.normal(n_hidden, n_in, scale=scale, dtype=dtype),
            "linear1.bias": self.normal(n_hidden, scale=scale, dtype=dtype),
            "linear2.weight": self.normal(n_out, n_hidden, scale=scale, dtype=dtype),
            "linear2.bias": self.normal(n_out, scale=scale, dtype=dtype),
        }


def _logits(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The lecture's model as a function of its state_dict, with the same ``addmm`` as ``nn.Linear``
    (so float32 logits are those of the model with these weights loaded): the grader predicts with
    a student's weights without the reference's code, so that judging needs no solution (see
    grader.authoring.bundle)."""
    hidden = torch.tanh(torch.addmm(state["linear1.bias"], x, state["linear1.weight"].T))
    return torch.addmm(state["linear2.bias"], hidden, state["linear2.weight"].T)


def _strict_load_problem(state: dict[str, torch.Tensor]) -> str:
    """What ``load_state_dict(strict=True)`` on the reference model would refuse, or ""."""
    missing, unexpected = sorted(set(REFERENCE_SHAPES) - set(state)), sorted(set(state) - set(REFERENCE_SHAPES))
    if missing or unexpected:
        return f"missing keys: {missing}; unexpected keys: {unexpected}"[:300]
    for name, shape in REFERENCE_SHAPES.items():
        if not isinstance(state[name], torch.Tensor) or tuple(state[name].shape) != shape:
            got = list(state[name].shape) if isinstance(state[name], torch.Tensor) else type(state[name]).__name__
            return f"size mismatch for {name}: got {got}, the model has {list(shape)}"
    return ""


def _reference_forward(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """float32 logits of the reference model with a student's weights loaded."""
    with torch.no_grad():
        return _logits({k: v.detach().to(torch.float32) for k, v in state.items()}, x.to(torch.float32))


def _eval_case(draw: _Draw) -> dict[str, Any]:
    """A fixed model and two sets of points for ``eval_model``, built so that the decision rules
    and averages students write give accuracies different from the lecture's and from one
    another (see grader.trusted.judges.xor_mistakes): a mistake is named only when the returned
    accuracies match it on both sets."""
    while True:
        state, x0 = eval_state_and_zero_point(draw)
        sets = []
        for _ in range(2):
            for _attempt in range(20):
                case = eval_points(draw, state, x0, _logits)
                if case is not None and eval_case_is_telling(case):
                    sets.append(case)
                    break
        if len(sets) == 2 and sets[0]["batch_size"] != sets[1]["batch_size"]:
            break
    found: dict[str, Any] = {"eval_state": state}
    for prefix, case in zip(("eval", "eval2"), sets):
        found.update({f"{prefix}_x": case["x"], f"{prefix}_y": case["y"], f"{prefix}_batch_size": case["batch_size"]})
    return found


def _eval_sets(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """The two sets ``eval_model`` is judged on, with the float32 logits of the grader's model."""
    sets = []
    for prefix in ("eval", "eval2"):
        x = inputs[f"{prefix}_x"]
        with torch.no_grad():
            logits = _logits(inputs["eval_state"], x.to(torch.float32)).squeeze(1)
        sets.append({"x": x, "y": inputs[f"{prefix}_y"], "logits": logits,
                     "batch_size": inputs[f"{prefix}_batch_size"]})
    return sets


def draw_inputs(seed: int, device: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(inputs the kernel gets, inputs kept hidden from it), all drawn from ``seed``."""
    draw = _Draw(seed)
    inputs: dict[str, Any] = {"seed": seed, "device": device}
    inputs["dataset_sizes"] = torch.tensor([1, draw.int(2, 20), draw.int(50, 400), draw.int(1000, 3000)])
    inputs["dataset_sample_size"] = 2000
    inputs["dataset_stds"] = torch.tensor([draw.uniform(0.03, 0.07), draw.uniform(0.12, 0.16)])
    batch = draw.int(5, 40)
    inputs["loader_batch_size"] = batch
    size = draw.int(41, 200)
    inputs["loader_dataset_size"] = size + 1 if size % batch == 0 else size
    other = [draw.int(3, 6), draw.int(3, 8), draw.int(2, 4)]
    inputs["model_sizes"] = torch.tensor([[2, 4, 1], other])
    for i, sizes in enumerate(([2, 4, 1], other)):
        rows = draw.int(3, 12)
        inputs[f"model{i}_state"] = draw.state(sizes, scale=0.8, dtype=torch.float64)
        inputs[f"model{i}_x"] = draw.normal(rows, sizes[0], dtype=torch.float64)
        inputs[f"model{i}_r"] = draw.normal(rows, sizes[2], dtype=torch.float64)
    inputs["act_in"] = draw.normal(16, scale=2.0)
    inputs["train_state"] = draw.state((2, 4, 1), scale=0.6)
    inputs["train_x"], inputs["train_y"] = draw.xor_points(draw.int(96, 160))
    inputs["train_batch_size"] = draw.int(16, 40)
    inputs["train_epochs"] = 2
    inputs["train_lr"] = 0.1
    inputs.update(_eval_case(draw))
    while True:
        inputs["viz_data"], inputs["viz_label"] = draw.xor_points(draw.int(30, 80))
        if 0 < int(inputs["viz_label"].sum()) < len(inputs["viz_label"]):
            break
    inputs["roundtrip_x"] = draw.normal(16, 2)
    inputs["test_x"], test_y = draw.xor_points(TEST_SIZE)
    inputs["grid_x"] = _grid()
    return inputs, {"test_y": test_y}


def _grid() -> torch.Tensor:
    """The points where the report draws the trained model's decision boundary."""
    axis = torch.linspace(GRID_LOW, GRID_HIGH, GRID_SIZE)
    rows, columns = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([columns.reshape(-1), rows.reshape(-1)], dim=1)


class _RecordingBCE(nn.BCEWithLogitsLoss):
    """The reference's loss, kept per batch for the report's loss curve."""

    def __init__(self):
        super().__init__()
        self.values: list[float] = []

    def forward(self, input, target):
        loss = super().forward(input, target)
        self.values.append(float(loss.detach()))
        return loss


# ---------------------------------------------------------------- what the reference expects

def expected(inputs: dict[str, Any], ref) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for i, sizes in enumerate(inputs["model_sizes"].tolist()):
        model = ref.ClasificadorSimple(*sizes).double()
        model.load_state_dict(inputs[f"model{i}_state"], strict=True)
        out = model(inputs[f"model{i}_x"])
        (out * inputs[f"model{i}_r"]).sum().backward()
        answers[f"out{i}"] = out.detach()
        answers[f"grads{i}"] = {name: p.grad.detach() for name, p in model.named_parameters()}
        answers[f"parameters{i}"] = [[name, list(p.shape)] for name, p in model.named_parameters()]
    answers["act_out"] = torch.tanh(inputs["act_in"])

    model = ref.ClasificadorSimple(2, 4, 1)
    model.load_state_dict(inputs["train_state"])
    loader = tud.DataLoader(tud.TensorDataset(inputs["train_x"], inputs["train_y"]),
                            batch_size=inputs["train_batch_size"], shuffle=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=inputs["train_lr"])
    loss = _RecordingBCE()
    ref.train_model(model, optimizer, loader, loss, num_epochs=inputs["train_epochs"])
    answers["train_losses"] = loss.values
    answers["trained"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    answers["train_forward_calls"] = inputs["train_epochs"] * len(loader)

    answers["end_to_end_losses"] = _reference_training_losses(ref)

    answers["accuracy"], answers["accuracy2"] = (eval_accuracy(case) for case in _eval_sets(inputs))
    return answers


_REFERENCE_LOSSES: dict[str, list[float]] = {}


def _reference_training_losses(ref) -> list[float]:
    """The loss per batch of the lecture's training run with the reference code, for the report's
    picture next to the student's own run. Its seed is fixed, so it is computed once per process
    (about 5 s of CPU here), not once per submission."""
    key = getattr(ref, "__name__", "")
    if key not in _REFERENCE_LOSSES:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            dataset = ref.XORDataset(size=2500)
            loader = tud.DataLoader(dataset, batch_size=128, shuffle=True)
            model = ref.ClasificadorSimple(2, 4, 1)
            loss = _RecordingBCE()
            ref.train_model(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, loss, num_epochs=100)
        _REFERENCE_LOSSES[key] = loss.values
    return list(_REFERENCE_LOSSES[key])


# ---------------------------------------------------------------- verdicts

def judge(artifacts: dict[str, Artifact], inputs: dict[str, Any], hidden: dict[str, Any],
          answers: dict[str, Any], cell_of: CellOf) -> list[Verdict]:
    verdicts: list[Verdict] = []
    verdicts += _judge_dataset(artifacts, inputs, cell_of)
    forward = _judge_model(artifacts["model_structure"], artifacts["model_forward"], inputs, answers, cell_of)
    verdicts += forward
    moves = artifacts.get("device_moves", Artifact("device_moves", problem="missing"))
    train_moves = _device_messages(moves, "train_model", cell_of)
    verdicts.append(_with_device_problem(_judge_train(artifacts["train_loop"], inputs, answers, cell_of), train_moves))
    evaluation = _judge_eval(artifacts["eval"], inputs, answers, cell_of)
    evaluation[0] = _with_device_problem(evaluation[0], _device_messages(moves, "eval_model", cell_of))
    verdicts += evaluation
    verdicts.append(_judge_visualize(artifacts["visualize"], inputs, cell_of))
    forward_ok = all(v.passed for v in forward if v.name == "model_forward_matches_reference")
    # The notebook's last cell evaluates new_model: an eval_model that trains changes it after it
    # was loaded, which is eval_model's fault, not the loading's.
    eval_keeps = all(v.passed for v in evaluation if v.name == "eval_model_keeps_parameters")
    verdicts += _judge_state_dict(artifacts["state_dict"], artifacts["model_structure"], inputs,
                                  forward_ok, cell_of, eval_keeps)
    end_to_end = _judge_end_to_end(artifacts["end_to_end"], inputs, hidden, answers, forward_ok, cell_of)
    if train_moves and end_to_end.passed:
        # On a GPU this training fails where train_model forgot the move: the same score here.
        end_to_end = Verdict(end_to_end.name, False, [Message("end_to_end_needs_device")], end_to_end.advice,
                             end_to_end.figures)
    verdicts.append(end_to_end)
    return verdicts


def _device_messages(moves: Artifact, function: str, cell_of: CellOf) -> list[Message]:
    """What the run with `device` on the meta device shows about ``function``'s moves: a tensor
    it left on the CPU met the model's meta parameters (any other error there says nothing)."""
    outcome = moves.values.get(function) if moves.ok or moves.values else None
    error = outcome.get("error") if isinstance(outcome, dict) else None
    if not isinstance(error, dict) or not DEVICE_MIX.search(str(error.get("message", ""))):
        return []
    messages = [Message("device_not_moved", {"function": function, "error": str(error.get("message", ""))[:200]})]
    frames = [f for f in error.get("frames", []) if isinstance(f, dict) and isinstance(f.get("execution_count"), int)
              and cell_of(f["execution_count"]) is not None] if isinstance(error.get("frames"), list) else []
    if frames:
        messages.append(Message("at_line", {"cell": cell_of(frames[-1]["execution_count"]) + 1,
                                            "line": frames[-1].get("line", "?"),
                                            "code": str(frames[-1].get("code", ""))[:200]}))
    return messages + [Message("hint.device_move")]


def _with_device_problem(verdict: Verdict, messages: list[Message]) -> Verdict:
    if not messages:
        return verdict
    return Verdict(verdict.name, False, verdict.messages + messages, verdict.advice, verdict.figures)


def _failed(name: str, artifact: Artifact, function: str, cell_of: CellOf) -> Verdict:
    return Verdict(name, False, error_messages(artifact, function, cell_of))


def _tensor_ok(description: Any, dtype: str, shape: list[int]) -> bool:
    return (isinstance(description, dict) and description.get("kind") == "tensor"
            and description.get("dtype") == dtype and description.get("shape") == shape)


def _describe(description: Any) -> str:
    if isinstance(description, dict) and description.get("kind") == "tensor":
        return f"tensor {description.get('dtype')} {shape_text(description.get('shape', []))}"
    if isinstance(description, dict):
        return str(description.get("kind"))
    return str(description)


def _judge_dataset(artifacts: dict[str, Artifact], inputs: dict[str, Any], cell_of: CellOf) -> list[Verdict]:
    shapes, samples, loader = artifacts["dataset_shapes"], artifacts["dataset_samples"], artifacts["dataset_loader"]
    verdicts = []
    sizes = inputs["dataset_sizes"].tolist()
    if not shapes.ok and not shapes.values.get("lengths"):
        verdicts.append(_failed("dataset_length", shapes, "XORDataset", cell_of))
    else:
        got = shapes.values.get("lengths", [])
        wrong = [(s, g) for s, g in zip(sizes, got) if s != g]
        verdicts.append(Verdict("dataset_length", not wrong and len(got) == len(sizes),
                                [Message("length_wrong", {"size": s, "got": g}) for s, g in wrong[:2]]))
    if not shapes.ok:
        verdicts.append(_failed("dataset_item_types", shapes, "XORDataset", cell_of))
    else:
        v, size = shapes.values, sizes[-1]
        messages = []
        for attr, dtype, shape in (("data", "float32", [size, 2]), ("label", "int64", [size])):
            if not _tensor_ok(v.get(attr), dtype, shape):
                messages.append(Message("attr_wrong", {"attr": attr, "got": _describe(v.get(attr)),
                                                       "dtype": dtype, "shape": shape_text(shape)}))
        if v.get("item_len") != 2:
            messages.append(Message("item_not_pair", {"got": v.get("item_kind")}))
        else:
            for part, dtype, shape in (("data_point", "float32", [2]), ("data_label", "int64", [])):
                key = "item_point" if part == "data_point" else "item_label"
                if not _tensor_ok(v.get(key), dtype, shape):
                    messages.append(Message("item_wrong", {"part": part, "got": _describe(v.get(key)),
                                                           "dtype": dtype, "shape": shape_text(shape)}))
            if not messages and v.get("items_match_tensors") is not True:
                messages.append(Message("item_inconsistent"))
        if messages:
            messages += diagnose(TABLE, "XORDataset.items", v, same_items, size)
        verdicts.append(Verdict("dataset_item_types", not messages, messages))
    verdicts += _judge_dataset_samples(samples, inputs, cell_of)
    if not loader.ok:
        verdicts.append(_failed("dataset_dataloader_batches", loader, "XORDataset", cell_of))
    else:
        batch, size = inputs["loader_batch_size"], inputs["loader_dataset_size"]
        expected_sizes = [batch] * (size // batch) + [size % batch]
        batches = loader.values.get("batches", [])
        messages = []
        if len(batches) != len(expected_sizes):
            messages.append(Message("batch_count", {"got": len(batches), "expected": len(expected_sizes),
                                                    "batch": batch, "size": size}))
        for b, pair in zip(expected_sizes, batches):
            if not (isinstance(pair, list) and len(pair) == 2 and _tensor_ok(pair[0], "float32", [b, 2])
                    and _tensor_ok(pair[1], "int64", [b])):
                got = [_describe(p) for p in pair] if isinstance(pair, list) else [str(pair)]
                messages.append(Message("batch_wrong", {"batch": batch, "got": "; ".join(got),
                                                        "x_shape": shape_text([b, 2]), "y_shape": shape_text([b])}))
                messages += diagnose(TABLE, "XORDataset.batches", pair, same_batch, b)
                break
        verdicts.append(Verdict("dataset_dataloader_batches", not messages, messages))
    return verdicts


def _nearest_corner(data: torch.Tensor) -> torch.Tensor:
    return data.round().clamp(0, 1)


def _sample(samples: Artifact, prefix: str, size: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    data, label = samples.tensors.get(f"{prefix}_data"), samples.tensors.get(f"{prefix}_label")
    if data is None or label is None or tuple(data.shape) != (size, 2) or tuple(label.shape) != (size,):
        return None
    if not data.is_floating_point():
        return None
    return data.double(), label


def _judge_dataset_samples(samples: Artifact, inputs: dict[str, Any], cell_of: CellOf) -> list[Verdict]:
    names = ("dataset_labels_are_xor", "dataset_all_corners", "dataset_noise_std")
    if not samples.ok:
        return [_failed(name, samples, "XORDataset", cell_of) for name in names]
    size = inputs["dataset_sample_size"]
    stds = [("default", DEFAULT_STD)] + [(f"std{i}", s) for i, s in enumerate(inputs["dataset_stds"].tolist())]
    drawn = {prefix: _sample(samples, prefix, size) for prefix, _ in stds}
    if any(d is None for d in drawn.values()):
        messages = [Message("samples_unusable", {"size": size})]
        return [Verdict(name, False, messages) for name in names]

    labels_msgs = []
    for prefix, std in stds[:2]:  # the small noise levels: a corner is never mistaken there
        data, label = drawn[prefix]
        corner = _nearest_corner(data)
        want = (corner.sum(dim=1) == 1).long()
        bad = torch.nonzero(label.long() != want).flatten()
        if len(bad) > 0.005 * size:
            i = int(bad[0])
            labels_msgs.append(Message("labels_wrong", {
                "bad": len(bad), "total": size, "point": [round(float(c), 3) for c in data[i]],
                "got": int(label[i]), "expected": int(want[i])}))
            labels_msgs += diagnose(TABLE, "XORDataset.labels", label, mostly_same_labels, corner)
            break

    corner_msgs = []
    for prefix, _ in stds[:1]:
        corner = _nearest_corner(drawn[prefix][0])
        counts = [int(((corner == c).all(dim=1)).sum()) for c in CORNERS]
        if min(counts) < 0.1 * size:
            corner_msgs.append(Message("corners_missing", {"counts": counts, "total": size}))
            corner_msgs += diagnose(TABLE, "XORDataset.corners", counts, same_counts, size)

    noise_msgs, measured_stds = [], []
    for prefix, std in stds:
        data, _ = drawn[prefix]
        measured = float((data - _nearest_corner(data)).pow(2).mean().sqrt())
        measured_stds.append(measured)
        if not abs(measured / std - 1) <= 0.15:
            noise_msgs.append(Message("noise_std_wrong", {"std": round(std, 4), "measured": round(measured, 4)}))
    if noise_msgs:
        noise_msgs += diagnose(TABLE, "XORDataset.noise", measured_stds, same_noise, [std for _, std in stds])
    return [Verdict("dataset_labels_are_xor", not labels_msgs, labels_msgs),
            Verdict("dataset_all_corners", not corner_msgs, corner_msgs),
            Verdict("dataset_noise_std", not noise_msgs, noise_msgs)]


def _judge_model(structure: Artifact, forward: Artifact, inputs, answers, cell_of: CellOf) -> list[Verdict]:
    verdicts = []
    sizes = inputs["model_sizes"].tolist()
    got_params = structure.values.get("parameters", [])
    if not got_params:
        verdicts.append(_failed("model_parameter_shapes", structure, "ClasificadorSimple", cell_of))
    else:
        messages = []
        for i, size in enumerate(sizes):
            want = answers[f"parameters{i}"]
            got = got_params[i] if i < len(got_params) else []
            if got != want:
                messages.append(Message("params_wrong", {"sizes": size, "got": _params_text(got),
                                                         "expected": _params_text(want)}))
                messages += [m for m in diagnose(TABLE, "ClasificadorSimple.parameters", got, _same_list, want)
                             if m not in messages]
        verdicts.append(Verdict("model_parameter_shapes", not messages, messages))
    if not structure.ok:
        verdicts.append(_failed("model_hidden_activation", structure, "ClasificadorSimple", cell_of))
    else:
        mismatch = compare(structure.tensors.get("act_out"), answers["act_out"], FLOAT32)
        messages = []
        if mismatch is not None:
            messages = [Message("activation_wrong", {"got": structure.values.get("act_fn")}),
                        mismatch_message(mismatch, "act_fn(x)")]
        verdicts.append(Verdict("model_hidden_activation", not messages, messages))
    if not forward.ok:
        verdicts.append(_failed("model_forward_matches_reference", forward, "ClasificadorSimple", cell_of))
        verdicts.append(_failed("model_gradients_match_reference", forward, "ClasificadorSimple", cell_of))
        return verdicts
    out_msgs, grad_msgs = [], []
    dtypes = forward.values.get("dtypes", [])
    for i, size in enumerate(sizes):
        tolerance = FLOAT64 if i < len(dtypes) and dtypes[i] == "float64" else FLOAT32
        if tolerance is FLOAT32 and not out_msgs:
            out_msgs.append(Message("ran_float32", {"sizes": size}))
        mismatch = compare(forward.tensors.get(f"out{i}"), answers[f"out{i}"], tolerance)
        if mismatch is not None:
            out_msgs += [Message("forward_mismatch", {"sizes": size}), mismatch_message(mismatch, "model(x)")]
            if mismatch.kind == "values":
                state = {k: v.to(torch.float64) for k, v in inputs[f"model{i}_state"].items()}
                out_msgs += [m for m in diagnose(TABLE, "ClasificadorSimple.forward", forward.tensors.get(f"out{i}"),
                                                 same_tensor(tolerance), state, inputs[f"model{i}_x"].double())
                             if m not in out_msgs]
        for name, grad in answers[f"grads{i}"].items():
            mismatch = compare(forward.tensors.get(f"grad{i}.{name}"), grad, tolerance)
            if mismatch is not None:
                grad_msgs += [Message("gradients_mismatch", {"sizes": size, "param": name}),
                              mismatch_message(mismatch, f"{name}.grad")]
                break
    out_msgs = _named_or_look(out_msgs)
    passed_out = not [m for m in out_msgs if m.key != "ran_float32"]
    verdicts.append(Verdict("model_forward_matches_reference", passed_out, out_msgs))
    verdicts.append(Verdict("model_gradients_match_reference", not grad_msgs, grad_msgs))
    return verdicts


def _named_or_look(messages: list[Message]) -> list[Message]:
    """A hint that names the mistake makes the advice on how to look for one unnecessary."""
    if any(m.key.startswith("hint.") for m in messages):
        return [m for m in messages if not m.key.startswith("look.")]
    return messages


def _same_list(got: Any, candidate: list) -> bool:
    return got == candidate


def _params_text(params: Any) -> str:
    if not isinstance(params, list):
        return str(params)
    return ", ".join(f"{p[0]} {shape_text(p[1])}" for p in params if isinstance(p, list) and len(p) == 2) or "—"


def _judge_train(train: Artifact, inputs, answers, cell_of: CellOf) -> Verdict:
    messages: list[Message] = []
    counts = train.values.get("optimizer_calls") if isinstance(train.values.get("optimizer_calls"), dict) else {}
    if not train.ok:
        messages = error_messages(train, "train_model", cell_of)
    else:
        for name in PARAMETER_NAMES:
            mismatch = compare(train.tensors.get(name), answers["trained"][name], FLOAT32)
            if mismatch is not None:
                messages = [Message("train_mismatch", {"epochs": inputs["train_epochs"], "param": name}),
                            mismatch_message(mismatch, name)]
                break
        if not messages:
            return Verdict("train_model_matches_reference", True)
    calls, want_calls = train.values.get("forward_calls"), answers["train_forward_calls"]
    per_epoch = want_calls // inputs["train_epochs"]
    # What the counts of calls show for certain; then what the trained parameters match.
    if counts.get("zero_grad") == 0 and counts.get("step", 0) > 0:
        messages.append(Message("hint.zero_grad"))
    if train.ok and counts.get("step") == 0:
        messages.append(Message("hint.no_step"))
    if train.ok and isinstance(calls, int) and calls != want_calls and calls % per_epoch == 0:
        messages.append(Message("hint.num_epochs", {"got": calls, "expected": want_calls,
                                                    "epochs": inputs["train_epochs"]}))
    if train.ok and len(messages) == 2:
        got = {name: train.tensors.get(name) for name in PARAMETER_NAMES}
        messages += diagnose(TABLE, "train_model", got, same_state, inputs)
    return Verdict("train_model_matches_reference", False, messages, figures=_loss_figure(train, answers))


def _loss_figure(train: Artifact, answers) -> list[Figure]:
    return _losses_figure("loss_curves", train, answers["train_losses"])


def _training_figure(e2e: Artifact, reference: list[float]) -> list[Figure]:
    return _losses_figure("training_loss", e2e, reference)


def _losses_figure(kind: str, artifact: Artifact, reference: list[float]) -> list[Figure]:
    losses = artifact.values.get("losses")
    if not isinstance(losses, list) or not losses or not all(isinstance(v, (int, float)) for v in losses):
        return []
    return [Figure(kind, {"student": [round(float(v), 5) for v in losses[:4000]],
                          "reference": [round(v, 5) for v in reference]})]


def _judge_eval(evaluation: Artifact, inputs, answers, cell_of: CellOf) -> list[Verdict]:
    names = ("eval_model_returns_accuracy", "eval_model_eval_mode_no_grad", "eval_model_keeps_parameters",
             "eval_model_prints_accuracy")
    if not evaluation.ok:
        return [_failed(name, evaluation, "eval_model", cell_of) for name in names]
    v, accuracy = evaluation.values, answers["accuracy"]
    acc_msgs = _accuracy_messages(evaluation, inputs, answers, cell_of)
    calls = v.get("forward_calls") if isinstance(v.get("forward_calls"), list) else []
    bad_mode = sum(1 for c in calls if isinstance(c, list) and c and c[0] is not False)
    bad_grad = sum(1 for c in calls if isinstance(c, list) and len(c) > 1 and c[1] is not False)
    mode_msgs = []
    if not calls:
        mode_msgs.append(Message("eval_no_forward"))
    if bad_mode:
        mode_msgs.append(Message("eval_train_mode", {"count": bad_mode, "total": len(calls)}))
    if bad_grad:
        mode_msgs.append(Message("eval_grad_enabled", {"count": bad_grad, "total": len(calls)}))
    param_msgs = []
    for name in PARAMETER_NAMES:
        mismatch = compare(evaluation.tensors.get(name), inputs["eval_state"][name], FLOAT64)
        if mismatch is not None:
            param_msgs = [Message("eval_changed_parameters", {"param": name}), mismatch_message(mismatch, name)]
            break
    printed = str(v.get("printed", ""))
    shown = re.search(r"Tasa de acierto[^\d\n]*(\d+(?:[.,]\d+)?)\s*%", printed)
    print_msgs = []
    if not shown or abs(float(shown.group(1).replace(",", ".")) - 100 * accuracy) > 0.006:
        print_msgs.append(Message("print_missing", {"expected": f"{100 * accuracy:.2f}",
                                                    "printed": printed.strip()[-200:] or "—"}))
    return [Verdict(names[0], not acc_msgs, acc_msgs), Verdict(names[1], not mode_msgs, mode_msgs),
            Verdict(names[2], not param_msgs, param_msgs), Verdict(names[3], not print_msgs, print_msgs)]


def _accuracy_messages(evaluation: Artifact, inputs, answers, cell_of: CellOf) -> list[Message]:
    """The accuracy ``eval_model`` returned on both sets against the lecture's rule; when it is
    wrong, the known mistakes that give exactly what it returned on both sets."""
    v = evaluation.values
    second = v.get("second") if isinstance(v.get("second"), dict) else {}
    returned = [(v.get("result"), v.get("result_kind")), (second.get("result"), second.get("result_kind"))]
    wanted = [answers["accuracy"], answers["accuracy2"]]
    if isinstance(second.get("error"), dict):
        return exception_messages(second["error"], "eval_model", cell_of)
    for (result, kind), want in zip(returned, wanted):
        if not isinstance(result, (int, float)):
            return [Message("accuracy_none", {"got": kind})]
    wrong = [(result, want) for (result, _), want in zip(returned, wanted) if abs(result - want) > 1e-5]
    if not wrong:
        return []
    got, want = wrong[0]
    messages = [Message("accuracy_wrong", {"got": round(got, 6), "expected": round(want, 6)})]
    sets = _eval_sets(inputs)
    found = None
    for (result, _), case in zip(returned, sets):
        rows = matching(TABLE, "eval_model", result, same_accuracy, case)
        found = rows if found is None else [row for row in found if row in rows]
    hints = named_hints(found or [])
    if hints:
        return messages + [Message(hint) for hint in hints]
    return messages + [Message("look.eval_model")]


def _judge_visualize(viz: Artifact, inputs, cell_of: CellOf) -> Verdict:
    name = "visualize_samples_scatter_per_class"
    if not viz.ok:
        return _failed(name, viz, "visualize_samples", cell_of)
    data, label = inputs["viz_data"].double(), inputs["viz_label"]
    classes = [data[label == 0], data[label == 1]]
    sets = [viz.tensors.get(f"scatter{i}") for i in range(int(viz.values.get("scatter_sets") or 0))]
    sets = [s for s in sets if isinstance(s, torch.Tensor) and s.dim() == 2 and s.shape[-1] == 2]
    expected_sizes = [len(c) for c in classes]
    if len(sets) != 2 or sorted(len(s) for s in sets) != sorted(expected_sizes):
        return Verdict(name, False, [Message("scatter_wrong", {"sets": len(sets), "sizes": [len(s) for s in sets],
                                                               "expected": expected_sizes})])
    if not (_same_points(sets[0], classes[0]) and _same_points(sets[1], classes[1])
            or _same_points(sets[0], classes[1]) and _same_points(sets[1], classes[0])):
        return Verdict(name, False, [Message("scatter_points_wrong")])
    return Verdict(name, True)


def _same_points(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape:
        return False

    def ordered(t: torch.Tensor) -> torch.Tensor:
        t = t.double()
        return t[torch.argsort(t[:, 0] * 1e6 + t[:, 1])]

    return bool(torch.allclose(ordered(a), ordered(b), atol=1e-5))


def _judge_state_dict(saved: Artifact, structure: Artifact, inputs, forward_ok: bool,
                      cell_of: CellOf, eval_keeps: bool = True) -> list[Verdict]:
    names = ("state_dict_saved_to_file", "state_dict_loaded_into_new_model", "state_dict_loads_into_reference")
    if not saved.ok:
        return [_failed(name, saved, "state_dict", cell_of) for name in names]
    v, t = saved.values, saved.tensors
    model_state = {k[len("model."):]: x for k, x in t.items() if k.startswith("model.")}
    new_state = {k[len("new_model."):]: x for k, x in t.items() if k.startswith("new_model.")}
    file_state, file_msgs = None, []
    if not v.get("file"):
        file_msgs.append(Message("file_missing"))
    else:
        file_state, problem = _load_saved_state(saved)
        if problem:
            file_msgs += [Message("file_not_state_dict", {"file": v["file"]}), Message("hint.save_state_dict")]
        elif not model_state:
            file_msgs.append(Message("model_missing"))
        else:
            detail = _state_difference(file_state, model_state)
            if detail:
                file_msgs.append(Message("file_differs_from_model", {"file": v["file"], **detail}))

    new_msgs, new_notes = [], []
    if v.get("new_model_kind") is None:
        new_msgs.append(Message("new_model_missing"))
    elif not new_state:
        new_msgs.append(Message("new_model_not_module", {"got": v.get("new_model_kind")}))
    else:
        source = file_state if file_state is not None else model_state
        detail = _state_difference(new_state, source) if source else None
        if detail and not eval_keeps and detail.get("detail") == "values":
            new_notes = [Message("new_model_changed_by_eval")]
        elif detail:
            new_msgs += [Message("new_model_differs", detail), Message("hint.load_state_dict")]
        else:
            mismatch = compare(t.get("new_model_pred"), t.get("model_pred", torch.empty(0)), FLOAT32)
            if mismatch is not None:
                new_msgs += [Message("new_model_predictions_differ"), mismatch_message(mismatch, "new_model(x)")]

    ref_msgs, notes = [], []
    student_params = (structure.values.get("parameters") or [[]])[0]
    reference_params = [[name, list(shape)] for name, shape in REFERENCE_SHAPES.items()]
    if file_state is None:
        ref_msgs.append(Message("reference_needs_file"))
    elif student_params != reference_params:
        # Wrong names or shapes are ClasificadorSimple's fault and cost points there, not here.
        notes.append(Message("reference_not_comparable"))
    else:
        problem = _strict_load_problem(file_state)
        if problem:
            ref_msgs.append(Message("reference_load_failed", {"error": problem}))
        else:
            if not forward_ok or not eval_keeps:
                # A forward unlike the reference's predicts differently with any weights, and an
                # eval_model that trains changed new_model: those are ClasificadorSimple's and
                # eval_model's faults, so only the strict load is judged here.
                return [Verdict(names[0], not file_msgs, file_msgs), Verdict(names[1], not new_msgs, new_msgs + new_notes),
                        Verdict(names[2], True)]
            want = _reference_forward(file_state, inputs["roundtrip_x"])
            mismatch = compare(t.get("new_model_pred"), want, FLOAT32)
            if mismatch is not None:
                ref_msgs += [Message("reference_predictions_differ"), mismatch_message(mismatch, "new_model(x)")]
    return [Verdict(names[0], not file_msgs, file_msgs), Verdict(names[1], not new_msgs, new_msgs + new_notes),
            Verdict(names[2], not ref_msgs, ref_msgs + notes)]


def _load_saved_state(saved: Artifact) -> tuple[dict[str, torch.Tensor] | None, bool]:
    try:
        loaded = saved.load_tensors(SAVED_STATE_FILE)
    except Unreadable:  # a whole pickled model, or anything else that is not plain tensors
        return None, True
    state = plain_tensors(loaded)
    if not state or not isinstance(loaded, dict) or len(state) != len(loaded):
        return None, True
    return state, False


def _state_difference(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> dict[str, str] | None:
    if sorted(got) != sorted(want):
        return {"param": ", ".join(sorted(set(got) ^ set(want)))[:200], "detail": "keys"}
    for name in want:
        if compare(got[name], want[name], FLOAT32) is not None:
            return {"param": name, "detail": "values"}
    return None


def _judge_end_to_end(e2e: Artifact, inputs, hidden, answers, forward_ok: bool, cell_of: CellOf) -> Verdict:
    """Accuracy on the hidden points, from predictions the grader can trust. When the student's
    forward is the reference's (model_forward), the grader predicts itself from the trained
    weights, whatever else the model's state holds. Otherwise only the kernel can predict, and its
    predictions count only if the same model with its initial weights, and with its trained weights
    shuffled, scores near chance: predictions that follow from the points themselves (a forward
    that rounds its input) or from anything but the trained weights do not pass that test."""
    name = "end_to_end_accuracy"
    if not e2e.ok:
        return _failed(name, e2e, "XORDataset + ClasificadorSimple + train_model", cell_of)
    labels, notes = hidden["test_y"], []
    trained, initial = _reference_weights(e2e, "state."), _reference_weights(e2e, "initial.")
    if forward_ok and trained is not None:
        logits, grid_logits = _reference_forward(trained, inputs["test_x"]), _reference_forward(trained, inputs["grid_x"])
        # Weights that score well before any training were not learnt (a state set by hand).
        without_training = [_reference_forward(initial, inputs["test_x"]) if initial is not None else None]
    else:
        # The student's forward differs from the reference: only its own kernel can predict.
        logits, grid_logits = e2e.tensors.get("logits"), e2e.tensors.get("grid_logits")
        notes.append(Message("logits_from_kernel"))
        points = e2e.tensors.get("test_x")
        if not isinstance(points, torch.Tensor) or points.shape != inputs["test_x"].shape \
                or not torch.equal(points, inputs["test_x"]):
            logits = None  # predictions for other points than the grader's
        without_training = [e2e.tensors.get("initial_logits")]
        shuffled = [e2e.tensors.get(f"shuffled_logits.{i}") for i in range(SHUFFLES)]
        without_training.append(_median_accuracy_logits(shuffled, labels))
    accuracy = _accuracy(logits, labels)
    if accuracy is None:
        return Verdict(name, False, [Message("logits_unusable", {"got": _describe(
            {"kind": "tensor", "dtype": dtype_text(logits.dtype), "shape": list(logits.shape)}
            if isinstance(logits, torch.Tensor) else {"kind": type(logits).__name__})})])
    params = {"accuracy": f"{100 * accuracy:.2f}", "threshold": f"{100 * ACCURACY_THRESHOLD:.0f}",
              "n": len(labels)}
    figures = _boundary_figure(grid_logits, inputs, labels, params["accuracy"]) \
        + _training_figure(e2e, answers["end_to_end_losses"])
    if accuracy < ACCURACY_THRESHOLD:
        return Verdict(name, False, [Message("accuracy_low", params)] + notes, figures=figures)
    untrained = [_accuracy(t, labels) for t in without_training]
    if any(a is None or a > CHANCE_ACCURACY for a in untrained):
        shown = max((a for a in untrained if a is not None), default=accuracy)
        return Verdict(name, False, [Message("predictions_ignore_training", {
            "accuracy": f"{100 * shown:.2f}", "chance": f"{100 * CHANCE_ACCURACY:.0f}"})] + notes, figures=figures)
    return Verdict(name, True, [Message("accuracy_reached", params)] + notes, figures=figures)


def _reference_weights(e2e: Artifact, prefix: str) -> dict[str, torch.Tensor] | None:
    """The reference model's four parameters from a recorded state, or None when one is missing
    or misshapen; other entries (buffers, extra layers) are left out."""
    state = {k[len(prefix):]: x for k, x in e2e.tensors.items() if k.startswith(prefix)}
    chosen = {k: state.get(k) for k in PARAMETER_NAMES}
    if _strict_load_problem(chosen) or not all(x.is_floating_point() for x in chosen.values()):
        return None
    return chosen


def _accuracy(logits: Any, labels: torch.Tensor) -> float | None:
    if not isinstance(logits, torch.Tensor) or logits.numel() != len(labels) or not logits.is_floating_point():
        return None
    return float(((logits.reshape(-1).double() >= 0).long() == labels).double().mean())


def _median_accuracy_logits(candidates: list[Any], labels: torch.Tensor) -> Any:
    """The shuffled-weights predictions of median accuracy (a single shuffle can, rarely, give
    another solution of XOR), or None if any of them is unusable."""
    scored = [(_accuracy(t, labels), i) for i, t in enumerate(candidates)]
    if any(a is None for a, _ in scored):
        return None
    return candidates[sorted(scored)[len(scored) // 2][1]]


def _boundary_figure(grid_logits, inputs, labels, accuracy: str) -> list[Figure]:
    if not isinstance(grid_logits, torch.Tensor) or grid_logits.numel() != GRID_SIZE**2 \
            or not grid_logits.is_floating_point():
        return []
    probabilities = torch.sigmoid(grid_logits.double().reshape(GRID_SIZE, GRID_SIZE))
    return [Figure("decision_boundary", {
        "low": GRID_LOW, "high": GRID_HIGH, "n": GRID_SIZE, "accuracy": accuracy,
        "probabilities": [[round(float(v), 4) for v in row] for row in probabilities],
        "points": [[round(float(v), 4) for v in point] for point in inputs["test_x"]],
        "labels": [int(v) for v in labels],
    })]


JUDGE = Judge(ASSIGNMENT, PROBES, draw_inputs, expected, judge, TABLE)
