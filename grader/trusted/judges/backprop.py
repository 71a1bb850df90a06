"""Judge of the backprop exercise: cases drawn at grading time, reference answers checked against
autograd (and backprop against finite differences), verdicts with hints for known mistakes."""

from __future__ import annotations

import math

from typing import Any, Callable

import torch

from grader.oracles.backprop import ORACLES, network_loss
from grader.trusted.artifacts import Artifact
from grader.trusted.judges.autograd_code import autograd_in_code
from grader.trusted.compare import FLOAT64, Tolerance, compare, shape_text
from grader.trusted.judges.contract import Judge
from grader.trusted.judges.draws import Draw
from grader.trusted.judges.evidence import error_messages, exception_messages, mismatch_message
from grader.trusted.judges.mistakes import Mistake, Table, diagnose
from grader.trusted.results import Figure, Message, Verdict

ASSIGNMENT = "backprop"
FUNCTIONS = ("sigmoid", "sigmoid_prime", "mse_loss", "mse_loss_grad", "output_delta", "hidden_delta",
             "layer_gradients", "backprop")
PROBES = FUNCTIONS + ("backprop_own_helpers", "backprop_training")
ARGUMENTS = {
    "sigmoid": ("z",), "sigmoid_prime": ("z",), "mse_loss": ("a", "y"), "mse_loss_grad": ("a", "y"),
    "output_delta": ("z_L", "a_L", "y"), "hidden_delta": ("W_next", "delta_next", "z"),
    "layer_gradients": ("delta", "a_prev"), "backprop": ("params", "x", "y"),
}
PARAMETERS = ("W1", "b1", "W2", "b2")
# Layer sizes (n_in, n_hidden, n_out) of the drawn networks: the lecture's 2-3-1 with a batch of one
# and a larger batch, a 4-5-2, and a square 3-3-3, where a missing transpose keeps every shape.
FIXED_NETWORKS = ((2, 3, 1), (2, 3, 1), (4, 5, 2), (3, 3, 3))
# exp overflows float64 beyond 709.78, and its square beyond 354.9: both sides of both are here.
EXTREME_Z = torch.tensor([[-900.0, -720.0, -400.0, 400.0, 720.0, 900.0]], dtype=torch.float64)
FINITE_DIFFERENCES = Tolerance(rtol=1e-5, atol=1e-7)
FD_STEP = 1e-6
CLOSE_TO_MISTAKE = Tolerance(rtol=1e-6, atol=1e-9)
# backprop_training: the grader's gradient descent on XOR. Sizes, step and epochs were chosen so
# that the reference reaches 100 % on every drawn data set (bench/backprop_training_pass_rate.py).
TRAINING_SIZES = (2, 8, 1)
TRAINING_INIT_SEED = 0
TRAINING_LR = 5.0
TRAINING_EPOCHS = 400
TRAINING_POINTS = 64
TEST_POINTS = 500
ACCURACY_THRESHOLD = 0.95

CellOf = Callable[[int], "int | None"]


# ---------------------------------------------------------------- inputs drawn at grading time

def _network(draw: Draw, sizes, batch: int, scale: float = 1.0) -> list:
    n_in, n_hidden, n_out = sizes
    params = {
        "W1": draw.normal(n_hidden, n_in, scale=1.5 * scale, dtype=torch.float64),
        "b1": draw.normal(n_hidden, scale=scale, dtype=torch.float64),
        "W2": draw.normal(n_out, n_hidden, scale=1.5 * scale, dtype=torch.float64),
        "b2": draw.normal(n_out, scale=scale, dtype=torch.float64),
    }
    return [params, draw.normal(batch, n_in, scale=2.0, dtype=torch.float64), draw.rand(batch, n_out)]


def _layers(params, x) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    z1 = x @ params["W1"].T + params["b1"]
    a1 = torch.sigmoid(z1)
    z2 = a1 @ params["W2"].T + params["b2"]
    return z1, a1, z2, torch.sigmoid(z2)


