"""The result as Gradescope's ``results.json``: tags[0] is the judged object's name."""

from __future__ import annotations

from typing import Any

from grader.reports.catalog import Catalog
from grader.reports.view import points
from grader.trusted.results import GradeResult


def feedback_text(messages, catalog: Catalog) -> str:
    return "\n".join(catalog.message(m) for m in messages)


def results_json(result: GradeResult, catalog: Catalog) -> dict[str, Any]:
    return {
        "score": result.score,
        "max_score": result.max_score,
        "execution_time": round(result.seconds, 2),
        "output": "\n".join(
            [catalog.text("ui.summary", assignment=result.assignment, score=points(result.score),
                          max_score=points(result.max_score))]
            + [catalog.message(n) for n in result.notes]
            + [catalog.text("ui.reproduce", notebook=result.notebook, seed=result.seed)]
        ),
        "tests": [
            {
                "name": catalog.check_title(check.name),
                "number": check.number,
                "score": check.score,
                "max_score": check.max_score,
                "status": "passed" if check.passed else "failed",
                "output": feedback_text(check.messages + check.advice, catalog),
                "tags": [check.tag, check.name],
                # Machine-readable for class analytics: which known mistakes this check detected.
                "extra_data": {"check": check.name,
                               "hints": [m.key for m in check.messages + check.advice if m.key.startswith("hint.")]},
            }
            for check in result.checks
        ],
        "extra_data": {
            "assignment": result.assignment,
            "seed": result.seed,
            "device": result.device,
            "grader_version": result.grader_version,
            "isolation": result.isolation,  # the sandbox mode the notebook ran in (grade doctor)
            "language": catalog.language,
            "notes": [n.key for n in result.notes],
        },
    }
