# Probes of the backprop exercise, executed inside the student's kernel as the last module of the
# probes' bundle, after common.py and the autograd oracles (grader/oracles/backprop.py; see
# __init__.py), or imported by the student's own check() (grader.selfcheck). Each calls one student
# function on the cases the grader drew, with every other function of the exercise replaced by its
# oracle, so that a wrong helper costs points only where it is judged.
import contextlib
import time

import torch

from grader.oracles.backprop import ORACLES
from grader.untrusted.probes.common import ProbeTimeout, entry_point, names_set, student_object

_MAX_PARTS = 16


def grader_helpers(ns, judged, watch):
    """The notebook's other exercise functions replaced by the oracles while ``judged`` runs; while
    an oracle runs (it uses autograd, as the grader's own code), ``watch`` notes nothing."""
    return names_set(ns, {name: _grader_code(oracle, watch) for name, oracle in ORACLES.items() if name != judged})


def _grader_code(oracle, watch):
    def helper(*args, **kwargs):
        watch.grader_code += 1
        try:
            return oracle(*args, **kwargs)
        finally:
            watch.grader_code -= 1
    helper.__name__ = oracle.__name__.replace("oracle_", "")
    return helper


def _carries_history(kit, result):
    """Whether a result's tensors carry autograd history: the inputs never require grad, so only
    code that asked for autograd can return one that does."""
    parts = list(result.values())[:_MAX_PARTS] if isinstance(result, dict) else \
        list(result)[:_MAX_PARTS] if isinstance(result, (tuple, list)) else [result]
    for part in parts:
        if isinstance(part, kit.TensorBase):
            facts = kit.tensor_facts(part)
            if facts["requires_grad"] or facts["grad_fn"]:
                return True
    return False


def _autograd_seen(values, watch, history):
    """What the probe saw of autograd, from a dispatch mode it entered itself and the results'
    history (the grader also reads the function's code: see the judge)."""
    evidence = list(watch.seen) + (["a result carries autograd history"] if history else [])
    values["autograd"] = values.get("autograd", False) or bool(evidence)
    values["autograd_evidence"] = (values.get("autograd_evidence") or []) + evidence[:4]


def as_cpu_tensor(tools, value):
    if isinstance(value, tools.kit.TensorBase):
        return tools.cpu_tensor(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=torch.float64)
    if type(value).__module__ == "numpy" and hasattr(value, "shape"):
        import numpy
        return torch.from_numpy(numpy.array(value, dtype=numpy.float64))
    return None


def record_result(tools, tensors, key, result):
    """What came back, described for JSON; its tensors kept under key, key.0, key.W1, ..."""
    if isinstance(result, dict):
        items = list(result.items())[:_MAX_PARTS]
        for name, part in items:
            tensor = as_cpu_tensor(tools, part)
            if tensor is not None:
                tensors[f"{key}.{name}"] = tensor
        return {"kind": "dict", "keys": [str(name)[:40] for name, _ in items],
                "parts": {str(name)[:40]: type(part).__name__ for name, part in items}}
    if isinstance(result, (tuple, list)):
        for index, part in enumerate(result[:_MAX_PARTS]):
            tensor = as_cpu_tensor(tools, part)
            if tensor is not None:
                tensors[f"{key}.{index}"] = tensor
        return {"kind": type(result).__name__, "len": len(result),
                "parts": [type(part).__name__ for part in result[:_MAX_PARTS]]}
    tensor = as_cpu_tensor(tools, result)
    if tensor is not None:
        tensors[key] = tensor
    return {"kind": type(result).__name__, "tensor": isinstance(result, torch.Tensor)}


def _copy(argument):
    if isinstance(argument, dict):
        return {name: value.clone() for name, value in argument.items()}
    return argument.clone()


def _changed(before, after):
    if isinstance(before, dict):
        return any(_changed(before[k], after.get(k)) for k in before) if isinstance(after, dict) else True
    return not (isinstance(after, torch.Tensor) and after.shape == before.shape and torch.equal(after, before))


