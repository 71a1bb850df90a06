"""The XOR exercise's known mistakes (see grader.trusted.judges.mistakes): for each judged object,
the wrong versions the trusted side computes on the grader's own inputs, and the inputs of
``eval_model`` built so that the decision rules students write give different accuracies.

The lecture's rule is ``torch.sigmoid(logits) >= 0.5`` ("predicción 1 cuando la probabilidad es al
menos 0.5"). ``logits >= 0`` is the same rule except where float32 rounds ``sigmoid`` of a tiny
negative logit up to 0.5, so ``eval_model`` never sees a logit within ``EVAL_MARGIN`` of a
boundary, except logits that are exactly 0 (where ``sigmoid`` gives exactly 0.5 and both correct
forms predict 1, while ``>``, ``> 0.5`` and ``round``, which rounds 0.5 to 0, predict 0).
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from grader.trusted.compare import Tolerance, compare
from grader.trusted.judges.draws import Draw
from grader.trusted.judges.mistakes import Mistake, Table

# ---------------------------------------------------------------- eval_model: rules and averages

EVAL_MARGIN = 1e-3
# Where the rules below disagree: 0 (lecture vs strict), 0.5 (thresholds on logits, round),
# -0.5 and 1.5 (round of a logit).
EVAL_BOUNDARIES = (-0.5, 0.0, 0.5, 1.5)
EVAL_REGIONS = ((-float("inf"), -0.5), (-0.5, 0.0), (0.0, 0.5), (0.5, 1.5), (1.5, float("inf")))
# A returned accuracy "is" a candidate within this (float32 accumulators, percentages)...
EVAL_MATCH = 1e-5
# ...and the inputs are drawn until every candidate is this far from every other one.
EVAL_APART = 1e-3


def lecture_rule(logits: torch.Tensor) -> torch.Tensor:
    return (torch.sigmoid(logits) >= 0.5).long()


# What each rule predicts from float32 logits [N]; the result is compared with the labels as the
# student's `==` would compare it.
RULES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "lecture": lecture_rule,
    "strict": lambda l: (torch.sigmoid(l) > 0.5).long(),
    "logit_half": lambda l: (l >= 0.5).long(),
    "round_logit": torch.round,
    "all_zero": lambda l: torch.zeros_like(l, dtype=torch.long),
    "all_one": lambda l: torch.ones_like(l, dtype=torch.long),
    "inverted": lambda l: (torch.sigmoid(l) < 0.5).long(),
    "probabilities": torch.sigmoid,
    "logits": lambda l: l,
}
RULE_HINTS = {
    "strict": "hint.threshold_strict", "logit_half": "hint.threshold_on_logits", "round_logit": "hint.round_logits",
    "all_zero": "hint.argmax_one_logit", "all_one": "hint.all_class_one", "inverted": "hint.classes_inverted",
    "probabilities": "hint.not_binarized", "logits": "hint.not_binarized",
}


def _batches(case: dict[str, Any]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    size = int(case["batch_size"])
    return list(zip(case["logits"].split(size), case["y"].split(size)))


def _counts(rule: str, case: dict[str, Any], broadcast: bool = False) -> list[tuple[float, int]]:
    """(correct predictions, points) per batch; with ``broadcast``, what ``==`` counts between
    predictions of shape [B, 1] and labels of shape [B] ([B, B] comparisons)."""
    found = []
    for logits, y in _batches(case):
        predicted = RULES[rule](logits).to(torch.float64)
        if broadcast:
            found.append((float((predicted[:, None] == y[None, :].double()).sum()), len(y) ** 2))
        else:
            found.append((float((predicted == y.double()).sum()), len(y)))
    return found


# How the per-batch counts become the returned number.
AVERAGES: dict[str, Callable[[list[tuple[float, int]], int], float]] = {
    "fraction": lambda c, b: sum(n for n, _ in c) / sum(s for _, s in c),
    "percentage": lambda c, b: 100 * sum(n for n, _ in c) / sum(s for _, s in c),
    "count": lambda c, b: sum(n for n, _ in c),
    "batch_mean": lambda c, b: sum(n / s for n, s in c) / len(c),
    "last_batch": lambda c, b: c[-1][0] / c[-1][1],
    "per_batch": lambda c, b: sum(n for n, _ in c) / len(c),
    "full_batches": lambda c, b: sum(n for n, _ in c) / (len(c) * b),
}
AVERAGE_HINTS = {
    "percentage": "hint.percentage", "count": "hint.count_not_fraction", "batch_mean": "hint.batch_mean",
    "last_batch": "hint.last_batch", "per_batch": "hint.divided_by_batches", "full_batches": "hint.full_batches",
}


def eval_accuracy(case: dict[str, Any], rule: str = "lecture", average: str = "fraction",
                  broadcast: bool = False) -> float:
    counts = _counts(rule, case, broadcast)
    if broadcast and average == "fraction":
        # `(pred_labels == data_labels).sum()` over [B, B], divided by the number of points.
        return sum(n for n, _ in counts) / len(case["y"])
    return AVERAGES[average](counts, int(case["batch_size"]))


def _eval_rows() -> tuple[Mistake, ...]:
    rows = []
    for rule, hint in RULE_HINTS.items():
        rows.append(Mistake.row("eval_model", hint, lambda case, r=rule: eval_accuracy(case, r)))
        if rule == "probabilities":
            continue  # never equal to a label: 0 whatever the average
        for average in ("percentage", "batch_mean"):  # a wrong rule with a wrong average: both named
            rows.append(Mistake.row("eval_model", (hint, AVERAGE_HINTS[average]),
                                    lambda case, r=rule, a=average: eval_accuracy(case, r, a)))
    for average, hint in AVERAGE_HINTS.items():
        rows.append(Mistake.row("eval_model", hint, lambda case, a=average: eval_accuracy(case, "lecture", a)))
    for average in ("fraction", "batch_mean"):
        rows.append(Mistake.row("eval_model", "hint.eval_squeeze",
                                lambda case, a=average: eval_accuracy(case, "lecture", a, broadcast=True)))
    rows.append(Mistake.row("eval_model", "hint.eval_squeeze", lambda case: sum(
        n for n, _ in _counts("lecture", case, True)) / sum(s for _, s in _counts("lecture", case, True))))
    return tuple(rows)


def same_accuracy(got: Any, candidate: float) -> bool:
    return isinstance(got, (int, float)) and abs(got - candidate) <= EVAL_MATCH * max(1.0, abs(candidate))


def _apart(values: list[float]) -> bool:
    ordered = sorted(values)
    return all(b - a > EVAL_APART * max(1.0, abs(b)) for a, b in zip(ordered, ordered[1:]))


def eval_state_and_zero_point(draw: Draw) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """A 2-4-1 model with a point ``x0`` where its float32 logit is exactly 0: weights on a grid of
    1/16 and ``x0`` on a grid of 1/8, so that ``linear1(x0)`` is computed exactly (in any order,
    on any device, even in TF32) and is 0, ``tanh(0) = 0``, and ``linear2``'s bias is 0."""
    weight1 = torch.round(draw.normal(4, 2, scale=2.0, dtype=torch.float64) * 16) / 16
    x0 = torch.round(draw.rand(2) * 8) / 8
    state = {
        "linear1.weight": weight1.to(torch.float32),
        "linear1.bias": (-(weight1 @ x0)).to(torch.float32),
        "linear2.weight": (torch.round(draw.normal(1, 4, scale=2.0, dtype=torch.float64) * 16) / 16).to(torch.float32),
        "linear2.bias": torch.zeros(1),
    }
    return state, x0.to(torch.float32)


