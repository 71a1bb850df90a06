"""The class at a glance for the TA after ``grade batch``: how many submissions were graded, how
the scores spread, which checks fail most, which mistakes recur, and which submissions need a look
(the slowest, the ones not graded). Built from the results the batch stored (each student's
result.json, as SubmissionResult), so it says nothing they do not, in any language; plain data
first (SummaryView), then templates/summary.html.j2."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import quote

from grader.reports.catalog import Catalog
from grader.reports.render import render_template
from grader.reports.view import MAX_MESSAGE_CHARS, points
from grader.statuses import SubmissionStatus
from grader.trusted.results import GradeResult, Message, SubmissionResult

MAX_SLOWEST = 5
MAX_NAMES = 8  # students named per mistake; the rest are counted, so a big class keeps one line
BINS = 10  # of 10 % of the maximum score each


@dataclass
class CheckRate:
    name: str
    title: str
    passed: int
    total: int
    percent: int


@dataclass
class AssignmentView:
    name: str
    heading: str
    intro: str
    checks: list[CheckRate]  # worst pass rate first


@dataclass
class MistakeRow:
    key: str
    text: str
    count: int  # submissions, not checks: a hint two checks detect in one notebook counts once
    students: list[str]
    more: str  # "and 3 more", or "" when every student is named


@dataclass
class SubmissionRow:
    student: str
    href: str | None  # relative to OUT/, quoted; None where the name cannot be a path segment
    assignment: str
    score: str
    time: str
    status: str  # in the catalog's words
    reason: str


@dataclass
class SummaryView:
    language: str
    text: dict[str, str]  # the catalog's [summary] table, the sentences without parameters
    headline: list[str]
    submissions: int
    graded: int
    unusable: int
    error: int
    mean_percent: float | None  # of the graded submissions; None when there are none
    median_percent: float | None
    full_marks: int
    histogram: list[int]  # graded submissions per bin: [0, 10), [10, 20) … [90, 100]
    picture: dict[str, str] | None  # {"data_uri", "caption"}
    assignments: list[AssignmentView]
    mistakes: list[MistakeRow]
    slowest: list[SubmissionRow]
    not_graded: list[SubmissionRow]
    versions: str


def summary_html(results: list[SubmissionResult], catalog: Catalog) -> str:
    return render_template("summary.html.j2", class_summary(results, catalog))


def class_summary(results: list[SubmissionResult], catalog: Catalog) -> SummaryView:
    """``results``: each submission's, as ``grade batch`` stored it."""
    by_status: dict[SubmissionStatus, list[SubmissionResult]] = {"graded": [], "unusable": [], "error": []}
    for result in results:
        by_status[_status(result)].append(result)
    graded = by_status["graded"]
    percents = [_percent(r) for r in graded]
    full_marks = sum(_out_of(r) > 0 and _percent(r) >= 100 for r in graded)
    headline = [catalog.text("summary.submissions", count=len(results), graded=len(graded),
                             unusable=len(by_status["unusable"]), error=len(by_status["error"]))]
    if graded:
        headline += [catalog.text("summary.scores", mean=_rounded(statistics.mean(percents)),
                                  median=_rounded(statistics.median(percents))),
                     catalog.text("summary.full_marks", count=full_marks, graded=len(graded))]
    else:
        headline.append(catalog.text("summary.no_graded"))
    histogram = _histogram(percents)
    slowest = sorted(graded, key=lambda r: (-_seconds(r), r.student))[:MAX_SLOWEST]
    not_graded = sorted(by_status["unusable"] + by_status["error"], key=lambda r: r.student)
    return SummaryView(
        language=catalog.language,
        text={key.split(".", 1)[1]: value for key, value in catalog.entries.items()
              if key.startswith("summary.") and "{" not in value},
        headline=headline,
        submissions=len(results),
        graded=len(graded),
        unusable=len(by_status["unusable"]),
        error=len(by_status["error"]),
        mean_percent=statistics.mean(percents) if percents else None,
        median_percent=statistics.median(percents) if percents else None,
        full_marks=full_marks,
        histogram=histogram,
        picture=_picture(histogram, catalog) if graded else None,
        assignments=_assignments([r.result for r in graded if r.result is not None], catalog),
        mistakes=_mistakes(graded, catalog),
        slowest=[_row(r, "graded", "feedback.html", catalog) for r in slowest],
        # The batch writes no feedback.html for these; their results.json holds the whole reason.
        not_graded=[_row(r, _status(r), "results.json", catalog) for r in not_graded],
        versions=", ".join(sorted({r.grader_version for r in results if r.grader_version})),
    )


def _status(result: SubmissionResult) -> SubmissionStatus:
    # A graded submission without its result is the grader's problem until someone looks, never a silent grade.
    return "error" if result.status == "graded" and result.result is None else result.status