def call_cases(tools, values, tensors, ns, name, cases, prefix, substitute=True):
    """Call the student's ``name`` on each case; a case that raises does not stop the others."""
    function = student_object(ns, name)
    outcomes, history = [], False
    watch = tools.kit.AutogradWatch()
    for index, arguments in enumerate(cases):
        outcome = {}
        given = [_copy(a) for a in arguments]
        began = time.perf_counter()
        try:
            helpers = grader_helpers(ns, name, watch) if substitute else contextlib.nullcontext()
            with helpers:
                result = tools.kit.watched_call(watch, function, *given)
            history = history or _carries_history(tools.kit, result)
            outcome["result"] = record_result(tools, tensors, f"{prefix}{index}", result)
        except ProbeTimeout:  # the whole probe is out of time
            raise
        except Exception as exc:
            outcome["error"] = tools.describe_exception(exc)
        outcome["seconds"] = round(time.perf_counter() - began, 4)
        outcome["changed_inputs"] = [i for i, (a, g) in enumerate(zip(arguments, given)) if _changed(a, g)]
        outcomes.append(outcome)
    values[prefix] = outcomes
    _autograd_seen(values, watch, history)


def probe_function(name):
    def probe(tools, values, tensors, ns, inputs):
        call_cases(tools, values, tensors, ns, name, inputs["cases"][name], "case")
        if name in inputs["extreme"]:
            call_cases(tools, values, tensors, ns, name, inputs["extreme"][name], "extreme")
    return probe


def probe_backprop_own_helpers(tools, values, tensors, ns, inputs):
    """backprop with the student's own helpers: not scored, it tells which helper breaks it. A
    probe of its own, so that a helper that crashes the kernel costs backprop nothing."""
    call_cases(tools, values, tensors, ns, "backprop", inputs["cases"]["backprop"][-1:], "own", substitute=False)


def probe_backprop_training(tools, values, tensors, ns, inputs):
    """The grader's gradient-descent loop, driven by the student's backprop."""
    backprop = student_object(ns, "backprop")
    train = inputs["train"]
    params = {k: v.clone() for k, v in train["init"].items()}
    x, y = train["x"], train["y"]
    step = float(train["lr"]) / len(x)
    watch, history = tools.kit.AutogradWatch(), False
    values["epochs_done"] = 0
    with grader_helpers(ns, "backprop", watch):
        for epoch in range(int(train["epochs"])):
            grads = tools.kit.watched_call(watch, backprop, {k: v.clone() for k, v in params.items()},
                                           x.clone(), y.clone())
            history = history or _carries_history(tools.kit, grads)
            problem = _gradient_problem(tools, grads, params)
            if problem:
                values["problem"] = dict(problem, epoch=epoch)
                break
            params = {k: params[k] - step * torch.as_tensor(grads[k]).to(params[k].dtype) for k in params}
            values["epochs_done"] = epoch + 1
    _autograd_seen(values, watch, history)
    for name, value in params.items():
        tensors["final." + name] = value.clone()


def _gradient_problem(tools, grads, params):
    if not isinstance(grads, dict):
        return {"kind": "not_dict", "got": type(grads).__name__}
    for name, value in params.items():
        if name not in grads:
            return {"kind": "missing_key", "key": name}
        got = as_cpu_tensor(tools, grads[name])
        if got is None or tuple(got.shape) != tuple(value.shape):
            return {"kind": "shape", "key": name,
                    "got": list(got.shape) if got is not None else type(grads[name]).__name__,
                    "expected": list(value.shape)}
    return None


FUNCTIONS = ("sigmoid", "sigmoid_prime", "mse_loss", "mse_loss_grad", "output_delta", "hidden_delta",
             "layer_gradients", "backprop")
PROBES = {name: probe_function(name) for name in FUNCTIONS}
PROBES["backprop_own_helpers"] = probe_backprop_own_helpers
PROBES["backprop_training"] = probe_backprop_training
main = entry_point(PROBES)
