"""The class summary from fabricated results (no kernel): its numbers, its order, what it counts
once, escaping of student names, nothing fetched, both languages, a class with no grade."""

from __future__ import annotations

import re

import pytest

from grader.reports.catalog import LANGUAGES, catalog
from grader.reports.summary import class_summary, summary_html
from grader.trusted.results import CheckResult, GradeResult, Message, SubmissionResult

XOR_CHECKS = ("dataset_length", "train_model_matches_reference", "eval_model_returns_accuracy")
BACKPROP_CHECKS = ("sigmoid_matches_reference", "backprop_matches_reference")


def graded(student: str, assignment: str, score: float, seconds: float, failed=(), hints=None) -> SubmissionResult:
    """``failed``: the checks that failed; ``hints``: check -> the hint keys it detected."""
    hints = hints or {}
    checks = XOR_CHECKS if assignment == "xor" else BACKPROP_CHECKS
    result = GradeResult(
        assignment=assignment, notebook=f"{student}.ipynb", score=score, max_score=100,
        checks=[CheckResult(name, "tag", f"1.{i}", 0, 5, name not in failed,
                            [Message(key) for key in hints.get(name, [])])
                for i, name in enumerate(checks, 1)],
        notes=[], seed=1, device="cpu", seconds=seconds, grader_version="0.9")
    return SubmissionResult(student, f"{student}.ipynb", "graded", "0.9", "0" * 64, result=result)


def not_graded(student: str, status: str, reason: str) -> SubmissionResult:
    return SubmissionResult(student, f"{student}.ipynb", status, "0.9", "0" * 64, reason)


def small_class() -> list[dict]:
    train, evaluate = "train_model_matches_reference", "eval_model_returns_accuracy"
    return [
        graded("ana", "xor", 100, 12.0),
        graded("luis", "xor", 70, 30.5, failed=[train], hints={train: ["hint.zero_grad"]}),
        # The same mistake seen by two checks of one notebook is one submission with it.
        graded("eva", "xor", 45, 50.0, failed=[train, evaluate],
               hints={train: ["hint.zero_grad", "hint.num_epochs"], evaluate: ["hint.zero_grad"]}),
        graded("iker", "xor", 95, 8.0, failed=[train], hints={train: ["hint.zero_grad"]}),
        graded("marta", "backprop", 20, 5.0, failed=BACKPROP_CHECKS,
               hints={"sigmoid_matches_reference": ["hint.sigmoid_sign", "hint.not_implemented"]}),
        graded("sol", "backprop", 100, 1.0),
        not_graded("rota", "unusable", "El archivo no es un cuaderno: no es JSON válido."),
        not_graded("pepe", "error", "RuntimeError: boom"),
    ]


def test_headline_numbers_and_histogram():
    view = class_summary(small_class(), catalog("es"))
    assert (view.submissions, view.graded, view.unusable, view.error) == (8, 6, 1, 1)
    assert view.mean_percent == pytest.approx(430 / 6) and view.median_percent == 82.5
    assert view.full_marks == 2
    assert view.histogram == [0, 0, 1, 0, 1, 0, 0, 1, 0, 3]  # 100 % shares the last bin with 95 %
    assert view.headline == [
        "Entregas: 8 (calificadas: 6; no evaluables: 1; con un error del corrector: 1).",
        "Nota media: 71.7 % de la nota máxima; mediana: 82.5 %.",
        "Con la nota máxima: 2 de 6.",
    ]
    assert view.picture["data_uri"].startswith("data:image/png;base64,")


def test_pass_rates_per_assignment_worst_first():
    view = class_summary(small_class(), catalog("en"))
    rates = {a.name: [(c.name, c.passed, c.total, c.percent) for c in a.checks] for a in view.assignments}
    assert rates == {
        "backprop": [("sigmoid_matches_reference", 1, 2, 50), ("backprop_matches_reference", 1, 2, 50)],
        "xor": [("train_model_matches_reference", 1, 4, 25), ("eval_model_returns_accuracy", 3, 4, 75),
                ("dataset_length", 4, 4, 100)],
    }
    xor = view.assignments[1]
    assert xor.checks[0].title == catalog("en").check_title("train_model_matches_reference")
    assert xor.intro == "Graded submissions: 4; mean score: 77.5 %. The checks that fail most come first."


def test_mistakes_counted_once_per_submission_with_the_catalog_sentence():
    view = class_summary(small_class(), catalog("es"))
    assert [(m.key, m.count, m.students) for m in view.mistakes] == [
        ("hint.zero_grad", 3, ["eva", "iker", "luis"]),
        ("hint.not_implemented", 1, ["marta"]),
        ("hint.num_epochs", 1, ["eva"]),
        ("hint.sigmoid_sign", 1, ["marta"]),
    ]
    texts = {m.key: m.text for m in view.mistakes}
    assert texts["hint.zero_grad"] == catalog("es").message(Message("hint.zero_grad"))
    # A class's line has no student's values: the sentence shows "…" where each student saw one.
    assert texts["hint.not_implemented"].startswith("Pista: `…` todavía tiene")
    assert "{" not in texts["hint.num_epochs"] and "…" in texts["hint.num_epochs"]


