"""What escapes the grader when it fails or meets bad input, without kernels: exactly one line on
stderr and the documented exit status (2 unusable input, 3 could not grade, never 1 and never a
traceback), text that no encoder takes written and printed all the same, no draft left behind."""

from __future__ import annotations

import errno
import json
import os
import re

import pytest
from click.testing import CliRunner

import grader.grading
from grader.cli import main
from grader.errors import CouldNotGrade, could_not_grade
from grader.trusted.results import Message
from report_cases import _result

BUG = ("grade: error: could not grade: the grader failed (RuntimeError: boom); this is not the notebook's "
       "fault: run again with --debug for the details and report them\n")


def _notebook(tmp_path, name="entrega.ipynb"):
    path = tmp_path / name
    path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), "utf-8")
    return path


def _failing(err: BaseException):
    def grade_notebook(*args, **kwargs):
        raise err
    return grade_notebook


def test_a_failure_of_the_grader_is_one_line_and_exit_3(tmp_path, monkeypatch):
    monkeypatch.setattr(grader.grading, "grade_notebook", _failing(RuntimeError("boom\nsecond line")))
    result = CliRunner().invoke(main, ["submit", str(_notebook(tmp_path))])
    assert (result.exit_code, result.stdout, result.stderr) == (3, "", BUG)


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setattr(grader.grading, "grade_notebook", _failing(RuntimeError("boom")))
    for args, env in ((["--debug"], {}), ([], {"GRADER_DEBUG": "1"})):
        result = CliRunner(env=env).invoke(main, [*args, "submit", str(_notebook(tmp_path))])
        assert result.exit_code == 3
        assert result.stderr.startswith("Traceback (most recent call last):\n") and result.stderr.endswith(BUG)


@pytest.mark.parametrize("err, line", [
    (RecursionError("maximum recursion depth exceeded"),
     "grade: error: could not grade: the grader failed (something nested too deeply for the grader); this is "
     "not the notebook's fault: run again with --debug for the details and report them\n"),
    (CouldNotGrade("could not grade: the sandbox did not start; run grade doctor"),
     "grade: error: could not grade: the sandbox did not start; run grade doctor\n"),
    (AssertionError(), "grade: error: could not grade: the grader failed (AssertionError); this is not the "
                       "notebook's fault: run again with --debug for the details and report them\n"),
    (RuntimeError("boom \ud800"), "grade: error: could not grade: the grader failed (RuntimeError: boom \ufffd); "
                                  "this is not the notebook's fault: run again with --debug for the details and "
                                  "report them\n"),
])
def test_every_failure_of_the_grader_is_exit_3(tmp_path, monkeypatch, err, line):
    monkeypatch.setattr(grader.grading, "grade_notebook", _failing(err))
    result = CliRunner().invoke(main, ["submit", str(_notebook(tmp_path))])
    assert (result.exit_code, result.stderr) == (3, line)


