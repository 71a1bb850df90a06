"""`grade batch` on a class whose folder holds what real ones do, without kernels (grading is
replaced by a fixed result): names that are the class's own files, formulas, names equal once made
safe, symbolic links, hidden files and OS junk, a notebook whose grading fails and one whose report
cannot be written. Each failure is that submission's `error` with an empty score, the rest are
graded, and the next run grades the errors again."""

from __future__ import annotations

import csv
import dataclasses
import json
import os

import pytest
from click.testing import CliRunner

import grader.grading
import grader.reports.render
from grader.cli import main
from report_cases import _result

NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def messy_class(tmp_path):
    folder = tmp_path / "entregas"
    (folder / "luis" / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / "__MACOSX").mkdir()
    for name in ["ana.ipynb", "gradebook.csv.ipynb", "manifest.json.ipynb", "summary.html.ipynb",
                 "students.ipynb", "submissions.ipynb", "@SUM(1+1).ipynb", "-2+3.ipynb", "Ana García.ipynb",
                 "Ana_García.ipynb", "fallo.ipynb", "informe.ipynb", ".oculto.ipynb", ".DS_Store", "._ana.ipynb",
                 "~$ana.ipynb", "luis/entrega.ipynb", "luis/.ipynb_checkpoints/entrega-checkpoint.ipynb",
                 "__MACOSX/._ana.ipynb"]:
        (folder / name).write_text(NOTEBOOK, "utf-8")
    (folder / os.fsdecode(b"\xff\xfe.ipynb")).write_text(NOTEBOOK, "utf-8")  # a name that is not UTF-8
    (folder / "enlace.ipynb").symlink_to(folder / "ana.ipynb")
    (folder / "carpeta").symlink_to(folder / "luis")
    (folder / "luis" / "copia.ipynb").symlink_to(folder / "ana.ipynb")
    return folder


@pytest.fixture
def fake_grading(monkeypatch):
    """Grading that fails for fallo.ipynb (until ``fixed``) and whose report fails for informe.ipynb."""
    state = {"calls": [], "fixed": False}

    def grade_notebook(path, **options):
        state["calls"].append(path.name)
        if path.name == "fallo.ipynb" and not state["fixed"]:
            raise RuntimeError("the sandbox broke")
        return dataclasses.replace(_result("backprop", {}, {}, []), notebook=str(path))

    real_report = grader.reports.render.html_report

    def html_report(result, catalog):
        if result.notebook.endswith("informe.ipynb") and not state["fixed"]:
            raise OSError(28, "No space left on device", "feedback.html")
        return real_report(result, catalog)

    monkeypatch.setattr(grader.grading, "grade_notebook", grade_notebook)
    monkeypatch.setattr(grader.reports.render, "html_report", html_report)
    return state