def eval_points(draw: Draw, state, x0, logits_of) -> dict[str, Any] | None:
    """Points whose logits fall in every region between the boundaries where rules differ, plus
    copies of ``x0`` (logit exactly 0), with labels mostly right; ``None`` when the model's
    logits do not reach every region."""
    pool = draw.rand(4000, 2, low=-0.5, high=1.5).to(torch.float32)
    logits = logits_of(state, pool).squeeze(1)
    away = torch.stack([(logits - b).abs() for b in EVAL_BOUNDARIES]).min(dim=0).values > EVAL_MARGIN
    chosen = []
    for low, high in EVAL_REGIONS:
        inside = torch.nonzero(away & (logits > low) & (logits < high)).flatten()
        wanted = draw.int(5, 25)
        if len(inside) < wanted:
            return None
        pick = torch.randperm(len(inside), generator=draw.g)[:wanted]
        chosen.append(pool[inside[pick]])
    chosen.append(x0.repeat(draw.int(4, 12), 1))
    x = torch.cat(chosen)
    x = x[torch.randperm(len(x), generator=draw.g)]
    logits = logits_of(state, x).squeeze(1)
    right = lecture_rule(logits)
    flip = torch.rand(len(x), generator=draw.g) < 0.3
    y = torch.where(flip, 1 - right, right)
    batch = draw.int(12, 40)
    if len(x) % batch == 0:
        return None
    return {"x": x, "y": y, "logits": logits, "batch_size": batch}


