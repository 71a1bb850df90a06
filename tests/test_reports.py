"""HTML and Markdown feedback from fixed results: golden Markdown per language, escaping of what
came from the student's side, self-contained HTML, a size bound."""

from __future__ import annotations

import re

import pytest

from conftest import TESTS
from grader.reports.catalog import LANGUAGES, catalog
from grader.reports.render import html_report, markdown_report
from grader.trusted.results import Message
from grader.reports.figures import render_figure
from grader.trusted.results import Figure
from report_cases import BOUNDARY, CASES, GRADIENT_ERRORS, LOSSES, xor_with_mistakes

GOLDEN = TESTS / "golden"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_markdown_matches_its_golden_file(case, language, request):
    text = markdown_report(CASES[case](), catalog(language))
    golden = GOLDEN / f"{case}.{language}.md"
    if request.config.getoption("--update-golden"):
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"run pytest --update-golden to write {golden.name}"
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("language", LANGUAGES)
def test_html_escapes_what_the_student_wrote_and_loads_nothing(language):
    page = html_report(xor_with_mistakes(hostile_text=True), catalog(language))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "& <b>" not in page and "&amp; &lt;b&gt;" in page
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page) and "@import" not in page
    assert "url(" not in page
    assert "<code>train_model</code>" in page  # backticks in catalog text become code


@pytest.mark.parametrize("language", LANGUAGES)
def test_markdown_keeps_student_text_inert(language):
    text = markdown_report(xor_with_mistakes(hostile_text=True), catalog(language))
    outside_code = re.sub(r"`[^`]*`", "", text)
    for tag in ("<details>", "<summary>", "</summary>", "</details>"):
        outside_code = outside_code.replace(tag, "")
    assert "<" not in outside_code and "&lt;script&gt;" in text
    assert "& <b>`" in text  # a line of the student's code, verbatim inside a code span


def test_reports_say_which_cell_and_line_and_the_headline_comes_first():
    page = html_report(xor_with_mistakes(), catalog("en"))
    assert page.index("77/100") < page.index("What to fix") < page.index("in cell 14, line 7")
    text = markdown_report(xor_with_mistakes(), catalog("es"))
    assert text.splitlines()[0].endswith("77/100")
    assert "celda 14, línea 7" in text


def test_a_report_stays_small_whatever_the_notebook_printed():
    result = xor_with_mistakes()
    flood = "x" * 5_000_000
    result.checks[0].messages = [Message("raised", {"function": "XORDataset", "type": "ValueError", "message": flood})] * 50
    result.notes = [Message("cell_error", {"cell": i, "type": "E", "message": flood}) for i in range(50)]
    for language in LANGUAGES:
        assert len(html_report(result, catalog(language)).encode()) < 2 * 2**20
        assert len(markdown_report(result, catalog(language)).encode()) < 2 * 2**20


@pytest.mark.parametrize("figure", [BOUNDARY, LOSSES, Figure("training_loss", LOSSES.data), GRADIENT_ERRORS],
                         ids=lambda f: f.kind)
def test_each_kind_of_figure_is_drawn_as_an_inline_png(figure):
    picture = render_figure(figure, catalog("es"))
    assert picture["data_uri"].startswith("data:image/png;base64,") and len(picture["data_uri"]) > 5000
    assert picture["caption"] == catalog("es").text(f"figures.{figure.kind}")


def test_a_figure_with_broken_data_is_left_out_not_fatal():
    assert render_figure(Figure("decision_boundary", {"n": 41, "low": 0}), catalog("en")) is None
    assert render_figure(Figure("gradient_errors", {"cases": ["a"], "parameters": ["W1"], "errors": [["x"]]}),
                         catalog("en")) is None
    assert render_figure(Figure("no_such_kind", {}), catalog("en")) is None


def test_html_carries_the_figures_of_failed_and_passed_checks():
    page = html_report(xor_with_mistakes(), catalog("en"))
    assert page.count('<img src="data:image/png;base64,') == 2
    assert page.index("What to fix") < page.index("The loss at each batch") < page.index("Pictures") \
        < page.index("Your model after the end-to-end training")
