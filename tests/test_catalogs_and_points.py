"""Messages and points: both languages say everything, every message a judge uses exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import grader
from grader.reports.catalog import LANGUAGES, catalog
from grader.trusted.points import POINTS

SOURCE = Path(grader.__file__).parent


def test_catalogs_have_the_same_keys():
    keys = [set(catalog(lang).entries) for lang in LANGUAGES]
    assert all(k == keys[0] for k in keys)


def test_every_message_key_in_the_code_is_in_the_catalog():
    used = set()
    for path in SOURCE.rglob("*.py"):
        used |= set(re.findall(r'Message\(\s*"([a-z_.]+)"', path.read_text("utf-8")))
        used |= set(re.findall(r'"(hint\.[a-z_]+)"', path.read_text("utf-8")))
    used |= {f"mismatch.{kind}" for kind in ("missing", "shape", "dtype", "values")}
    for lang in LANGUAGES:
        missing = {k for k in used if f"messages.{k}" not in catalog(lang).entries}
        assert not missing, (lang, missing)


@pytest.mark.parametrize("assignment", sorted(POINTS))
def test_points_table(assignment):
    specs = POINTS[assignment]
    assert sum(s.points for s in specs) == 100
    assert len({s.name for s in specs}) == len(specs)
    for lang in LANGUAGES:
        assert all(catalog(lang).check_title(s.name) for s in specs)


def test_xor_tags_are_the_judged_objects():
    assert {s.tag for s in POINTS["xor"]} == {
        "XORDataset", "ClasificadorSimple", "train_model", "eval_model", "visualize_samples",
        "state_dict", "end_to_end"}


def test_backprop_tags_are_the_functions_and_training():
    assert {s.tag for s in POINTS["backprop"]} == {
        "sigmoid", "sigmoid_prime", "mse_loss", "mse_loss_grad", "output_delta", "hidden_delta",
        "layer_gradients", "backprop", "backprop_training"}


def test_a_message_parameter_may_be_called_key():
    from grader.reports.catalog import catalog
    from grader.trusted.results import Message

    for language in ("es", "en"):
        assert "W1" in catalog(language).message(Message("training_missing_key", {"epoch": 3, "key": "W1"}))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogs_use_no_markup_the_reports_do_not_render(lang):
    # The renderers turn `backticks` into code and nothing else: **bold** would show its asterisks.
    outside_code = {key: re.sub(r"`[^`]*`", "", text) for key, text in catalog(lang).entries.items()}
    assert {key for key, text in outside_code.items() if re.search(r"\*\*|__\w|<\w", text)} == set()