def _out_of(result: SubmissionResult) -> float:
    return result.result.max_score if result.result is not None else 0.0


def _percent(result: SubmissionResult) -> float:
    out_of = _out_of(result)
    return 100 * (result.score or 0.0) / out_of if out_of else 0.0


def _seconds(result: SubmissionResult) -> float:
    # To the hundredth, as Gradescope's execution_time has it, so that ties sort by name alike.
    return round(result.result.seconds, 2) if result.result is not None else 0.0


def _rounded(percent: float) -> str:
    return points(round(percent, 1))


def _histogram(percents: list[float]) -> list[int]:
    counts = [0] * BINS
    for percent in percents:
        # Full marks go in the last bin with 90 %; only that bin is closed, as in numpy.histogram.
        counts[min(max(int(percent // (100 / BINS)), 0), BINS - 1)] += 1
    return counts


def _picture(histogram: list[int], catalog: Catalog) -> dict[str, str]:
    from grader.reports.figures import score_histogram  # matplotlib only when a picture is drawn

    return score_histogram(histogram, catalog)


def _assignments(graded: list[GradeResult], catalog: Catalog) -> list[AssignmentView]:
    by_assignment: dict[str, list[GradeResult]] = defaultdict(list)
    for result in graded:
        by_assignment[result.assignment].append(result)
    views = []
    for name, results in sorted(by_assignment.items()):
        tally: dict[str, list[int]] = {}  # check -> [passed, total], in the order the checks run
        for result in results:
            for check in result.checks:
                row = tally.setdefault(check.name, [0, 0])
                row[0] += check.passed
                row[1] += 1
        rates = [CheckRate(check, _check_title(check, catalog), passed, total, round(100 * passed / total))
                 for check, (passed, total) in tally.items()]
        rates.sort(key=lambda rate: rate.passed / rate.total)  # stable: ties keep the checks' order
        views.append(AssignmentView(
            name, catalog.text("summary.checks_heading", assignment=name),
            catalog.text("summary.checks_intro", graded=len(results),
                         mean=_rounded(statistics.mean(_result_percent(r) for r in results))),
            rates))
    return views


def _result_percent(result: GradeResult) -> float:
    return 100 * result.score / result.max_score if result.max_score else 0.0


def _check_title(check: str, catalog: Catalog) -> str:
    try:
        return catalog.check_title(check)
    except KeyError:  # a check of another grader version: its name still says what it checked
        return check


def _mistakes(graded: list[SubmissionResult], catalog: Catalog) -> list[MistakeRow]:
    students: dict[str, list[str]] = defaultdict(list)
    for submitted in graded:
        checks = submitted.result.checks if submitted.result is not None else []
        hints = {m.key for check in checks for m in check.messages + check.advice if m.key.startswith("hint.")}
        for key in hints:
            students[key].append(submitted.student)
    rows = []
    for key, names in sorted(students.items(), key=lambda item: (-len(item[1]), item[0])):
        more = len(names) - MAX_NAMES
        rows.append(MistakeRow(key, _hint_text(key, catalog), len(names), sorted(names)[:MAX_NAMES],
                               catalog.text("summary.more_students", count=more) if more > 0 else ""))
    return rows


class _Elided(dict):
    # A class's line names a hint, not the values each student's sentence had.
    def __missing__(self, key: str) -> str:
        return "…"


def _hint_text(key: str, catalog: Catalog) -> str:
    try:
        return catalog.message(Message(key))
    except KeyError:
        pass
    if f"messages.{key}" not in catalog.entries:
        return key  # a hint of another grader version: its key still names the mistake
    try:
        return catalog.formatted(f"messages.{key}", _Elided())
    except (ValueError, AttributeError, IndexError):  # a format spec that "…" cannot take
        return catalog.entries[f"messages.{key}"]


def _row(submitted: SubmissionResult, status: SubmissionStatus, file: str, catalog: Catalog) -> SubmissionRow:
    student, reason = submitted.student, submitted.reason
    return SubmissionRow(
        student=student,
        href=_href(student, file),
        assignment=submitted.result.assignment if submitted.result is not None else "",
        score=f"{points(submitted.score or 0.0)}/{points(_out_of(submitted))}",
        time=f"{_seconds(submitted):.1f} s",
        status=catalog.text(f"summary.{status}") if status != "graded" else "",
        reason=reason if len(reason) <= MAX_MESSAGE_CHARS else reason[:MAX_MESSAGE_CHARS] + " […]",
    )


def _href(student: str, file: str) -> str | None:
    # Quoted whole, "/" and ":" included, so a name stays one relative path segment: it cannot
    # become a scheme (javascript:), another folder or a way out of the attribute. Each student's
    # files are in students/<student>/ beside summary.html (grader.batch.student_folder).
    if not student.strip("."):
        return None
    return f"students/{quote(student, safe='')}/{file}"
