"""check() without kernels: which parts it judges and where its end-to-end training runs, what it
shows (text and HTML, both languages), that it does nothing in a grading kernel, and the check
cells: where a release puts them, and that grading takes out every use of check()."""

from __future__ import annotations

import builtins
import contextlib
import io

import nbformat
import pytest

from grader.assignments import ASSIGNMENTS
from grader.authoring.release import release_notebook
from grader.reports.catalog import catalog
from grader.selfcheck import check, display
from grader.selfcheck.cells import CHECK_TAG, check_cell, neutral_source, without_checks
from grader.selfcheck.check import GRADING_ENV, TRAINING, CheckRequestError, SelfCheck, _choose, _device, parts_of
from grader.trusted.points import checks_of
from grader.trusted.results import CheckResult, GradeResult, Message

# (source, what grading runs of it): every top-level use of check() goes, every other line stays.
NEUTRALISED = {
    "released_cell": (check_cell(["XORDataset"], "0.1.0").source, ""),
    "plain_import_and_call": ("from grader import check\ncheck('train_model')\n", ""),
    "all_parts_in_english": ("import grader\ngrader.check(lang='en')", ""),
    "colab_install": ("!pip install grader-0.1.0-py3-none-any.whl\nfrom grader import check", ""),
    "beside_other_code": ("import torch\nfrom grader import check\nx = 1", "import torch\n\nx = 1"),
    "one_line_shared": ("import torch; from grader import check", "import torch; from grader import check"),
    "nested_stays": ("def f():\n    check()\ncheck('eval_model')\n", "def f():\n    check()\n\n"),
    "not_a_constant_call": ("check(parts)", "check(parts)"),
    "result_kept": ("r = check()", "r = check()"),
    "other_magics_stay": ("%matplotlib inline\ncheck()", "%matplotlib inline\n"),
    "other_pip_stays": ("!pip install tqdm\nx = 1", "!pip install tqdm\nx = 1"),
    "try_with_other_code": ("try:\n    from grader import check\nexcept ImportError:\n    x = 1\n",
                            "try:\n    from grader import check\nexcept ImportError:\n    x = 1\n"),
    "not_python": ("check(\n", "check(\n"),
    "nested_past_the_parser": ("x = " + "-" * 200_000 + "1\ncheck()", "x = " + "-" * 200_000 + "1\ncheck()"),
}


@pytest.mark.parametrize("case", sorted(NEUTRALISED))
def test_grading_takes_out_top_level_uses_of_check_keeping_line_numbers(case):
    source, expected = NEUTRALISED[case]
    assert neutral_source(source) == expected


def test_a_check_function_of_the_students_own_is_left_alone():
    own = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def check(x):\n    return x\ncheck('a')")])
    assert without_checks(own).cells[0].source == own.cells[0].source
    own.cells.append(nbformat.v4.new_code_cell("from grader import check"))
    assert without_checks(own).cells[1].source == ""


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_a_release_checks_each_exercise_after_it_and_every_part_at_the_end(name):
    reference = nbformat.read(ASSIGNMENTS[name].reference, as_version=4)
    released = release_notebook(reference, name)
    checks = [(i, c) for i, c in enumerate(released.cells) if CHECK_TAG in c.metadata.get("tags", [])]
    assert checks[-1][0] == len(released.cells) - 1 and checks[-1][1].source.rstrip().endswith("check()")
    checked = set()
    for index, cell in checks[:-1]:
        before = released.cells[index - 1]
        assert before.cell_type == "code" and "raise NotImplementedError()" in before.source
        checked.update(part for part in parts_of(name) if repr(part) in cell.source.splitlines()[-1])
    # Every part a student writes in one cell has its own check; the rest (training runs) the last.
    assert set(parts_of(name)) - checked <= set(TRAINING[name].values())
    assert all(neutral_source(cell.source) == "" for _, cell in checks)
    assert release_notebook(reference, name) == released  # the same text each time


def test_the_check_cell_without_the_grader_prints_one_line_saying_how_to_install():
    source = check_cell(["sigmoid"], "0.1.0").source
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "cell", "exec"), {"__builtins__": dict(vars(builtins), __import__=_no_grader)})
    assert out.getvalue().count("\n") == 1 and "pip install grader-0.1.0-py3-none-any.whl" in out.getvalue()


def _no_grader(name, *args, **kwargs):
    if name.split(".")[0] == "grader":
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return builtins.__import__(name, *args, **kwargs)


