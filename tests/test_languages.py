"""A report is in one language: the golden reports of each language, and every sentence of its
catalog, hold no word of the other one. Words inside code spans (names, calls, a line of the
student's code) and text quoted from the student's side (an exception's message) are not the
grader's, and are left out of the scan."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from grader.reports.catalog import LANGUAGES, catalog
from grader.trusted.results import Message
from report_cases import CASES, QUOTED_PARAMS

GOLDEN = Path(__file__).parent / "golden"

# Words that only the other language uses (short function words and the grader's own terms), so
# that a hit is a fragment, never a word both languages share ("error", "no", "a", "tensor") nor a
# variable of the lecture's formulas ("y" in L = 1/2 Σ (y − a)²).
FOREIGN = {
    "es": {"the", "and", "of", "with", "for", "from", "to", "is", "are", "was", "has", "have", "got", "not",
           "but", "this", "that", "which", "should", "must", "missing", "unexpected", "keys", "values", "key",
           "size", "mismatch", "timeout", "expected", "returned", "line", "cell", "probe", "process", "exit",
           "signal", "hint", "advice", "passed", "failed", "it", "its", "in", "on", "at"},
    "en": {"el", "la", "los", "las", "del", "que", "con", "para", "una", "por", "es", "son", "se", "su", "sus",
           "celda", "línea", "claves", "valores", "prueba", "proceso", "señal", "faltan", "sobran", "pista",
           "consejo", "debe", "tiene", "tiempo", "agotado", "esperaba", "devolvió", "lanzó", "en", "de"},
}
_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# An identifier (n_in) is one word, a name rather than English; so is a word in capitals (AND, XOR).
_WORD = re.compile(r"[^\W\d]+")


def foreign_words(text: str, language: str, quoted: tuple[str, ...] = ()) -> set[str]:
    """The other language's words in ``text`` (Markdown), outside code spans and quoted text."""
    text = html.unescape(re.sub(r"\\(.)", r"\1", text))  # the reports' Markdown escapes, undone
    for quote in sorted(quoted, key=len, reverse=True):
        text = text.replace(quote, " ")
    text = _CODE.sub(" ", text)
    return {word.lower() for word in _WORD.findall(text) if word.lower() in FOREIGN[language] and not word.isupper()}


def _quoted(value) -> list[str]:
    """The student's side's own words in a result's messages."""
    if isinstance(value, Message):
        return [str(v) for k, v in value.params.items() if k in QUOTED_PARAMS] + _quoted(list(value.params.values()))
    if isinstance(value, list):
        return [q for item in value for q in _quoted(item)]
    return []


def test_the_scan_finds_a_fragment_of_the_other_language():
    # The fragments this test was written for: a strict load's problem and a state_dict's part.
    assert foreign_words("no carga con `strict=True`: missing keys: ['a']; unexpected keys: []", "es") == {
        "missing", "keys", "unexpected"}
    assert foreign_words("(values: `linear1.weight`)", "es") == {"values"}
    assert foreign_words("does not load: le faltan las claves `a`", "en") == {"faltan", "las", "claves"}
    assert foreign_words("`the` and `la`", "es") == {"and"}
    assert foreign_words("lanzó ValueError: the size", "es", quoted=("the size",)) == set()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_golden_report_holds_no_word_of_the_other_language(case, language):
    result = CASES[case]()
    messages = [m for c in result.checks for m in c.messages + c.advice] + result.notes
    text = (GOLDEN / f"{case}.{language}.md").read_text("utf-8")
    assert foreign_words(text, language, tuple(_quoted(messages))) == set()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalog_sentence_holds_no_word_of_the_other_language(language):
    found = {key: words for key, text in catalog(language).entries.items()
             if (words := foreign_words(_PLACEHOLDER.sub(" ", text), language))}
    assert found == {}
