"""Verdicts on ClasificadorSimple: its parameters, hidden activation, forward and gradients."""

from __future__ import annotations

from typing import Any

import torch

from grader.trusted.artifacts import Artifact
from grader.trusted.compare import FLOAT32, FLOAT64, compare
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.evidence import mismatch_message
from grader.trusted.judges.mistakes import diagnose
from grader.trusted.judges.verdict import failed, mismatched, verdict
from grader.trusted.judges.xor.mistakes import TABLE, same_tensor
from grader.trusted.results import Message, Verdict


def judge_model(structure: Artifact, forward: Artifact, inputs, answers, cell_of: CellOf) -> list[Verdict]:
    verdicts = []
    sizes = inputs["model_sizes"].tolist()
    got_params = structure.values.get("parameters", [])
    if not got_params:
        verdicts.append(failed("model_parameter_shapes", structure, "ClasificadorSimple", cell_of))
    else:
        messages = []
        for i, size in enumerate(sizes):
            want = answers[f"parameters{i}"]
            got = got_params[i] if i < len(got_params) else []
            if got != want:
                messages.append(Message("params_wrong", {"sizes": size, "got": _parameters(got),
                                                         "expected": want}))
                messages += [m for m in diagnose(TABLE, "ClasificadorSimple.parameters", got, _same_list, want)
                             if m not in messages]
        verdicts.append(Verdict("model_parameter_shapes", not messages, messages))
    if not structure.ok:
        verdicts.append(failed("model_hidden_activation", structure, "ClasificadorSimple", cell_of))
    else:
        messages = mismatched(structure.tensors.get("act_out"), answers["act_out"], FLOAT32, "act_fn(x)",
                              Message("activation_wrong", {"got": structure.values.get("act_fn")}))
        verdicts.append(verdict("model_hidden_activation", messages))
    if not forward.ok:
        verdicts.append(failed("model_forward_matches_reference", forward, "ClasificadorSimple", cell_of))
        verdicts.append(failed("model_gradients_match_reference", forward, "ClasificadorSimple", cell_of))
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
            differs = mismatched(forward.tensors.get(f"grad{i}.{name}"), grad, tolerance, f"{name}.grad",
                                 Message("gradients_mismatch", {"sizes": size, "param": name}))
            if differs:
                grad_msgs += differs
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


def _parameters(params: Any) -> list | str:
    """The probe's ``[[name, shape], ...]`` as a message carries it (the catalogs write it,
    ``{got:params}``): the kernel's claim, so trimmed to plain names and sizes."""
    if not isinstance(params, list):
        return str(params)[:200]
    return [[str(p[0])[:60], [n for n in p[1] if isinstance(n, int)][:8] if isinstance(p[1], list) else str(p[1])[:60]]
            for p in params[:16] if isinstance(p, list) and len(p) == 2]
