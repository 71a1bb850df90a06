"""Verdicts on eval_model: the accuracy it returns, eval mode and no_grad, the parameters it
keeps, the accuracy it prints."""

from __future__ import annotations

import re

from grader.trusted.artifacts import Artifact
from grader.trusted.compare import FLOAT64
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.evidence import exception_messages
from grader.trusted.judges.mistakes import matching, named_hints
from grader.trusted.judges.verdict import failed, mismatched, verdict
from grader.trusted.judges.xor.inputs import eval_sets
from grader.trusted.judges.xor.mistakes import TABLE, same_accuracy
from grader.trusted.judges.xor.model import PARAMETER_NAMES
from grader.trusted.results import Message, Verdict

ACCURACY, MODES, KEEPS, PRINTS = ("eval_model_returns_accuracy", "eval_model_eval_mode_no_grad",
                                  "eval_model_keeps_parameters", "eval_model_prints_accuracy")


def judge_eval(evaluation: Artifact, inputs, answers, cell_of: CellOf) -> list[Verdict]:
    names = (ACCURACY, MODES, KEEPS, PRINTS)
    if not evaluation.ok:
        return [failed(name, evaluation, "eval_model", cell_of) for name in names]
    v, accuracy = evaluation.values, answers["accuracy"]
    acc_msgs = accuracy_messages(evaluation, inputs, answers, cell_of)
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
        param_msgs = mismatched(evaluation.tensors.get(name), inputs["eval_state"][name], FLOAT64, name,
                                Message("eval_changed_parameters", {"param": name}))
        if param_msgs:
            break
    printed = str(v.get("printed", ""))
    shown = re.search(r"Tasa de acierto[^\d\n]*(\d+(?:[.,]\d+)?)\s*%", printed)
    print_msgs = []
    if not shown or abs(float(shown.group(1).replace(",", ".")) - 100 * accuracy) > 0.006:
        print_msgs.append(Message("print_missing", {"expected": 100 * accuracy,
                                                    "printed": printed.strip()[-200:] or "—"}))
    return [verdict(ACCURACY, acc_msgs), verdict(MODES, mode_msgs), verdict(KEEPS, param_msgs),
            verdict(PRINTS, print_msgs)]


def accuracy_messages(evaluation: Artifact, inputs, answers, cell_of: CellOf) -> list[Message]:
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
    messages = [Message("accuracy_wrong", {"got": got, "expected": want})]
    sets = eval_sets(inputs)
    found = None
    for (result, _), case in zip(returned, sets):
        rows = matching(TABLE, "eval_model", result, same_accuracy, case)
        found = rows if found is None else [row for row in found if row in rows]
    hints = named_hints(found or [])
    if hints:
        return messages + [Message(hint) for hint in hints]
    return messages + [Message("look.eval_model")]
