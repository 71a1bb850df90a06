"""The backprop judge's verdicts, one per check of grader.trusted.points, from the artifacts."""

from __future__ import annotations

from typing import Any

from grader.trusted.artifacts import Artifact
from grader.trusted.judges.autograd_code import autograd_in_code
from grader.trusted.judges.backprop.network import FUNCTIONS
from grader.trusted.judges.backprop.verdicts.backprop import judge_backprop
from grader.trusted.judges.backprop.verdicts.functions import judge_function
from grader.trusted.judges.backprop.verdicts.training import judge_training
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.verdict import by_name, in_points_order
from grader.trusted.results import Verdict


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
        judged.append((name, judge_function(name, f"{name}_matches_reference", artifacts[name], inputs,
                                            answers, cell_of, parts=("out",), autograd=autograd[name])))
    for check, part in (("layer_gradients_weight_gradient", "dW"), ("layer_gradients_bias_gradient", "db")):
        judged.append(("layer_gradients", judge_function("layer_gradients", check, artifacts["layer_gradients"],
                                                         inputs, answers, cell_of, parts=(part,),
                                                         autograd=autograd["layer_gradients"])))
    failed_helpers = sorted({function for function, verdict in judged if not verdict.passed},
                            key=FUNCTIONS.index)
    verdicts = [verdict for _, verdict in judged]
    verdicts += judge_backprop(artifacts["backprop"], artifacts["backprop_own_helpers"], inputs, answers, cell_of,
                               failed_helpers, autograd["backprop"])
    verdicts.append(judge_training(artifacts["backprop_training"], inputs, hidden, cell_of,
                                   autograd["backprop_training"]))
    return in_points_order("backprop", by_name(verdicts))
