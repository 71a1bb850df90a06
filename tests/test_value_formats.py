"""The catalogs write the plain values messages carry (grader/reports/value_formats.py): the same
text in every language, from data a judge passed, and what does not have the expected form shown
as it came rather than raising."""

from __future__ import annotations

import pytest

from grader.reports.catalog import LANGUAGES, catalog
from grader.reports.value_formats import formatted
from grader.trusted.results import Message

CALL = {"function": "backprop", "arguments": [{"name": "x", "shape": [5, 3]}, {"name": "params", "sizes": [3, 3, 1]}]}


@pytest.mark.parametrize("value, spec, text", [
    ([4, 2], "shape", "[4, 2]"),
    ([], "shape", "[]"),
    ("dict", "shape", "dict"),
    ([2, 4, 1], "sizes", "2-4-1"),
    (["W1", "b1"], "list", "W1, b1"),
    ([], "list", "—"),
    ("linear1.weight", "list", "linear1.weight"),
    ({"kind": "tensor", "dtype": "float32", "shape": [4, 2]}, "seen", "tensor float32 [4, 2]"),
    ({"kind": "NoneType"}, "seen", "NoneType"),
    ([{"kind": "tensor", "dtype": "int64", "shape": [8]}, {"kind": "list"}], "seen", "tensor int64 [8]; list"),
    ([["linear1.weight", [4, 2]], ["linear1.bias", [4]]], "params", "linear1.weight [4, 2], linear1.bias [4]"),
    ([], "params", "—"),
    (CALL, "call", "backprop(x [5, 3], params 3-3-1)"),
    ("sigmoid(z)", "call", "sigmoid(z)"),
    (0.87471234, "round6", "0.874712"),
    (1.0, "round6", "1.0"),
    (3, "round6", "3"),
    ([0.12345, -1.5], "round3", "[0.123, -1.5]"),
    ("nan", "round4", "nan"),
])
def test_a_value_is_written_as_its_spec_says(value, spec, text):
    assert formatted(value, spec) == text


def test_other_specs_are_python_s():
    assert formatted(0.5, ".2f") is None
    assert catalog("en").message(Message("training_reached", {
        "sizes": [2, 8, 1], "epochs": 300, "accuracy": 97.5, "n": 200, "threshold": 95.0})).startswith(
        "A 2-8-1 network")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_call_reads_the_same_in_every_language(language):
    assert catalog(language).message(Message("case_call", {"call": CALL})) == "backprop(x [5, 3], params 3-3-1)"