def _gradebook(out):
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_a_messy_class_is_graded_and_its_errors_graded_again(messy_class, fake_grading, tmp_path):
    out = tmp_path / "notas"
    run = CliRunner().invoke(main, ["batch", str(messy_class), "--out", str(out)])
    assert run.exit_code == 3, run.output
    refused = [line for line in run.stderr.splitlines() if line.startswith("grade: not graded: ")]
    assert refused == [
        f"grade: not graded: {messy_class / '.oculto.ipynb'}: hidden (its name starts with a dot); "
        "not graded: rename it to grade it",
        f"grade: not graded: {messy_class / 'carpeta'}: a symbolic link; not graded (submit the notebook itself)",
        f"grade: not graded: {messy_class / 'enlace.ipynb'}: a symbolic link; not graded (submit the notebook itself)",
        f"grade: not graded: {messy_class / 'luis' / 'copia.ipynb'}: a symbolic link; not graded "
        "(submit the notebook itself)"]
    assert run.stderr.splitlines()[-1] == (
        f"grade: error: could not grade 2 submission(s) (status error, no score, in {out / 'gradebook.csv'}); "
        "see their reason there, then run the same command again to grade them")
    assert "Traceback" not in run.output

    # The class's own files are where they belong, each student's in students/.
    assert sorted(p.name for p in out.iterdir()) == ["gradebook.csv", "manifest.json", "students", "summary.html"]
    rows = _gradebook(out)
    assert sorted(rows) == sorted(["'-2_3", "'@SUM_1_1", "Ana_García", "Ana_García-2", "ana", "anonymous", "fallo",
                                   "gradebook.csv", "informe", "luis", "manifest.json", "students", "submissions",
                                   "summary.html"])
    assert rows["luis"]["file"] == str(messy_class / "luis" / "entrega.ipynb")
    assert rows["fallo"]["status"] == "error" and rows["fallo"]["score"] == "" and rows["fallo"]["max_score"] == ""
    assert rows["fallo"]["reason"].startswith("could not grade: the grader failed (RuntimeError: the sandbox broke)")
    assert rows["informe"]["status"] == "error" and rows["informe"]["score"] == ""
    assert "No space left on device" in rows["informe"]["reason"]
    assert rows["gradebook.csv"]["score"] == "100" and rows["anonymous"]["file"].endswith("\ufffd\ufffd.ipynb")
    assert (out / "students" / "manifest.json" / "feedback.html").exists()

    # Run again: only what the grader failed is graded again, without --force.
    fake_grading["calls"].clear()
    fake_grading["fixed"] = True
    again = CliRunner().invoke(main, ["batch", str(messy_class), "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert sorted(fake_grading["calls"]) == ["fallo.ipynb", "informe.ipynb"]
    assert "2 graded, 12 skipped" in again.stdout
    rows = _gradebook(out)
    assert (rows["fallo"]["status"], rows["fallo"]["score"]) == ("graded", "100")
    merged = CliRunner().invoke(main, ["merge", str(out), "--out", str(tmp_path / "juntas")])
    assert merged.exit_code == 0, merged.output
    assert (tmp_path / "juntas" / "gradebook.csv").read_text("utf-8") == (out / "gradebook.csv").read_text("utf-8")


def test_gradebook_cells_that_start_like_formulas_are_text(tmp_path):
    from grader.batch import Submission
    from grader.gradebook import write_gradebook, write_manifest

    write_manifest(tmp_path, [Submission(s, tmp_path / f"{s}.ipynb", name) for s, name in
                              [("a", "=HYPERLINK(\"http://x\")"), ("b", "+1"), ("c", "-1"), ("d", "@SUM(A1)"),
                               ("e", "\tx"), ("f", "\rx"), ("g", "Ana")]], None)
    with open(write_gradebook(tmp_path), newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert [row[1] for row in rows[1:]] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\nx",
                                            "Ana"]


def test_a_batch_that_fails_keeps_a_gradebook_and_says_so_in_one_line(tmp_path, monkeypatch):
    import grader.batch

    folder = tmp_path / "entregas"
    folder.mkdir()
    for name in ("ana", "luis"):
        (folder / f"{name}.ipynb").write_text(NOTEBOOK, "utf-8")

    def broken(*args, **kwargs):
        yield grader.batch.Outcome("ana", "graded", 100, 100)
        raise RuntimeError("A process in the process pool was terminated abruptly")
    monkeypatch.setattr(grader.batch, "grade_class", broken)
    run = CliRunner().invoke(main, ["batch", str(folder), "--out", str(tmp_path / "notas")])
    assert run.exit_code == 3
    assert run.stderr == ("grade: error: could not grade: the grader failed (RuntimeError: A process in the process "
                          "pool was terminated abruptly); this is not the notebook's fault: run again with --debug "
                          "for the details and report them\n")
    assert set(_gradebook(tmp_path / "notas")) == {"ana", "luis"}  # both "missing": nothing was written for them


def test_a_zip_lists_its_hidden_files_and_skips_os_junk(tmp_path):
    import zipfile

    from grader.lms import skipped_entries

    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as archive:
        for name in ("ana.ipynb", ".oculto.ipynb", "luis/.entrega.ipynb", "__MACOSX/._ana.ipynb", ".DS_Store",
                     "luis/.ipynb_checkpoints/entrega-checkpoint.ipynb", "._luis.ipynb", "~$ana.ipynb"):
            archive.writestr(name, NOTEBOOK)
    hidden = "hidden (its name starts with a dot); not graded: rename it to grade it"
    assert skipped_entries(export) == [(".oculto.ipynb", hidden), ("luis/.entrega.ipynb", hidden)]
