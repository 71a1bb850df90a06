"""Verdicts on the state_dict: saved to a file, loaded into a new model, loadable into the
reference model."""

from __future__ import annotations

from typing import Any

import torch

from grader.trusted.artifacts import Artifact, plain_tensors
from grader.trusted.compare import FLOAT32, compare
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.verdict import failed, mismatched_notebook_state, verdict
from grader.trusted.judges.xor.model import REFERENCE_SHAPES, reference_forward, strict_load_problem
from grader.trusted.records import Unreadable
from grader.trusted.results import Message, Verdict

SAVED_STATE_FILE = "saved_state_dict.bin"
SAVED, LOADED, REFERENCE_LOADS = ("state_dict_saved_to_file", "state_dict_loaded_into_new_model",
                                  "state_dict_loads_into_reference")  # the probe's copy of the file the notebook saved


def judge_state_dict(saved: Artifact, structure: Artifact, inputs, forward_ok: bool,
                     cell_of: CellOf, eval_keeps: bool = True) -> list[Verdict]:
    names = (SAVED, LOADED, REFERENCE_LOADS)
    if not saved.ok:
        return [failed(name, saved, "state_dict", cell_of) for name in names]
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
            new_msgs += mismatched_notebook_state(t.get("new_model_pred"), t.get("model_pred", torch.empty(0)),
                                                  FLOAT32, "new_model(x)", Message("new_model_predictions_differ"))

    ref_msgs, notes = [], []
    student_params = (structure.values.get("parameters") or [[]])[0]
    reference_params = [[name, list(shape)] for name, shape in REFERENCE_SHAPES.items()]
    if file_state is None:
        ref_msgs.append(Message("reference_needs_file"))
    elif student_params != reference_params:
        # Wrong names or shapes are ClasificadorSimple's fault and cost points there, not here.
        notes.append(Message("reference_not_comparable"))
    else:
        problem = strict_load_problem(file_state)
        if problem:
            ref_msgs.append(Message("reference_load_failed", {"error": problem}))
        else:
            if not forward_ok or not eval_keeps:
                # A forward unlike the reference's predicts differently with any weights, and an
                # eval_model that trains changed new_model: those are ClasificadorSimple's and
                # eval_model's faults, so only the strict load is judged here.
                return [verdict(SAVED, file_msgs), verdict(LOADED, new_msgs + new_notes, passed=not new_msgs),
                        verdict(REFERENCE_LOADS, [])]
            want = reference_forward(file_state, inputs["roundtrip_x"])
            ref_msgs += mismatched_notebook_state(t.get("new_model_pred"), want, FLOAT32, "new_model(x)",
                                                  Message("reference_predictions_differ"))
    return [verdict(SAVED, file_msgs), verdict(LOADED, new_msgs + new_notes, passed=not new_msgs),
            verdict(REFERENCE_LOADS, ref_msgs + notes, passed=not ref_msgs)]


def _load_saved_state(saved: Artifact) -> tuple[dict[str, torch.Tensor] | None, bool]:
    try:
        loaded = saved.load_tensors(SAVED_STATE_FILE)
    except Unreadable:  # a whole pickled model, or anything else that is not plain tensors
        return None, True
    state = plain_tensors(loaded)
    if not state or not isinstance(loaded, dict) or len(state) != len(loaded):
        return None, True
    return state, False


def _state_difference(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> dict[str, Any] | None:
    """Which keys differ (the names, a list the catalogs write, ``{param:list}``), or the first
    parameter whose values do."""
    if sorted(got) != sorted(want):
        return {"param": [name[:60] for name in sorted(set(got) ^ set(want))[:12]], "detail": "keys"}
    for name in want:
        if compare(got[name], want[name], FLOAT32) is not None:
            return {"param": name, "detail": "values"}
    return None
