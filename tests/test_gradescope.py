"""Gradescope without kernels: results.json to the letter of the spec (its JSON Schema, written
from the spec page), the container's limits adding up, the zip's layout and settings, and the
submissions run_autograder refuses (none, several) with what to upload."""

from __future__ import annotations

import json
import stat
import tomllib
import zipfile

import jsonschema
import nbformat
import pytest
from click.testing import CliRunner

from gradescope_schema import SCHEMA, assert_gradescope_results
from grader.cli import main
from grader.gradescope.autograder import AutograderRoot, run_autograder
from grader.gradescope.limits import (GRADER_RESERVE_MB, GRADESCOPE_MEMORY_MB, GRADESCOPE_TIMEOUT_S,
                                      container_limits, probe_count, worst_case_s)
from grader.reports.catalog import catalog
from grader.reports.gradescope import results_json
from report_cases import xor_with_mistakes


def test_the_schema_takes_the_spec_s_examples_and_refuses_fields_it_does_not_define():
    spec_example = {"score": 44.0, "execution_time": 136, "output": "Text relevant to the entire submission",
                    "output_format": "simple_format", "test_output_format": "text", "test_name_format": "text",
                    "visibility": "after_due_date", "stdout_visibility": "visible", "extra_data": {},
                    "tests": [{"score": 2.0, "max_score": 2.0, "status": "passed", "name": "Your name here",
                               "name_format": "text", "number": "1.1", "output": "Giant multiline string",
                               "output_format": "text", "tags": ["tag1", "tag2", "tag3"], "visibility": "visible",
                               "extra_data": {}}],
                    "leaderboard": [{"name": "Accuracy", "value": .926}, {"name": "Time", "value": 15.1, "order": "asc"},
                                    {"name": "Stars", "value": "*****"}]}
    status_only = {"tests": [{"name": "Compilation check", "status": "passed"},
                             {"name": "Test 3", "score": 5, "max_score": 10, "status": "passed"}]}
    jsonschema.validate(spec_example, SCHEMA)
    jsonschema.validate({"score": 1}, SCHEMA)
    for wrong in ({**spec_example, "max_score": 100},            # what this grader used to write
                  {**spec_example, "output_format": "markdown"},
                  {**spec_example, "stdout_visibility": "students"},
                  {"score": 1, "tests": [{"score": 1, "hints": []}]},
                  {"score": "44"},
                  status_only):                                  # no score anywhere
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, SCHEMA)


@pytest.mark.parametrize("language", ["es", "en"])
def test_results_json_follows_the_spec_with_our_data_in_extra_data(language):
    result = xor_with_mistakes(hostile_text=True)
    results = assert_gradescope_results(results_json(result, catalog(language)))
    assert "max_score" not in results and results["extra_data"]["max_score"] == 100
    assert results["score"] == result.score and results["extra_data"]["isolation"] == "root"
    assert {t["visibility"] for t in results["tests"]} == {"visible"}
    failed = {t["extra_data"]["check"]: t for t in results["tests"] if t["status"] == "failed"}
    assert set(failed) == {"train_model_matches_reference", "eval_model_returns_accuracy"}
    train = failed["train_model_matches_reference"]["output"]
    # Markdown: one paragraph per sentence, the student's own text escaped, their code as a code span.
    assert "<script>" not in train and "&lt;script&gt;" in train and "\n\n" in train
    assert any(p.startswith("`") and p.endswith(": preds = model(data_inputs) & <b>`") for p in train.split("\n\n"))
    assert failed["train_model_matches_reference"]["extra_data"]["hints"] == ["hint.matmul_shapes"]
    assert results["output"].count("\n\n") == 3  # summary, two notes, how to reproduce


def test_checks_hidden_until_the_due_date_and_only_those():
    result = xor_with_mistakes()
    results = results_json(result, catalog("es"), after_due_date=["end_to_end_accuracy", "eval_model_returns_accuracy"])
    assert_gradescope_results(results)
    later = {t["extra_data"]["check"] for t in results["tests"] if t["visibility"] == "after_due_date"}
    assert later == {"end_to_end_accuracy", "eval_model_returns_accuracy"}


