"""The result as Gradescope's ``results.json``, to the letter of its "Autograder Specifications":
only the fields that page defines, at the top level and in each test. Our own data (the total
out of which the score is counted, the seed, the version, the hints each check detected) lives
in ``extra_data``, which the spec keeps for exactly that. Feedback is Markdown (``output_format``
and ``test_output_format`` "md"); the run's stdout is for the instructor only
(``stdout_visibility`` "hidden"). ``tags[0]`` is the judged object's name.

It is a rendering, in one language, and nothing of the grader reads it back: the batch's skip
check, the gradebook and the class summary read the result itself (result.json,
grader.trusted.results.SubmissionResult).
"""

from __future__ import annotations

from typing import Any, Iterable

from grader.reports.catalog import Catalog
from grader.reports.view import points
from grader.statuses import Role
from grader.trusted.results import GradeResult, Message, SubmissionResult

# The spec's values for "visibility" and "stdout_visibility".
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def _markdown(line: str, role: Role = "headline") -> str:
    """One catalog sentence as a Markdown paragraph. Gradescope sanitises what it renders; the
    text is escaped anyway, so that a student's own words in a message (an exception's text)
    stay words. Details and locations (a call, a line of the student's code) become code spans,
    where nothing is markup."""
    if role != "headline":
        text = line.strip()
        fence = "`" * (max((len(run) for run in _backtick_runs(text)), default=0) + 1)
        return f"{fence} {text} {fence}" if len(fence) > 1 else f"`{text}`"
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _backtick_runs(text: str) -> list[str]:
    runs, current = [], ""
    for char in text:
        if char == "`":
            current += char
        elif current:
            runs.append(current)
            current = ""
    return runs + ([current] if current else [])


def markdown_text(lines: Iterable[str]) -> str:
    """Catalog sentences (each possibly several lines) as Markdown paragraphs."""
    return _paragraphs((text, "headline") for text in lines)


def _paragraphs(lines: Iterable[tuple[str, Role]]) -> str:
    # A message's role is its first line's: the lines after it are sentences of their own.
    paragraphs = [_markdown(part, role if number == 0 else "headline") for text, role in lines
                  for number, part in enumerate(text.split("\n")) if part.strip()]
    return "\n\n".join(paragraphs)


def feedback_text(messages: Iterable[Message], catalog: Catalog) -> str:
    return _paragraphs((catalog.message(m), m.role) for m in messages)


def results_json(result: GradeResult, catalog: Catalog, after_due_date: Iterable[str] = ()) -> dict[str, Any]:
    """``after_due_date``: names of checks whose test students see only once the due date has
    passed (the others are always visible)."""
    hidden = frozenset(after_due_date)
    return {
        "score": result.score,
        "execution_time": round(result.seconds, 2),
        "output": markdown_text(
            [catalog.text("ui.summary", assignment=result.assignment, score=points(result.score),
                          max_score=points(result.max_score))]
            + [catalog.message(n) for n in result.notes]
            + [catalog.text("ui.reproduce", notebook=result.notebook, seed=result.seed)]
        ),
        "output_format": "md",
        "test_output_format": "md",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": catalog.check_title(check.name),
                "number": check.number,
                "score": check.score,
                "max_score": check.max_score,
                "status": "passed" if check.passed else "failed",
                "output": feedback_text(check.messages + check.advice, catalog),
                "tags": [check.tag, check.name],
                "visibility": "after_due_date" if check.name in hidden else "visible",
                # Machine-readable for class analytics: which known mistakes this check detected.
                "extra_data": {"check": check.name,
                               "hints": [m.key for m in check.messages + check.advice if m.key.startswith("hint.")]},
            }
            for check in result.checks
        ],
        "extra_data": {
            "max_score": result.max_score,
            "assignment": result.assignment,
            "seed": result.seed,
            "device": result.device,
            "grader_version": result.grader_version,
            "isolation": result.isolation,  # the sandbox mode the notebook ran in (grade doctor)
            "language": catalog.language,
            "notes": [n.key for n in result.notes],
        },
    }


def not_graded_json(output: str, extra: dict[str, Any], execution_time: float = 0.0) -> dict[str, Any]:
    """A results.json for a submission that could not be graded: score 0, no tests, and in
    ``output`` (Markdown) what the student must do; ``extra``: our fields (status, reason...)."""
    return {
        "score": 0,
        "execution_time": round(execution_time, 2),
        "output": output,
        "output_format": "md",
        "test_output_format": "md",
        "stdout_visibility": "hidden",
        "tests": [],
        "extra_data": dict(extra),
    }


def submission_json(submitted: SubmissionResult, catalog: Catalog) -> dict[str, Any]:
    """A batch's results.json for one student: the result's, or, for a submission that was not
    graded, the reason as its output; with the batch's own fields in ``extra_data``."""
    record = {"student": submitted.student, "file": submitted.file, "grader_version": submitted.grader_version}
    if submitted.content_hash:
        record["content_hash"] = submitted.content_hash
    if submitted.result is not None:
        results = results_json(submitted.result, catalog)
        results["extra_data"].update(record, status=submitted.status)
        return results
    # Gradescope's spec wants a number in the file, so one the grader failed on holds 0 too.
    return not_graded_json(submitted.reason, dict(record, status=submitted.status, reason=submitted.reason))