def eval_case_is_telling(case: dict[str, Any]) -> bool:
    """Every candidate accuracy differs from the right one and from every other candidate, and
    the exact zeros tell ``>=`` from ``>``."""
    values = [eval_accuracy(case)] + [m.wrong(case) for m in EVAL_TABLE.of("eval_model")]
    accuracy = values[0]
    return 0.05 < accuracy < 0.95 and _apart(values)


# ---------------------------------------------------------------- XORDataset

def _item_signature(size: int, label: tuple[str, list[int]], point: tuple[str, list[int]] = ("float32", [2]),
                    item_label: tuple[str, list[int]] | None = None) -> dict[str, tuple[str, list[int]]]:
    return {"label": label, "item_point": point, "item_label": item_label or (label[0], [])}


DATASET_ROWS = (
    # __getitem__ returns (label, point): the attributes are right, the pair is swapped.
    Mistake.row("XORDataset.items", "hint.item_order", lambda size: _item_signature(
        size, ("int64", [size]), point=("int64", []), item_label=("float32", [2]))),
    Mistake.row("XORDataset.items", "hint.label_long", lambda size: _item_signature(size, ("float32", [size]))),
    Mistake.row("XORDataset.items", "hint.label_long", lambda size: _item_signature(size, ("bool", [size]))),
    Mistake.row("XORDataset.batches", "hint.item_order", lambda b: [("int64", [b]), ("float32", [b, 2])]),
    Mistake.row("XORDataset.batches", "hint.label_long", lambda b: [("float32", [b, 2]), ("float32", [b])]),
    Mistake.row("XORDataset.batches", "hint.label_long", lambda b: [("float32", [b, 2]), ("bool", [b])]),
    # torch.randint(high=1): every corner is (0, 0).
    Mistake.row("XORDataset.corners", "hint.randint_high", lambda size: [size, 0, 0, 0]),
    # Labels of another Boolean function of the corner.
    Mistake.row("XORDataset.labels", "hint.labels_and", lambda corners: (corners.sum(dim=1) == 2).long()),
    Mistake.row("XORDataset.labels", "hint.labels_or", lambda corners: (corners.sum(dim=1) >= 1).long()),
    Mistake.row("XORDataset.labels", "hint.labels_inverted", lambda corners: (corners.sum(dim=1) != 1).long()),
    # Noise: none at all, or a fixed 0.1 whatever `std` says.
    Mistake.row("XORDataset.noise", "hint.no_noise", lambda stds: [0.0 for _ in stds]),
    Mistake.row("XORDataset.noise", "hint.std_ignored", lambda stds: [stds[0] for _ in stds]),
)


def same_items(got: dict[str, Any], candidate: dict[str, tuple[str, list[int]]]) -> bool:
    return all(_dtype_shape(got.get(key)) == want for key, want in candidate.items())


def same_batch(got: Any, candidate: list[tuple[str, list[int]]]) -> bool:
    return isinstance(got, list) and [_dtype_shape(p) for p in got] == candidate


def _dtype_shape(description: Any) -> tuple[str, list[int]] | None:
    if isinstance(description, dict) and description.get("kind") == "tensor":
        return description.get("dtype"), description.get("shape")
    return None


def same_counts(got: list[int], candidate: list[int]) -> bool:
    return list(got) == list(candidate)


def mostly_same_labels(got: torch.Tensor, candidate: torch.Tensor) -> bool:
    return got.shape == candidate.shape and float((got.long() != candidate).double().mean()) <= 0.005


def same_noise(got: list[float], candidate: list[float]) -> bool:
    return len(got) == len(candidate) and all(abs(g - c) <= max(0.15 * c, 0.005) for g, c in zip(got, candidate))


# ---------------------------------------------------------------- ClasificadorSimple