def xor_points(draw: Draw, n: int, std: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    corners = torch.randint(0, 2, (n, 2), generator=draw.g).to(torch.float64)
    labels = (corners.sum(dim=1) == 1).to(torch.float64).unsqueeze(1)
    return corners + draw.normal(n, 2, scale=std, dtype=torch.float64), labels


def training_init() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(TRAINING_INIT_SEED)
    n_in, n_hidden, n_out = TRAINING_SIZES
    shapes = {"W1": (n_hidden, n_in), "b1": (n_hidden,), "W2": (n_out, n_hidden), "b2": (n_out,)}
    return {name: torch.randn(*shape, generator=g, dtype=torch.float64) for name, shape in shapes.items()}


def draw_inputs(seed: int, device: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(inputs the kernel gets, inputs kept hidden from it), all drawn from ``seed``. Everything
    runs on the CPU in float64: the exercise is about formulas, not devices."""
    draw = Draw(seed)
    networks = list(FIXED_NETWORKS) + [(draw.int(2, 6), draw.int(2, 7), draw.int(1, 4))]
    batches = [1] + [draw.int(2, 12) for _ in networks[1:]]
    nets = [_network(draw, sizes, batch) for sizes, batch in zip(networks, batches)]
    cases: dict[str, list] = {}
    b = batches
    cases["sigmoid"] = [[draw.normal(1, 3, scale=3.0, dtype=torch.float64)],
                        [draw.normal(b[1], 5, scale=3.0, dtype=torch.float64)],
                        [draw.rand(b[2], 4, low=-30.0, high=30.0)],
                        [draw.normal(7, scale=4.0, dtype=torch.float64)]]
    cases["sigmoid_prime"] = [[draw.normal(1, 3, scale=3.0, dtype=torch.float64)],
                              [draw.normal(b[1], 5, scale=3.0, dtype=torch.float64)],
                              [draw.rand(b[2], 4, low=-30.0, high=30.0)],
                              [draw.normal(7, scale=4.0, dtype=torch.float64)]]
    outputs = [_layers(params, x)[3] for params, x, _ in nets]
    cases["mse_loss"] = [[a, y] for a, (_, _, y) in zip(outputs, nets)]
    cases["mse_loss_grad"] = [[a, draw.rand(*a.shape)] for a in outputs]
    cases["output_delta"] = []
    cases["hidden_delta"] = []
    cases["layer_gradients"] = []
    for params, x, y in nets:
        z1, a1, z2, a2 = _layers(params, x)
        cases["output_delta"].append([z2, a2, y])
        cases["hidden_delta"].append([params["W2"], draw.normal(*z2.shape, dtype=torch.float64), z1])
        cases["layer_gradients"].append([draw.normal(*z1.shape, dtype=torch.float64), x])
    cases["backprop"] = nets
    extreme_z = torch.cat([EXTREME_Z, draw.rand(2, 6, low=200.0, high=800.0),
                           -draw.rand(2, 6, low=200.0, high=800.0), draw.normal(1, 6, dtype=torch.float64)])
    z_out = torch.cat([EXTREME_Z.view(3, 2), draw.rand(1, 2, low=200.0, high=800.0),
                       -draw.rand(1, 2, low=200.0, high=800.0)])
    extreme = {
        "sigmoid": [[extreme_z]],
        "sigmoid_prime": [[extreme_z.clone()]],
        "output_delta": [[z_out, torch.sigmoid(z_out), draw.rand(*z_out.shape)]],
        "hidden_delta": [[draw.normal(2, 6, dtype=torch.float64),
                          draw.normal(len(extreme_z), 2, dtype=torch.float64), extreme_z.clone()]],
        "backprop": [_network(draw, (2, 3, 1), 4, scale=100.0)],
    }
    train_x, train_y = xor_points(draw, TRAINING_POINTS)
    test_x, test_y = xor_points(draw, TEST_POINTS)
    inputs = {
        "seed": seed,
        "cases": cases,
        "extreme": extreme,
        "train": {"init": training_init(), "x": train_x, "y": train_y, "lr": TRAINING_LR,
                  "epochs": TRAINING_EPOCHS},
    }
    return inputs, {"test_x": test_x, "test_y": test_y}


# ---------------------------------------------------------------- what the reference expects

class ReferenceDisagrees(RuntimeError):
    """The reference notebook and autograd (or finite differences) give different answers."""


def expected(inputs: dict[str, Any], ref) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for name in FUNCTIONS:
        results = []
        for index, arguments in enumerate(inputs["cases"][name]):
            got = _as_parts(name, getattr(ref, name)(*_copies(arguments)))
            truth = _as_parts(name, ORACLES[name](*_copies(arguments)))
            for part, value in truth.items():
                if compare(got.get(part), value, FLOAT64) is not None:
                    raise ReferenceDisagrees(f"reference {name} case {index} part {part} differs from autograd")
            results.append(got)
        answers[name] = results
    for name, cases in inputs["extreme"].items():
        for index, arguments in enumerate(cases):
            parts = _as_parts(name, getattr(ref, name)(*_copies(arguments)))
            if not all(bool(torch.isfinite(value).all()) for value in parts.values()):
                raise ReferenceDisagrees(f"reference {name} is not finite on extreme case {index}")
    answers["finite_differences"] = []
    for index, (params, x, y) in enumerate(inputs["cases"]["backprop"]):
        numeric = finite_differences(params, x, y)
        for part, value in numeric.items():
            if compare(answers["backprop"][index][part], value, FINITE_DIFFERENCES) is not None:
                raise ReferenceDisagrees(f"reference backprop case {index} {part} differs from finite differences")
        answers["finite_differences"].append(numeric)
    return answers


def _copies(arguments: list) -> list:
    return [{k: v.clone() for k, v in a.items()} if isinstance(a, dict) else a.clone() for a in arguments]


def _as_parts(name: str, result) -> dict[str, torch.Tensor]:
    if name == "layer_gradients":
        return {"dW": result[0], "db": result[1]}
    if name == "backprop":
        return {key: result[key] for key in PARAMETERS}
    return {"out": result}


def finite_differences(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Central differences of the network's loss, one parameter entry at a time."""
    grads = {}
    for name in PARAMETERS:
        grad = torch.zeros_like(params[name])
        flat = grad.view(-1)
        for i in range(flat.numel()):
            shifted = {k: v.clone() for k, v in params.items()}
            shifted[name].view(-1)[i] += FD_STEP
            up = float(network_loss(shifted, x, y))
            shifted[name].view(-1)[i] -= 2 * FD_STEP
            down = float(network_loss(shifted, x, y))
            flat[i] = (up - down) / (2 * FD_STEP)
        grads[name] = grad
    return grads


# ---------------------------------------------------------------- verdicts

def judge(artifacts: dict[str, Artifact], inputs: dict[str, Any], hidden: dict[str, Any],
          answers: dict[str, Any], cell_of: CellOf) -> list[Verdict]:
    """``hidden["notebook_code"]``, the notebook's code cells as the grader read them, is where the
    judge looks for autograd itself (see autograd_code)."""
    static = autograd_in_code(hidden.get("notebook_code", ()), FUNCTIONS)
    # The probe's own observation can only add to what the code shows, never clear it.
    autograd = {name: bool(static[name]) or artifacts[name].values.get("autograd") is True for name in FUNCTIONS}
    autograd["backprop_training"] = bool(static["backprop"]) or \
        artifacts["backprop_training"].values.get("autograd") is True
    judged: list[tuple[str, Verdict]] = []
    for name in FUNCTIONS[:-2]:
        judged.append((name, _judge_function(name, f"{name}_matches_reference", artifacts[name], inputs,
                                             answers, cell_of, parts=("out",), autograd=autograd[name])))
    for check, part in (("layer_gradients_weight_gradient", "dW"), ("layer_gradients_bias_gradient", "db")):
        judged.append(("layer_gradients", _judge_function("layer_gradients", check, artifacts["layer_gradients"],
                                                          inputs, answers, cell_of, parts=(part,),
                                                          autograd=autograd["layer_gradients"])))
    failed_helpers = sorted({function for function, verdict in judged if not verdict.passed},
                            key=FUNCTIONS.index)
    verdicts = [verdict for _, verdict in judged]
    verdicts += _judge_backprop(artifacts["backprop"], artifacts["backprop_own_helpers"], inputs, answers, cell_of,
                                failed_helpers, autograd["backprop"])
    verdicts.append(_judge_training(artifacts["backprop_training"], inputs, hidden, cell_of,
                                    autograd["backprop_training"]))
    return verdicts


def _call_text(name: str, arguments: list) -> str:
    shown = []
    for label, value in zip(ARGUMENTS[name], arguments):
        if isinstance(value, dict):
            sizes = (value["W1"].shape[1], value["W1"].shape[0], value["W2"].shape[0])
            shown.append(f"{label} {'-'.join(str(n) for n in sizes)}")
        else:
            shown.append(f"{label} {shape_text(value.shape)}")
    return f"{name}({', '.join(shown)})"


def _outcomes(artifact: Artifact, prefix: str) -> list[dict]:
    found = artifact.values.get(prefix)
    return [o if isinstance(o, dict) else {} for o in found] if isinstance(found, list) else []


def _student_parts(name: str, artifact: Artifact, key: str, outcome: dict) -> tuple[dict[str, Any], list[Message]]:
    """The student's result split like the reference's, or why it cannot be."""
    result = outcome.get("result") if isinstance(outcome.get("result"), dict) else {}
    kind = str(result.get("kind", "?"))
    if name == "layer_gradients":
        if kind not in ("tuple", "list") or result.get("len") != 2:
            return {}, [Message("not_pair", {"got": kind, "length": result.get("len", "-")})]
        return {"dW": artifact.tensors.get(f"{key}.0"), "db": artifact.tensors.get(f"{key}.1")}, []
    if name == "backprop":
        if kind != "dict":
            return {}, [Message("not_dict", {"got": kind})]
        return {p: artifact.tensors.get(f"{key}.{p}") for p in PARAMETERS}, []
    if kind == "ndarray":
        return {}, [Message("numpy_result", {"function": name})]
    number = kind in ("float", "int") and name == "mse_loss"  # a Python number is a fine scalar loss
    if not (result.get("tensor") is True or number) or key not in artifact.tensors:
        return {}, [Message("not_tensor", {"function": name, "got": kind})]
    return {"out": artifact.tensors[key]}, []


def _judge_function(name: str, check: str, artifact: Artifact, inputs, answers, cell_of: CellOf,
                    parts: tuple[str, ...], autograd: bool = False) -> Verdict:
    """Every case of ``name`` against the reference, reporting the first that fails."""
    if not artifact.ok:
        return Verdict(check, False, error_messages(artifact, name, cell_of), _stability_advice(name, artifact, inputs))
    cases, outcomes = inputs["cases"][name], _outcomes(artifact, "case")
    failures: list[list[Message]] = []
    for index, arguments in enumerate(cases):
        outcome = outcomes[index] if index < len(outcomes) else {}
        problem = _case_problem(name, artifact, f"case{index}", outcome, arguments, answers[name][index],
                                parts, cell_of)
        if problem:
            failures.append(problem)
    messages: list[Message] = []
    if autograd:
        messages.append(Message("uses_autograd", {"function": name}))
    messages += _first_failure(name, failures, len(cases))
    return Verdict(check, not messages, messages, _stability_advice(name, artifact, inputs))


def _first_failure(name: str, failures: list[list[Message]], total: int) -> list[Message]:
    """The first failing case in full, plus the hints that only later cases revealed (a missing
    transpose raises on most shapes and only shows as a wrong value on a square one)."""
    if not failures:
        return []
    messages = [Message("cases_failed", {"function": name, "failed": len(failures), "total": total})]
    messages += failures[0]
    for failure in failures[1:]:
        messages += [m for m in failure if m.key.startswith("hint.") and m not in messages]
    if any(m.key.startswith("hint.") for m in messages):  # named: no need to say how to look
        messages = [m for m in messages if not m.key.startswith("look.")]
    return messages


def _case_problem(name: str, artifact: Artifact, key: str, outcome: dict, arguments: list,
                  want: dict[str, torch.Tensor], parts: tuple[str, ...], cell_of: CellOf,
                  tolerance: Tolerance = FLOAT64) -> list[Message]:
    call = Message("case_call", {"call": _call_text(name, arguments)})
    if "error" in outcome:
        return [call] + exception_messages(outcome["error"], name, cell_of)
    if "result" not in outcome:
        return [call, Message("case_not_run")]
    got, problems = _student_parts(name, artifact, key, outcome)
    if problems:
        return [call] + problems
    for part in parts:
        mismatch = compare(got.get(part), want[part], tolerance, check_dtype=True)
        if mismatch is not None:
            what = name if part == "out" else f"{name}: {part}"
            return [call, mismatch_message(mismatch, what)] + _hints(name, part, arguments, got.get(part), want)
    return []


def _stability_advice(name: str, artifact: Artifact, inputs) -> list[Message]:
    """Advice, never points: what happens at |z| in the hundreds, for a function that runs on the
    ordinary cases (when it does not, the student has more pressing feedback)."""
    cases = inputs["extreme"].get(name)
    if not cases or artifact.values.get("extreme") is None:
        return []
    if not all("result" in outcome for outcome in _outcomes(artifact, "case")):
        return []
    for index, (arguments, outcome) in enumerate(zip(cases, _outcomes(artifact, "extreme"))):
        call = _call_text(name, arguments)
        if "error" in outcome:
            return [Message("advice.unstable_raised", {"call": call, "type": str(outcome["error"].get("type", ""))
                                                       if isinstance(outcome["error"], dict) else ""})]
        found = [t for k, t in artifact.tensors.items() if k == f"extreme{index}" or k.startswith(f"extreme{index}.")]
        if any(t.is_floating_point() and not bool(torch.isfinite(t).all()) for t in found):
            return [Message("advice.unstable", {"call": call})]
    return []


# ---------------------------------------------------------------- hints for known mistakes

def _hints(name: str, part: str, arguments: list, got, want: dict[str, torch.Tensor],
           look: bool = True) -> list[Message]:
    """The hint of the known mistake whose result the wrong answer equals on the same inputs
    (see grader.trusted.judges.mistakes), or how to look for the difference."""
    if not isinstance(got, torch.Tensor) or not got.is_floating_point():
        return []
    return diagnose(MISTAKES, _judged(name, part), got.to(torch.float64), _close_to_mistake, arguments, want,
                    params={"function": name}, look=look)


def _judged(name: str, part: str) -> str:
    return name if part == "out" else f"{name}.{part}"


def _close_to_mistake(got: torch.Tensor, candidate: torch.Tensor) -> bool:
    return tuple(candidate.shape) == tuple(got.shape) and compare(got, candidate, CLOSE_TO_MISTAKE) is None


def _sigmoid_prime_typo(z: torch.Tensor) -> torch.Tensor:
    a = torch.sigmoid(z)
    return a * z * (1 - a)


def _hidden_delta_with(prime) -> Callable:
    return lambda args, want: (args[1] @ args[0]) * prime(args[2])


def _backprop_rows() -> tuple[Mistake, ...]:
    rows = []
    for part in PARAMETERS:
        judged = f"backprop.{part}"
        rows += [
            Mistake.row(judged, "hint.slide_typo", lambda args, want, p=part: _backprop_with(*args, _sigmoid_prime_typo)[p]),
            Mistake.row(judged, "hint.flipped_sign", lambda args, want, p=part: -want[p]),
            Mistake.row(judged, "hint.transpose", lambda args, want, p=part: want[p].T if want[p].dim() == 2 else None),
            Mistake.row(judged, "hint.mean_not_sum", lambda args, want, p=part: want[p] / len(args[1])),
        ]
        if part.startswith("b"):
            rows.append(Mistake.row(judged, "hint.bias_not_summed",
                                    lambda args, want, p=part: _backprop_deltas(*args)[p]))
    return tuple(rows)


def _backprop_deltas(params, x, y) -> dict[str, torch.Tensor]:
    """Each layer's delta, as a bias gradient that was not summed over the batch."""
    z1, a1, z2, a2 = _layers(params, x)
    delta2 = (a2 - y) * a2 * (1 - a2)
    return {"b2": delta2, "b1": (delta2 @ params["W2"]) * a1 * (1 - a1)}


S = torch.sigmoid
# The backprop exercise's known mistakes: each row computes, from a case's arguments and the
# reference's answer, what a function with that mistake returns.
MISTAKES = Table((
    Mistake.row("sigmoid", "hint.sigmoid_sign", lambda args, want: S(-args[0])),
    Mistake.row("sigmoid_prime", "hint.slide_typo", lambda args, want: _sigmoid_prime_typo(args[0])),
    Mistake.row("sigmoid_prime", "hint.prime_takes_z", lambda args, want: args[0] * (1 - args[0])),
    Mistake.row("sigmoid_prime", "hint.prime_is_sigmoid", lambda args, want: S(args[0])),
    Mistake.row("mse_loss", "hint.mse_half", lambda args, want: ((args[1] - args[0]) ** 2).sum()),
    Mistake.row("mse_loss", "hint.mean_not_sum", lambda args, want: 0.5 * ((args[1] - args[0]) ** 2).mean()),
    Mistake.row("mse_loss", "hint.mean_not_sum", lambda args, want: ((args[1] - args[0]) ** 2).mean()),
    Mistake.row("mse_loss", "hint.mean_not_sum", lambda args, want: 0.5 * ((args[1] - args[0]) ** 2).sum() / len(args[0])),
    Mistake.row("mse_loss_grad", "hint.flipped_sign", lambda args, want: args[1] - args[0]),
    Mistake.row("mse_loss_grad", "hint.factor_two", lambda args, want: 2 * (args[0] - args[1])),
    Mistake.row("mse_loss_grad", "hint.mean_not_sum", lambda args, want: (args[0] - args[1]) / len(args[0])),
    Mistake.row("mse_loss_grad", "hint.mean_not_sum", lambda args, want: (args[0] - args[1]) / args[0].numel()),
    Mistake.row("output_delta", "hint.flipped_sign", lambda args, want: -want["out"]),
    Mistake.row("output_delta", "hint.slide_typo", lambda args, want: (args[1] - args[2]) * args[1] * args[0] * (1 - args[1])),
    Mistake.row("output_delta", "hint.prime_of_activation",
                lambda args, want: (args[1] - args[2]) * S(args[1]) * (1 - S(args[1]))),
    Mistake.row("output_delta", "hint.missing_prime", lambda args, want: args[1] - args[2]),
    Mistake.row("hidden_delta", "hint.transpose", lambda args, want: (args[1] @ args[0].T) * S(args[2]) * (1 - S(args[2]))
                if args[0].shape[0] == args[0].shape[1] else None),
    Mistake.row("hidden_delta", "hint.flipped_sign", lambda args, want: -want["out"]),
    Mistake.row("hidden_delta", "hint.missing_prime", lambda args, want: args[1] @ args[0]),
    Mistake.row("hidden_delta", "hint.slide_typo", _hidden_delta_with(_sigmoid_prime_typo)),
    Mistake.row("hidden_delta", "hint.prime_of_activation", lambda args, want: (args[1] @ args[0]) * S(S(args[2])) * (1 - S(S(args[2])))),
    Mistake.row("layer_gradients.dW", "hint.transpose", lambda args, want: args[1].T @ args[0]),
    Mistake.row("layer_gradients.dW", "hint.flipped_sign", lambda args, want: -want["dW"]),
    Mistake.row("layer_gradients.dW", "hint.mean_not_sum", lambda args, want: want["dW"] / len(args[0])),
    Mistake.row("layer_gradients.db", "hint.bias_not_summed", lambda args, want: args[0]),
    Mistake.row("layer_gradients.db", "hint.bias_not_summed", lambda args, want: args[0].sum(dim=1)),
    Mistake.row("layer_gradients.db", "hint.flipped_sign", lambda args, want: -want["db"]),
    Mistake.row("layer_gradients.db", "hint.mean_not_sum", lambda args, want: want["db"] / len(args[0])),
) + _backprop_rows(), look={name: "look.backprop_values" for name in FUNCTIONS})


def _backprop_with(params, x, y, prime) -> dict[str, torch.Tensor]:
    z1, a1, z2, a2 = _layers(params, x)
    delta2 = (a2 - y) * prime(z2)
    delta1 = (delta2 @ params["W2"]) * prime(z1)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": delta2.T @ a1, "b2": delta2.sum(0)}


# ---------------------------------------------------------------- backprop and its training

def _judge_backprop(artifact: Artifact, own: Artifact, inputs, answers, cell_of: CellOf,
                    failed_helpers: list[str], uses_autograd: bool = False) -> list[Verdict]:
    names = ("backprop_gradient_keys_and_shapes", "backprop_matches_reference",
             "backprop_matches_finite_differences")
    advice = _stability_advice("backprop", artifact, inputs)
    if not artifact.ok:
        messages = error_messages(artifact, "backprop", cell_of)
        return [Verdict(name, False, messages, advice if name == names[0] else []) for name in names]
    cases, outcomes = inputs["cases"]["backprop"], _outcomes(artifact, "case")
    shape_fail: list[list[Message]] = []
    value_fail: list[list[Message]] = []
    fd_fail: list[list[Message]] = []
    for index, arguments in enumerate(cases):
        outcome = outcomes[index] if index < len(outcomes) else {}
        key = f"case{index}"
        shapes = _backprop_shape_problem(artifact, key, outcome, arguments, answers["backprop"][index], cell_of)
        if shapes:
            shape_fail.append(shapes)
        values = _case_problem("backprop", artifact, key, outcome, arguments, answers["backprop"][index],
                               PARAMETERS, cell_of)
        if values:
            value_fail.append(values + _layer_hint(artifact, key, answers["backprop"][index]))
        numeric = _case_problem("backprop", artifact, key, outcome, arguments, answers["finite_differences"][index],
                                PARAMETERS, cell_of, tolerance=FINITE_DIFFERENCES)
        if numeric:
            fd_fail.append(numeric)
    autograd = [Message("uses_autograd", {"function": "backprop"})] if uses_autograd else []

    def verdict(name: str, failures: list[list[Message]], extra: list[Message]) -> Verdict:
        messages = autograd + _first_failure("backprop", failures, len(cases))
        return Verdict(name, not messages, messages, extra)

    own_advice = _own_helpers_advice(own, answers, failed_helpers) if not value_fail else []
    mutated = [Message("advice.params_modified")] if any(
        0 in o.get("changed_inputs", []) for o in outcomes if isinstance(o.get("changed_inputs"), list)) else []
    values_verdict = verdict(names[1], value_fail, own_advice + mutated)
    if not values_verdict.passed:
        values_verdict.figures = _gradient_error_figure(artifact, cases, answers["backprop"])
    return [verdict(names[0], shape_fail, advice), values_verdict, verdict(names[2], fd_fail, [])]


def _gradient_error_figure(artifact: Artifact, cases: list, want: list[dict[str, torch.Tensor]]) -> list[Figure]:
    """Relative error per case and parameter, for the report's heatmap; None where no tensor of
    the right shape came back."""
    rows, errors = [], []
    for index, arguments in enumerate(cases):
        params, x = arguments[0], arguments[1]
        sizes = "-".join(str(n) for n in (params["W1"].shape[1], params["W1"].shape[0], params["W2"].shape[0]))
        rows.append(f"{index + 1}: {sizes}, B={x.shape[0]}")
        row = []
        for name in PARAMETERS:
            got, expected = artifact.tensors.get(f"case{index}.{name}"), want[index][name]
            if not isinstance(got, torch.Tensor) or got.shape != expected.shape or not got.is_floating_point():
                row.append(None)
                continue
            error = float((got.double() - expected).abs().max() / expected.abs().max().clamp_min(1e-12))
            row.append(error if math.isfinite(error) else 1e3)
        errors.append(row)
    return [Figure("gradient_errors", {"cases": rows, "parameters": list(PARAMETERS), "errors": errors})]


def _backprop_shape_problem(artifact: Artifact, key: str, outcome: dict, arguments: list,
                            want: dict[str, torch.Tensor], cell_of: CellOf) -> list[Message]:
    call = Message("case_call", {"call": _call_text("backprop", arguments)})
    if "error" in outcome:
        return [call] + exception_messages(outcome["error"], "backprop", cell_of)
    got, problems = _student_parts("backprop", artifact, key, outcome)
    if problems:
        return [call] + problems
    result = outcome.get("result", {})
    keys = result.get("keys") if isinstance(result.get("keys"), list) else []
    if sorted(str(k) for k in keys) != sorted(PARAMETERS):
        return [call, Message("gradient_keys", {"got": ", ".join(str(k) for k in keys) or "-",
                                                "expected": ", ".join(PARAMETERS)})]
    params = arguments[0]
    for name in PARAMETERS:
        tensor = got.get(name)
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != tuple(params[name].shape):
            shown = shape_text(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            messages = [call, Message("gradient_shape", {"param": name, "got": shown,
                                                         "expected": shape_text(params[name].shape)})]
            return messages + _hints("backprop", name, arguments, tensor, want, look=False)
    return []


def _layer_hint(artifact: Artifact, key: str, want: dict[str, torch.Tensor]) -> list[Message]:
    """Output layer right and hidden layer wrong: the mistake is in propagating delta back."""
    got = {name: artifact.tensors.get(f"{key}.{name}") for name in PARAMETERS}
    right = {name: compare(got[name], want[name], FLOAT64) is None for name in PARAMETERS}
    # A gradient that is not there at all is a missing key (said elsewhere), not a wrong layer.
    present = all(isinstance(got[name], torch.Tensor) for name in ("W1", "b1"))
    if present and right["W2"] and right["b2"] and not (right["W1"] and right["b1"]):
        return [Message("hint.backprop_hidden_layer")]
    return []


def _own_helpers_advice(artifact: Artifact, answers, failed_helpers: list[str]) -> list[Message]:
    """backprop is right with the grader's helpers; is it also right with the student's own?"""
    outcomes = _outcomes(artifact, "own") if artifact.ok else []
    if not outcomes:
        return []
    outcome, want = outcomes[0], answers["backprop"][-1]
    wrong = "error" in outcome or any(
        compare(artifact.tensors.get(f"own0.{name}"), want[name], FLOAT64) is not None for name in PARAMETERS)
    if not wrong:
        return []
    if failed_helpers:
        return [Message("advice.own_helpers_wrong", {"functions": ", ".join(f"`{f}`" for f in failed_helpers)})]
    return [Message("advice.own_helpers_differ")]


def _judge_training(artifact: Artifact, inputs, hidden, cell_of: CellOf, uses_autograd: bool = False) -> Verdict:
    name = "backprop_training_reaches_accuracy"
    if not artifact.ok:
        return Verdict(name, False, error_messages(artifact, "backprop", cell_of))
    messages: list[Message] = []
    if uses_autograd:
        messages.append(Message("uses_autograd", {"function": "backprop"}))
    problem = artifact.values.get("problem")
    if isinstance(problem, dict):
        return Verdict(name, False, messages + [_training_problem(problem)])
    params = {p: artifact.tensors.get(f"final.{p}") for p in PARAMETERS}
    init = inputs["train"]["init"]
    if any(not isinstance(params[p], torch.Tensor) or params[p].shape != init[p].shape
           or not params[p].is_floating_point() for p in PARAMETERS):
        return Verdict(name, False, messages + [Message("training_no_parameters")])
    if not all(bool(torch.isfinite(params[p]).all()) for p in PARAMETERS):
        return Verdict(name, False, messages + [Message("training_not_finite")])
    with torch.no_grad():
        output = _layers({p: v.to(torch.float64) for p, v in params.items()}, hidden["test_x"])[3]
    accuracy = float(((output >= 0.5).to(torch.float64) == hidden["test_y"]).to(torch.float64).mean())
    details = {"accuracy": f"{100 * accuracy:.2f}", "threshold": f"{100 * ACCURACY_THRESHOLD:.0f}",
               "n": len(hidden["test_y"]), "epochs": TRAINING_EPOCHS,
               "sizes": "-".join(str(n) for n in TRAINING_SIZES)}
    if accuracy >= ACCURACY_THRESHOLD and not messages:
        return Verdict(name, True, [Message("training_reached", details)])
    return Verdict(name, False, messages + [Message("training_low", details)])


def _training_problem(problem: dict) -> Message:
    """backprop returned something the update W <- W - lr * dW cannot use."""
    epoch, kind = problem.get("epoch", "?"), problem.get("kind")
    if kind == "not_dict":
        return Message("training_not_dict", {"epoch": epoch, "got": str(problem.get("got"))[:60]})
    if kind == "missing_key":
        return Message("training_missing_key", {"epoch": epoch, "key": str(problem.get("key"))[:20]})
    return Message("training_gradient_shape", {
        "epoch": epoch, "key": str(problem.get("key"))[:20],
        "got": _shape_or_text(problem.get("got")), "expected": _shape_or_text(problem.get("expected"))})


def _shape_or_text(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(n, int) for n in value):
        return shape_text(value)
    return str(value)[:60]


JUDGE = Judge(ASSIGNMENT, PROBES, draw_inputs, expected, judge, MISTAKES)