def test_a_long_list_of_students_is_cut_and_counted():
    results = [graded(f"e{i:02}", "xor", 50, 1.0, hints={"dataset_length": ["hint.label_long"]}) for i in range(12)]
    (mistake,) = class_summary(results, catalog("es")).mistakes
    assert mistake.count == 12 and mistake.students == [f"e{i:02}" for i in range(8)]
    assert mistake.more == "y 4 más"


def test_a_hint_unknown_to_this_catalog_shows_its_key():
    results = [graded("ana", "xor", 50, 1.0, hints={"dataset_length": ["hint.from_a_later_version"]})]
    assert class_summary(results, catalog("en")).mistakes[0].text == "hint.from_a_later_version"


def test_slowest_and_not_graded_link_to_each_students_folder():
    view = class_summary(small_class(), catalog("es"))
    assert [(r.student, r.time, r.score, r.href) for r in view.slowest] == [
        ("eva", "50.0 s", "45/100", "students/eva/feedback.html"),
        ("luis", "30.5 s", "70/100", "students/luis/feedback.html"),
        ("ana", "12.0 s", "100/100", "students/ana/feedback.html"),
        ("iker", "8.0 s", "95/100", "students/iker/feedback.html"),
        ("marta", "5.0 s", "20/100", "students/marta/feedback.html")]
    assert [(r.student, r.status, r.reason, r.href) for r in view.not_graded] == [
        ("pepe", "error del corrector", "RuntimeError: boom", "students/pepe/results.json"),
        ("rota", "no evaluable", "El archivo no es un cuaderno: no es JSON válido.", "students/rota/results.json")]


@pytest.mark.parametrize("language", LANGUAGES)
def test_html_headline_first_and_both_languages(language):
    page = summary_html(small_class(), catalog(language))
    text = catalog(language).entries
    assert f'<html lang="{language}">' in page
    headline = class_summary(small_class(), catalog(language)).headline
    order = [f"<h1>{text['summary.title']}</h1>", *headline, '<img src="data:image/png;base64,',
             catalog(language).check_title("sigmoid_matches_reference"), text["summary.mistakes"],
             text["summary.slowest"], text["summary.not_graded"]]
    positions = [page.index(part) for part in order]
    assert positions == sorted(positions)
    assert '<a href="students/eva/feedback.html">eva</a>' in page
    assert '<a href="students/rota/results.json">rota</a>' in page


HOSTILE = ("<script>alert(1)</script>", '"><img src=x>')


@pytest.mark.parametrize("language", LANGUAGES)
def test_student_names_and_reasons_are_escaped_and_links_stay_relative(language):
    results = small_class() + [
        graded(HOSTILE[0], "xor", 10, 99.0, hints={"dataset_length": ["hint.zero_grad"]}),
        not_graded(HOSTILE[1], "unusable", "<b>no</b> & más"),
        not_graded("javascript:alert(1)", "error", "x"),
        not_graded("..", "error", "y"),
    ]
    page = summary_html(results, catalog(language))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x>" not in page and "&#34;&gt;&lt;img src=x&gt;" in page
    assert "<b>no</b>" not in page and "&lt;b&gt;no&lt;/b&gt; &amp; más" in page
    hrefs = re.findall(r'<a href="([^"]*)">', page)
    assert "students/%3Cscript%3Ealert%281%29%3C%2Fscript%3E/feedback.html" in hrefs
    assert "students/%22%3E%3Cimg%20src%3Dx%3E/results.json" in hrefs
    assert "students/javascript%3Aalert%281%29/results.json" in hrefs
    assert all(re.fullmatch(r"students/[A-Za-z0-9%._~-]+/(feedback\.html|results\.json)", h) for h in hrefs)
    assert not any(h.startswith("students/.") for h in hrefs)  # ".." gets no link: it would leave OUT/students/
    assert page.count("<a ") == len(hrefs)


def test_the_page_loads_nothing():
    page = summary_html(small_class(), catalog("es"))
    assert "http://" not in page and "https://" not in page and 'src="http' not in page
    assert re.findall(r'src="([^"]{0,22})', page) == ["data:image/png;base64,"]
    assert "url(" not in page and "@import" not in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_class_with_nothing_graded_renders_without_a_histogram(language):
    results = [not_graded("ana", "unusable", "vacío"), not_graded("luis", "unusable", "vacío")]
    view = class_summary(results, catalog(language))
    assert view.picture is None and view.histogram == [0] * 10 and view.mean_percent is None
    assert view.assignments == [] and view.mistakes == [] and view.slowest == []
    assert view.headline[-1] == catalog(language).text("summary.no_graded")
    page = summary_html(results, catalog(language))
    assert "<img" not in page and "data:image" not in page and "students/ana/results.json" in page
    assert summary_html([], catalog(language)).count("<table>") == 0
