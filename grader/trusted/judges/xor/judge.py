"""The XOR judge's verdicts, one per check of grader.trusted.points, from the artifacts."""

from __future__ import annotations

from typing import Any, Mapping

from grader.trusted.artifacts import Artifact
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.verdict import by_name, in_points_order
from grader.trusted.results import Message, Verdict

ASSIGNMENT = "xor"
from grader.trusted.judges.xor.verdicts.dataset import judge_dataset
from grader.trusted.judges.xor.verdicts.devices import device_messages, with_device_problem
from grader.trusted.judges.xor.verdicts.end_to_end import judge_end_to_end
from grader.trusted.judges.xor.verdicts.eval_model import judge_eval
from grader.trusted.judges.xor.verdicts.model import judge_model
from grader.trusted.judges.xor.verdicts.state_dict import judge_state_dict
from grader.trusted.judges.xor.verdicts.train_model import judge_train
from grader.trusted.judges.xor.verdicts.visualize_samples import judge_visualize


def judge(artifacts: Mapping[str, Artifact], inputs: dict[str, Any], hidden: dict[str, Any],
          answers: dict[str, Any], cell_of: CellOf) -> list[Verdict]:
    found = by_name(judge_dataset(artifacts, inputs, cell_of))
    found |= by_name(judge_model(artifacts["model_structure"], artifacts["model_forward"], inputs, answers, cell_of))
    moves = artifacts.get("device_moves", Artifact("device_moves", problem="missing"))
    train_moves = device_messages(moves, "train_model", cell_of)
    found |= by_name([with_device_problem(judge_train(artifacts["train_loop"], inputs, answers, cell_of), train_moves)])
    found |= by_name(judge_eval(artifacts["eval"], inputs, answers, cell_of))
    found["eval_model_returns_accuracy"] = with_device_problem(found["eval_model_returns_accuracy"],
                                                               device_messages(moves, "eval_model", cell_of))
    found |= by_name([judge_visualize(artifacts["visualize"], inputs, cell_of)])
    forward_ok = found["model_forward_matches_reference"].passed
    # The notebook's last cell evaluates new_model: an eval_model that trains changes it after it
    # was loaded, which is eval_model's fault, not the loading's.
    eval_keeps = found["eval_model_keeps_parameters"].passed
    found |= by_name(judge_state_dict(artifacts["state_dict"], artifacts["model_structure"], inputs,
                                      forward_ok, cell_of, eval_keeps))
    end_to_end = judge_end_to_end(artifacts["end_to_end"], inputs, hidden, answers, forward_ok, cell_of)
    if train_moves and end_to_end.passed:
        # On a GPU this training fails where train_model forgot the move: the same score here.
        end_to_end = Verdict(end_to_end.name, False, [Message("end_to_end_needs_device")], end_to_end.advice,
                             end_to_end.figures)
    found[end_to_end.name] = end_to_end
    return in_points_order(ASSIGNMENT, found)