def test_parts_are_graded_objects_or_check_names_and_a_wrong_one_gets_a_suggestion():
    assert _choose(("train_model",), {}, None) == ("xor", ("train_model",))
    assert _choose(("dataset_length",), {}, None) == ("xor", ("XORDataset",))
    assert _choose((), {"sigmoid": 1, "backprop": 2}, None) == ("backprop", parts_of("backprop"))
    with pytest.raises(CheckRequestError) as wrong:
        _choose(("train_modle",), {}, None)
    assert wrong.value.params["suggestion"] == "train_model"
    assert display.request_text(wrong.value, catalog("es")).endswith("¿Quisiste decir `train_model`?")
    with pytest.raises(CheckRequestError) as nothing:
        _choose((), {"x": 1}, None)
    assert nothing.value.key == "no_assignment"


def test_every_probe_that_is_skipped_belongs_to_one_part_and_every_part_has_checks():
    for name in ASSIGNMENTS:
        assert set(TRAINING[name]) <= set(ASSIGNMENTS[name].judge.probes)
        assert set(TRAINING[name].values()) <= set(parts_of(name))
        assert parts_of(name) == tuple(dict.fromkeys(s.tag for s in checks_of(name)))


def test_the_end_to_end_training_runs_on_the_notebooks_device_or_falls_back_to_the_cpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _device({}) == ("cpu", [])
    assert _device({"device": torch.device("cpu")}) == ("cpu", [])
    assert _device({"device": torch.device("cuda")}) == ("cpu", [("device_fallback", {"device": "cuda"})])
    assert _device({"device": "cuda:0"}) == ("cpu", [("device_fallback", {"device": "cuda:0"})])
    assert _device({"device": "mps"}) == ("cpu", [("device_fallback", {"device": "mps"})])
    assert _device({"device": 3.5}) == ("cpu", [])  # not a device: where grade submit's auto would train
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a Colab GPU runtime
    assert _device({}) == ("cuda", [])
    assert _device({"device": torch.device("cuda")}) == ("cuda", [])
    assert _device({"device": torch.device("cpu")}) == ("cpu", [])


def _found(passed: bool) -> SelfCheck:
    checks = [CheckResult("dataset_length", "XORDataset", "1", 3.0, 3.0, True, []),
              CheckResult("dataset_item_types", "XORDataset", "2", 4.0 if passed else 0.0, 4.0, passed,
                          [] if passed else [Message("item_not_pair", {"got": "<list>"}),
                                             Message("at_line", {"cell": 5, "line": 3, "code": "return [x, y]"})])]
    result = GradeResult("xor", "", sum(c.score for c in checks), 7.0, checks, [], 101, "cpu", 0.25, "0.1.0", "none")
    return SelfCheck(result, ("XORDataset",), [] if passed else [("cells", {})])


def test_what_check_shows_one_line_per_check_the_total_then_the_feedback_in_either_language():
    es = display.text(display.panel(_found(False), catalog("es")))
    lines = es.splitlines()
    assert lines[1].startswith("bien") and lines[2].startswith("falla") and lines[3].startswith("Total: 3/7")
    assert "Qué corregir:" in lines and "`dataset[idx]` devolvió un <list>" in es
    assert "en la celda 5, línea 3: return [x, y]" in es and "[N]" in es and "--seed 101" in es
    en = display.text(display.panel(_found(True), catalog("en")))
    assert "Total: 7/7" in en and "What to fix" not in en and "ok" in en.splitlines()[1]
    html = display.html(display.panel(_found(False), catalog("es")))
    assert "Total: 3/7" in html and "&lt;list&gt;" in html and "<list>" not in html
    assert "<style" not in html  # a notebook's page must not be restyled


def test_in_a_grading_kernel_check_does_nothing(monkeypatch, capsys):
    monkeypatch.setenv(GRADING_ENV, "1")
    assert check("train_model") is None
    assert capsys.readouterr().out == catalog("es").text("selfcheck.while_grading") + "\n"


def test_release_wheel_without_a_bundle_is_one_line_and_exit_2():
    from click.testing import CliRunner

    from grader.cli import main

    result = CliRunner().invoke(main, ["release", "--wheel"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "grade: error: --wheel builds the student bundle as a wheel: give --student-bundle DIR too\n"


def test_the_probes_leave_the_notebooks_random_generators_as_they_were():
    import random

    import numpy
    import torch

    from grader.selfcheck.in_kernel import like_the_grading_kernel

    before = random.getstate(), numpy.random.get_state()[1].copy(), torch.random.get_rng_state()
    with like_the_grading_kernel():  # what a student's function the probes call may draw
        random.random(), numpy.random.rand(), torch.rand(1)
    assert random.getstate() == before[0]
    assert (numpy.random.get_state()[1] == before[1]).all()
    assert torch.equal(torch.random.get_rng_state(), before[2])
