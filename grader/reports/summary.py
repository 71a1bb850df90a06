"""The class at a glance for the TA after ``grade batch``: how many submissions were graded, how
the scores spread, which checks fail most, which mistakes recur, and which submissions need a look
(the slowest, the ones not graded). Built from the results.json dicts the batch wrote, so it says
nothing they do not; plain data first (SummaryView), then templates/summary.html.j2."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from grader.reports.catalog import Catalog
from grader.reports.gradescope import max_score_of
from grader.reports.render import render_template
from grader.reports.view import MAX_MESSAGE_CHARS, points
from grader.trusted.results import Message

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


def summary_html(results: list[dict], catalog: Catalog) -> str:
    return render_template("summary.html.j2", class_summary(results, catalog))


def class_summary(results: list[dict], catalog: Catalog) -> SummaryView:
    """``results``: the results.json of each submission, as written by ``grade batch``."""
    by_status: dict[str, list[dict]] = {"graded": [], "unusable": [], "error": []}
    for result in results:
        by_status[_status(result)].append(result)
    graded = by_status["graded"]
    percents = [_percent(r) for r in graded]
    full_marks = sum(float(max_score_of(r) or 0) > 0 and _percent(r) >= 100 for r in graded)
    headline = [catalog.text("summary.submissions", count=len(results), graded=len(graded),
                             unusable=len(by_status["unusable"]), error=len(by_status["error"]))]
    if graded:
        headline += [catalog.text("summary.scores", mean=_rounded(statistics.mean(percents)),
                                  median=_rounded(statistics.median(percents))),
                     catalog.text("summary.full_marks", count=full_marks, graded=len(graded))]
    else:
        headline.append(catalog.text("summary.no_graded"))
    histogram = _histogram(percents)
    slowest = sorted(graded, key=lambda r: (-float(r.get("execution_time") or 0), _student(r)))[:MAX_SLOWEST]
    not_graded = sorted(by_status["unusable"] + by_status["error"], key=_student)
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
        assignments=_assignments(graded, catalog),
        mistakes=_mistakes(graded, catalog),
        slowest=[_row(r, "graded", "feedback.html", catalog) for r in slowest],
        # The batch writes no feedback.html for these; their results.json holds the whole reason.
        not_graded=[_row(r, _status(r), "results.json", catalog) for r in not_graded],
        versions=", ".join(sorted({str(_extra(r)["grader_version"]) for r in results
                                   if _extra(r).get("grader_version")})),
    )


def _extra(result: dict) -> dict[str, Any]:
    return result.get("extra_data") or {}


def _student(result: dict) -> str:
    return str(_extra(result).get("student", "?"))


def _status(result: dict) -> str:
    status = _extra(result).get("status")
    # A missing or unknown status is the grader's problem until someone looks, never a silent grade.
    return status if status in ("graded", "unusable") else "error"


def _percent(result: dict) -> float:
    out_of = float(max_score_of(result) or 0)
    return 100 * float(result.get("score") or 0) / out_of if out_of else 0.0


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


def _check_name(test: dict) -> str:
    tags = test.get("tags") or []
    return str(tags[1]) if len(tags) > 1 else str((test.get("extra_data") or {}).get("check", test.get("name", "?")))


def _assignments(graded: list[dict], catalog: Catalog) -> list[AssignmentView]:
    by_assignment: dict[str, list[dict]] = defaultdict(list)
    for result in graded:
        by_assignment[str(_extra(result).get("assignment", "?"))].append(result)
    views = []
    for name, results in sorted(by_assignment.items()):
        tally: dict[str, list] = {}  # check -> [title, passed, total], in the order the checks run
        for result in results:
            for test in result.get("tests", []):
                row = tally.setdefault(_check_name(test), [str(test.get("name", "")), 0, 0])
                row[1] += test.get("status") == "passed"
                row[2] += 1
        rates = [CheckRate(check, _check_title(check, title, catalog), passed, total, round(100 * passed / total))
                 for check, (title, passed, total) in tally.items()]
        rates.sort(key=lambda rate: rate.passed / rate.total)  # stable: ties keep the checks' order
        views.append(AssignmentView(
            name, catalog.text("summary.checks_heading", assignment=name),
            catalog.text("summary.checks_intro", graded=len(results),
                         mean=_rounded(statistics.mean(_percent(r) for r in results))),
            rates))
    return views


def _check_title(check: str, fallback: str, catalog: Catalog) -> str:
    try:
        return catalog.check_title(check)
    except KeyError:  # a check of another grader version: the title it was graded under
        return fallback or check


def _mistakes(graded: list[dict], catalog: Catalog) -> list[MistakeRow]:
    students: dict[str, list[str]] = defaultdict(list)
    for result in graded:
        hints = {str(key) for test in result.get("tests", [])
                 for key in (test.get("extra_data") or {}).get("hints", [])}
        for key in hints:
            students[key].append(_student(result))
    rows = []
    for key, names in sorted(students.items(), key=lambda item: (-len(item[1]), item[0])):
        more = len(names) - MAX_NAMES
        rows.append(MistakeRow(key, _hint_text(key, catalog), len(names), sorted(names)[:MAX_NAMES],
                               catalog.text("summary.more_students", count=more) if more > 0 else ""))
    return rows


class _Elided(dict):
    # results.json keeps a hint's key but not its values, which differ from student to student.
    def __missing__(self, key: str) -> str:
        return "…"


def _hint_text(key: str, catalog: Catalog) -> str:
    try:
        return catalog.message(Message(key))
    except KeyError:
        pass
    sentence = catalog.entries.get(f"messages.{key}")
    if sentence is None:
        return key  # a hint of another grader version: its key still names the mistake
    try:
        return sentence.format_map(_Elided())
    except (ValueError, AttributeError, IndexError):  # a format spec that "…" cannot take
        return sentence


def _row(result: dict, status: str, file: str, catalog: Catalog) -> SubmissionRow:
    extra, student = _extra(result), _student(result)
    reason = str(extra.get("reason", ""))
    return SubmissionRow(
        student=student,
        href=_href(student, file),
        assignment=str(extra.get("assignment", "")),
        score=f"{points(float(result.get('score') or 0))}/{points(float(max_score_of(result) or 0))}",
        time=f"{float(result.get('execution_time') or 0):.1f} s",
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