def test_deep_json_in_the_notebook_is_unusable_input(tmp_path):
    path = tmp_path / "hondo.ipynb"
    path.write_text('{"cells": [], "metadata": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}", "utf-8")
    result = CliRunner().invoke(main, ["submit", str(path)])
    assert (result.exit_code, result.stderr) == (
        2, f"grade: error: {path}: JSON nested too deeply to be a notebook; save it again from Jupyter\n")


def _graded(tmp_path, monkeypatch, notes, name="entrega.ipynb"):
    result = _result("backprop", failed={"sigmoid_matches_reference": [
        Message("raised", {"function": "sigmoid", "type": "ValueError\udcff", "message": "**100/100** \ud800"})]},
        advice={}, notes=notes)
    monkeypatch.setattr(grader.grading, "grade_notebook", lambda *args, **kwargs: result)
    return _notebook(tmp_path, name)


def test_a_full_disk_is_exit_3_and_leaves_no_draft(tmp_path, monkeypatch):
    path = _graded(tmp_path, monkeypatch, [])

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr("grader.files.os.fsync", full)
    result = CliRunner().invoke(main, ["submit", str(path), "--md", str(tmp_path / "f.md")])
    assert result.exit_code == 3
    assert result.stderr == (f"grade: error: could not grade: cannot use {tmp_path / 'entrega.feedback.html'}: "
                             "No space left on device; free some space or fix its permissions (or choose another "
                             "folder), then run again\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entrega.ipynb"]


def test_unencodable_text_and_file_names_are_written_and_printed(tmp_path, monkeypatch):
    name = os.fsdecode(b"entrega-\xff.ipynb")  # not UTF-8: a lone surrogate in Python's str
    path = _graded(tmp_path, monkeypatch, [Message("cell_error", {"cell": 3, "type": "E\ud800",
                                                                  "message": "\udcff"})], name)
    md, js = tmp_path / "f.md", tmp_path / "r.json"
    result = CliRunner().invoke(main, ["submit", str(path), "--md", str(md), "--json", str(js), "--lang", "en"])
    assert result.exit_code == 1, result.output  # graded, points lost
    assert "E\ufffd" in result.stdout and "ValueError\ufffd" in result.stdout
    assert json.loads(js.read_text("utf-8"))["output"].count("\ufffd") >= 2
    assert (tmp_path / os.fsdecode(b"entrega-\xff.feedback.html")).read_text("utf-8").count("\ufffd") >= 3
    report = md.read_text("utf-8")
    assert "\\*\\*100/100\\*\\* \ufffd" in report  # and no bold grade either


def test_could_not_grade_names_the_file_it_could_not_write():
    err = could_not_grade(PermissionError(errno.EACCES, "Permission denied", "/notas/gradebook.csv"))
    assert str(err) == ("could not grade: cannot use /notas/gradebook.csv: Permission denied; free some space or "
                        "fix its permissions (or choose another folder), then run again")


HOSTILE_TEXT = ("**100/100** [clic](http://e.vil/x) ![b](http://e.vil/beacon.png) <img src=http://e.vil/b.png> "
                "&amp; www.e.vil ana@e.vil `code` `` a`b `` lone ` tick ~~tachado~~ _em_ *em* \\*escaped\\* trailing\\")


def test_markdown_reports_show_student_text_as_text():
    from markdown_it import MarkdownIt

    from grader.reports.catalog import catalog
    from grader.reports.render import markdown_report

    result = _result("backprop", failed={"sigmoid_matches_reference": [
        Message("raised", {"function": "sigmoid", "type": "ValueError", "message": HOSTILE_TEXT}),
        Message("at_line", {"cell": 3, "line": 1, "code": "x = '`` **b** ``' # " + HOSTILE_TEXT})]},
        advice={}, notes=[Message("cell_error", {"cell": 4, "type": "**X**", "message": HOSTILE_TEXT})])
    page = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(
        markdown_report(result, catalog("en")))
    for markup in ("<a ", "<img", "<em>", "<s>", "<del>", "<script"):
        assert markup not in page
    assert page.count("<strong>") == 1  # the failed check's own title
    assert "**100/100**" in page and "&lt;img src=http://e.vil/b.png&gt;" in page
    # GFM's bare autolinks need "://", "www." or "@" as they are: outside code spans they are escaped.
    note = next(line for line in markdown_report(result, catalog("en")).splitlines() if line.startswith("- Cell 4"))
    assert not re.search(r"[^\\]://", note)
    assert "http\\://e.vil" in note and "www\\.e.vil" in note and "ana\\@e.vil" in note


def test_twenty_thousand_failing_cells_give_a_short_report():
    from grader.grading import MAX_NOTES_PER_KIND, _run_notes
    from grader.reports.catalog import catalog
    from grader.reports.render import html_report, markdown_report
    from grader.untrusted.limits import Limits
    from grader.untrusted.outcomes import CellOutcome, NotebookRun

    cuda = "Torch not compiled with CUDA enabled"  # each with the same hint, given once
    run = NotebookRun(cells=[CellOutcome(i, i + 1, "error", "AssertionError", cuda if i % 2 else f"x{i}")
                             for i in range(20_000)] + [CellOutcome(20_000, None, "timeout", seconds=9)])
    notes = _run_notes(run, [], {}, False, Limits())
    assert MAX_NOTES_PER_KIND == 5
    assert [n.key for n in notes] == ["cell_error"] * 2 + ["hint.device"] + ["cell_error"] * 3 + [
        "notes_omitted", "cell_timeout"]
    assert notes[6].params == {"count": 20_000 - MAX_NOTES_PER_KIND}
    result = _result("backprop", {}, {}, notes)
    assert "… and 19995 more notes of this kind." in markdown_report(result, catalog("en"))
    assert len(html_report(result, catalog("es")).encode()) < 20_000


def test_probes_left_at_the_grading_deadline_are_not_run_and_named():
    import asyncio

    from grader.grading import _deadline_notes
    from grader.untrusted.recovery import DEADLINE, RecoveringKernel
    from grader.untrusted.limits import Limits
    from grader.untrusted.outcomes import CellOutcome

    limits = Limits(grading_timeout_s=0)
    kernel = RecoveringKernel(None, None, limits, 0, None)  # nothing starts until it is entered
    outcome = asyncio.run(kernel.probe("", "sigmoid", None, None))
    assert (outcome.status, outcome.ending) == ("not_run", DEADLINE)
    notes = _deadline_notes({"mse_loss": CellOutcome(-1, None, "stuck"), "sigmoid": outcome,
                             "backprop": outcome}, limits)
    assert notes == [Message("grading_timeout", {"seconds": 0, "probes": ["sigmoid", "backprop"]})]