def test_the_container_s_limits_add_up_to_less_than_its_memory_and_time():
    probes = probe_count()
    for memory_mb, timeout_s in [(GRADESCOPE_MEMORY_MB, GRADESCOPE_TIMEOUT_S), (1024, 900), (2048, 1200)]:
        limits = container_limits(memory_mb, timeout_s)
        assert limits.memory_mb + GRADER_RESERVE_MB <= memory_mb
        assert worst_case_s(limits, probes) <= timeout_s
        assert limits.notebook_timeout_s <= limits.grading_timeout_s and limits.disk_mb < limits.memory_mb
    assert container_limits(1024, 900).grading_timeout_s > container_limits().grading_timeout_s
    assert container_limits().memory_mb == GRADESCOPE_MEMORY_MB - GRADER_RESERVE_MB


def test_build_refuses_a_container_too_small_and_an_unknown_check(tmp_path):
    runner = CliRunner()
    small = runner.invoke(main, ["gradescope", "build", str(tmp_path / "a.zip"), "--memory-mb", "512"])
    assert small.exit_code == 2 and not (tmp_path / "a.zip").exists()
    assert small.output == ("grade: error: --memory-mb 512: too little for the grader (420 MB) and a kernel (300 MB); "
                            "give at least 720 and the same in Gradescope's autograder settings\n")
    short = runner.invoke(main, ["gradescope", "build", str(tmp_path / "a.zip"), "--timeout-s", "300"])
    assert short.exit_code == 2 and "--timeout-s 300: too little" in short.output
    typo = runner.invoke(main, ["gradescope", "build", str(tmp_path / "a.zip"), "--assignment", "backprop",
                                "--hide-until-due", "sigmoid_matches_referense"])
    assert typo.exit_code == 2
    assert typo.output == ("grade: error: --hide-until-due: no check named 'sigmoid_matches_referense'; "
                           "did you mean 'sigmoid_matches_reference'?\n")


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    run = CliRunner().invoke(main, ["gradescope", "build", str(out), "--lang", "en", "--hide-until-due",
                                    "backprop_training_reaches_accuracy, end_to_end_accuracy"])
    assert run.exit_code == 0, run.output
    assert run.output.startswith(f"wrote {out}: ") and "kernel memory 348 MB of 768 MB" in run.output
    return out


def test_the_zip_has_the_scripts_at_its_root_and_what_they_install(autograder_zip, tmp_path):
    with zipfile.ZipFile(autograder_zip) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        settings = tomllib.loads(archive.read("gradescope.toml").decode("utf-8"))
    assert names[:2] == ["setup.sh", "run_autograder"]
    assert all(stat.S_IMODE(modes[name]) == 0o755 for name in names[:2])
    assert {"pyproject.toml", "README.md", "grader/cli.py", "grader/reports/locale/es.toml",
            "grader/untrusted/probes/xor.py", "grader/gradescope/files/setup.sh",
            "reference/xor.ipynb", "reference/backprop.ipynb"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pt")) or n.startswith("exercises/")]
    assert settings["language"] == "en" and settings["assignment"] == ""
    assert settings["hide_until_due"] == ["backprop_training_reaches_accuracy", "end_to_end_accuracy"]
    assert len(settings["secret"]) == 64
    again = tmp_path / "again.zip"
    CliRunner().invoke(main, ["gradescope", "build", str(again), "--lang", "en", "--hide-until-due",
                              "backprop_training_reaches_accuracy,end_to_end_accuracy"])
    with zipfile.ZipFile(again) as archive:
        assert archive.namelist() == names  # same files, in the same order (only the secret differs)


def unpacked(autograder_zip, root):
    """A folder laid out as Gradescope's /autograder: source/ (the zip), submission/, results/."""
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(root / "source")
    return AutograderRoot(root)


@pytest.mark.parametrize("uploaded, message", [
    ({}, "No notebook (`.ipynb`) was found in your submission."),
    ({"notes.txt": "hola"}, "Files received: `.ipynb_checkpoints/old-checkpoint.ipynb`, `notes.txt`."),
    ({"a.ipynb": None, "b/c.ipynb": None}, "Your submission has several notebooks (`a.ipynb`, `b/c.ipynb`)"),
], ids=["empty", "no notebook", "two notebooks"])
def test_a_submission_without_exactly_one_notebook_gets_0_and_what_to_upload(autograder_zip, tmp_path, uploaded,
                                                                             message):
    where = unpacked(autograder_zip, tmp_path)
    for name, text in uploaded.items():
        path = where.submission / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            nbformat.write(nbformat.v4.new_notebook(), path)
        else:
            path.write_text(text)
    (where.submission / ".ipynb_checkpoints").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), where.submission / ".ipynb_checkpoints" / "old-checkpoint.ipynb")
    run = run_autograder(where)
    assert run.exit_code == 0 and run.results == json.loads(where.results.read_text("utf-8"))
    results = assert_gradescope_results(run.results)
    assert results["score"] == 0 and results["tests"] == [] and message in results["output"]
    assert results["extra_data"]["status"] == "unusable"
    assert run.lines[-1] == f"wrote {where.results} (score 0)"
    assert any(line.startswith("isolation: ") for line in run.lines)


