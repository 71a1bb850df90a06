"""The verdict on train_model: the parameters after training from the grader's start, and what
the counts of calls show when they differ."""

from __future__ import annotations

from grader.trusted.artifacts import Artifact
from grader.trusted.compare import FLOAT32
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.evidence import error_messages
from grader.trusted.judges.mistakes import diagnose
from grader.trusted.judges.verdict import mismatched
from grader.trusted.judges.xor.mistakes import TABLE, same_state
from grader.trusted.judges.xor.model import PARAMETER_NAMES
from grader.trusted.judges.xor.verdicts.figures import loss_figure
from grader.trusted.results import Message, Verdict


def judge_train(train: Artifact, inputs, answers, cell_of: CellOf) -> Verdict:
    messages: list[Message] = []
    counts = train.values.get("optimizer_calls") if isinstance(train.values.get("optimizer_calls"), dict) else {}
    if not train.ok:
        messages = error_messages(train, "train_model", cell_of)
    else:
        for name in PARAMETER_NAMES:
            messages = mismatched(train.tensors.get(name), answers["trained"][name], FLOAT32, name,
                                  Message("train_mismatch", {"epochs": inputs["train_epochs"], "param": name}))
            if messages:
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
    return Verdict("train_model_matches_reference", False, messages, figures=loss_figure(train, answers))
