"""Fixed grading results for report tests: built by hand, so they need no kernel and never change."""

from __future__ import annotations

import math

from grader.trusted.points import checks_of
from grader.trusted.results import CheckResult, Figure, GradeResult, Message


def _result(assignment: str, failed: dict[str, list[Message]], advice: dict[str, list[Message]],
            notes: list[Message], figures: dict[str, list[Figure]] | None = None) -> GradeResult:
    checks = [CheckResult(spec.name, spec.tag, str(number), 0.0 if spec.name in failed else spec.points,
                          spec.points, spec.name not in failed, failed.get(spec.name, []),
                          advice.get(spec.name, []), (figures or {}).get(spec.name, []))
              for number, spec in enumerate(checks_of(assignment), start=1)]
    return GradeResult(assignment=assignment, notebook=f"/home/ana/entregas/{assignment}.ipynb",
                       score=sum(c.score for c in checks), max_score=sum(c.max_score for c in checks),
                       checks=checks, notes=notes, seed=1234, device="cpu", seconds=12.34,
                       grader_version="0.1.0", isolation="root")


def xor_with_mistakes(hostile_text: bool = False) -> GradeResult:
    """``hostile_text``: the student's side sent markup in an exception and a line of code."""
    tail = " <script>alert(1)</script>" if hostile_text else ""
    code = "preds = model(data_inputs) & <b>" if hostile_text else "preds = model(data_inputs.T)"
    raised = [Message("raised", {"function": "train_model", "type": "RuntimeError",
                                 "message": "mat1 and mat2 shapes cannot be multiplied (2x128 and 2x4)" + tail}),
              Message("at_line", {"cell": 14, "line": 7, "code": code}),
              Message("hint.matmul_shapes", {"function": "train_model"})]
    return _result(
        "xor",
        failed={"train_model_matches_reference": raised,
                "eval_model_returns_accuracy": [Message("hint.percentage")]},
        advice={},
        notes=[Message("did_not_finish", {"where": Message("where.cell", {"cell": 20}),
                                          "how": Message("ending.exit", {"code": "3"})}),
               Message("restarted_without_cell", {"cell": 20})],
        figures={"train_model_matches_reference": [LOSSES], "end_to_end_accuracy": [BOUNDARY]},
    )


def _probability(x: float, y: float) -> float:
    return round(1 / (1 + math.exp(-8 * (x + y - 2 * x * y - 0.5))), 4)


AXIS = [-0.5 + 2 * i / 40 for i in range(41)]
BOUNDARY = Figure("decision_boundary", {
    "low": -0.5, "high": 1.5, "n": 41, "accuracy": 99.2,
    "probabilities": [[_probability(x, y) for x in AXIS] for y in AXIS],
    "points": [[0.02, 0.05], [0.97, 0.03], [0.05, 1.02], [1.01, 0.96]], "labels": [0, 1, 1, 0],
})
LOSSES = Figure("loss_curves", {"student": [0.71, 0.69, 0.74, 0.83, 0.97, 1.2],
                                "reference": [0.71, 0.69, 0.68, 0.66, 0.65, 0.63]})
GRADIENT_ERRORS = Figure("gradient_errors", {"cases": [{"case": 1, "sizes": [2, 3, 1], "batch": 1},
                                                       {"case": 2, "sizes": [3, 3, 3], "batch": 5}],
                                             "parameters": ["W1", "b1", "W2", "b2"],
                                             "errors": [[1e-16, 2e-16, 0.4, None], [3e-16, 1e-15, 0.9, 1.0]]})


def backprop_full_marks_with_advice() -> GradeResult:
    return _result("backprop", failed={}, advice={"sigmoid_matches_reference": [Message("advice.unstable",
                                                  {"call": {"function": "sigmoid",
                                                            "arguments": [{"name": "z", "shape": [4]}]}})]},
                   notes=[])


def xor_state_dict_mistakes() -> GradeResult:
    """Messages whose values are the grader's terms and the student's names: a state_dict's keys,
    a strict load's problem, a probe's ending; and text of the student's side (an exception)."""
    return _result(
        "xor",
        failed={"state_dict_saved_to_file": [Message("file_differs_from_model", {
                    "file": "mi_modelo.tar", "param": "linear1.weight", "detail": "values"})],
                "state_dict_loaded_into_new_model": [Message("new_model_differs", {
                    "param": ["extra.weight"], "detail": "keys"}), Message("hint.load_state_dict")],
                "state_dict_loads_into_reference": [Message("reference_load_failed", {"error": Message(
                    "load_problem.keys", {"missing": ["linear2.bias"], "unexpected": ["extra.weight"]})})],
                "dataset_length": [Message("raised", {"function": "XORDataset", "type": "ValueError",
                                                      "message": "the size must be a positive integer"}),
                                   Message("at_line", {"cell": 3, "line": 2, "code": "raise ValueError(msg)"})]},
        advice={},
        notes=[Message("probe_crashed", {"probe": "state_dict", "status": "timeout", "type": ""}),
               Message("did_not_finish", {"where": Message("where.probe", {"probe": "train_model"}),
                                          "how": Message("ending.signal", {"signal": "SIGSEGV"})}),
               Message("restarted_for_probes"),
               Message("cell_error", {"cell": 5, "type": "KeyError", "message": "'missing key in the dict'"})],
    )


def backprop_with_a_failed_case() -> GradeResult:
    """A case's call as a detail under its sentence, then a mismatch."""
    return _result("backprop", failed={"backprop_matches_reference": [
        Message("cases_failed", {"function": "backprop", "failed": 2, "total": 6}),
        Message("case_call", {"call": {"function": "backprop", "arguments": [
            {"name": "x", "shape": [5, 3]}, {"name": "y", "shape": [5, 1]}, {"name": "params", "sizes": [3, 3, 1]}]}}),
        Message("mismatch.values", {"what": "dW1", "expected": 0.25, "got": -0.25, "max_abs": 0.5,
                                    "max_rel": 2.0, "index": [0, 1]})]}, advice={}, notes=[])


CASES = {"xor_with_mistakes": xor_with_mistakes, "backprop_full_marks": backprop_full_marks_with_advice,
         "xor_state_dict_mistakes": xor_state_dict_mistakes, "backprop_with_a_failed_case": backprop_with_a_failed_case}

# Parameters that hold the student's side's own words (an exception's text, a line of code): quoted,
# in whatever language the student or a library wrote them, never the catalog's.
QUOTED_PARAMS = ("message", "code", "printed")