def test_a_file_that_is_not_a_notebook_gets_0_and_the_reason(autograder_zip, tmp_path):
    where = unpacked(autograder_zip, tmp_path)
    (where.submission / "entrega.ipynb").write_text("{ not json")
    run = run_autograder(where)
    results = assert_gradescope_results(run.results)
    assert results["score"] == 0 and results["output"].startswith("`entrega.ipynb` could not be graded: ")
    assert results["output"].endswith("Fix it and submit the notebook again.")


def test_a_results_json_alone_is_never_read_back(tmp_path):
    """Gradescope's file is a rendering: a student's folder that holds only it (one written by an
    older grader) is "missing" from the gradebook, and the next batch grades it again."""
    from grader.batch import Submission, student_folder
    from grader.gradebook import write_gradebook, write_manifest

    write_manifest(tmp_path, [Submission("eva", tmp_path / "eva.ipynb")], None)
    results = {**results_json(xor_with_mistakes(), catalog("es"))}
    results["extra_data"] = {**results["extra_data"], "status": "graded"}
    student_folder(tmp_path, "eva").mkdir(parents=True)
    (student_folder(tmp_path, "eva") / "results.json").write_text(json.dumps(results), "utf-8")
    assert write_gradebook(tmp_path).read_text("utf-8").splitlines()[1] == f"eva,,{tmp_path / 'eva.ipynb'},,,missing,,"


def test_grade_gradescope_run_prints_for_the_instructor_and_exits_0_for_a_student_s_mistake(autograder_zip, tmp_path):
    where = unpacked(autograder_zip, tmp_path)
    run = CliRunner().invoke(main, ["gradescope", "run", "--root", str(tmp_path)])
    assert run.exit_code == 0, run.output
    lines = run.output.splitlines()
    assert lines[0].startswith("grader ") and "running as uid" in lines[0]
    assert lines[1].startswith("isolation: ")
    assert any(line.startswith("limits: kernel memory 348 MB of the container's 768 MB; ") for line in lines)
    assert lines[-2:] == [f"submission: 0 notebooks in {where.submission}; files: none",
                          f"wrote {where.results} (score 0)"]


def test_grade_gradescope_run_without_the_zip_s_settings_is_one_line_and_exit_2(tmp_path):
    run = CliRunner().invoke(main, ["gradescope", "run", "--root", str(tmp_path)])
    assert run.exit_code == 2 and not (tmp_path / "results").exists()
    assert run.output.startswith(f"grade: error: {tmp_path / 'source' / 'gradescope.toml'}: not the settings grade "
                                 "gradescope build writes (") and run.output.count("\n") == 1