def _forward(state: dict[str, torch.Tensor], x: torch.Tensor, hidden=torch.tanh, output=lambda z: z) -> torch.Tensor:
    h = hidden(x @ state["linear1.weight"].T + state["linear1.bias"])
    return output(h @ state["linear2.weight"].T + state["linear2.bias"])


def _swapped_layers(parameters: list) -> list | None:
    """The reference's [name, shape] list with linear1's and linear2's shapes exchanged."""
    shapes = {name: shape for name, shape in parameters}
    if set(shapes) != {"linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"}:
        return None
    swap = {"linear1.weight": "linear2.weight", "linear1.bias": "linear2.bias",
            "linear2.weight": "linear1.weight", "linear2.bias": "linear1.bias"}
    return [[name, list(shapes[swap[name]])] for name, _ in parameters]


MODEL_ROWS = (
    Mistake.row("ClasificadorSimple.forward", "hint.no_activation",
                lambda state, x: _forward(state, x, hidden=lambda z: z)),
    Mistake.row("ClasificadorSimple.forward", "hint.hidden_sigmoid",
                lambda state, x: _forward(state, x, hidden=torch.sigmoid)),
    Mistake.row("ClasificadorSimple.forward", "hint.hidden_relu", lambda state, x: _forward(state, x, hidden=torch.relu)),
    Mistake.row("ClasificadorSimple.forward", "hint.logits", lambda state, x: _forward(state, x, output=torch.sigmoid)),
    Mistake.row("ClasificadorSimple.parameters", "hint.layers_swapped", _swapped_layers),
)


def same_tensor(tolerance: Tolerance) -> Callable[[Any, torch.Tensor], bool]:
    def same(got: Any, candidate: torch.Tensor) -> bool:
        return isinstance(got, torch.Tensor) and compare(got, candidate, tolerance) is None
    return same


# ---------------------------------------------------------------- train_model

def lecture_training(inputs: dict[str, Any], before_loss=lambda preds: preds) -> dict[str, torch.Tensor]:
    """The lecture's loop, written here (not the reference's), on the grader's model and data;
    ``before_loss`` is what the logits go through before the loss."""
    import torch.nn as nn
    import torch.utils.data as tud

    state = {k: v.clone() for k, v in inputs["train_state"].items()}
    params = [state[n].requires_grad_(True) for n in ("linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias")]
    optimizer = torch.optim.SGD(params, lr=float(inputs["train_lr"]))
    loss_module = nn.BCEWithLogitsLoss()
    loader = tud.DataLoader(tud.TensorDataset(inputs["train_x"], inputs["train_y"]),
                            batch_size=int(inputs["train_batch_size"]), shuffle=False)
    for _ in range(int(inputs["train_epochs"])):
        for x, y in loader:
            hidden = torch.tanh(torch.nn.functional.linear(x, state["linear1.weight"], state["linear1.bias"]))
            preds = torch.nn.functional.linear(hidden, state["linear2.weight"], state["linear2.bias"]).squeeze(dim=1)
            optimizer.zero_grad()
            loss_module(before_loss(preds), y.float()).backward()
            optimizer.step()
    return {k: v.detach() for k, v in state.items()}


def same_state(got: dict[str, Any], candidate: dict[str, torch.Tensor]) -> bool:
    from grader.trusted.compare import FLOAT32

    return all(isinstance(got.get(k), torch.Tensor) and compare(got[k], v, FLOAT32) is None
               for k, v in candidate.items())


TRAIN_ROWS = (
    # Nothing learnt although step() ran: it ran before backward(), or zero_grad() between them.
    Mistake.row("train_model", "hint.step_order", lambda inputs: inputs["train_state"]),
    # BCEWithLogitsLoss given probabilities: the sigmoid applied twice.
    Mistake.row("train_model", "hint.sigmoid_before_loss", lambda inputs: lecture_training(inputs, torch.sigmoid)),
)


EVAL_TABLE = Table(_eval_rows(), look={"eval_model": "look.eval_model"})
TABLE = Table(EVAL_TABLE.rows + DATASET_ROWS + MODEL_ROWS + TRAIN_ROWS,
              look={"eval_model": "look.eval_model", "ClasificadorSimple.forward": "look.forward",
                    "train_model": "look.train_model"})
