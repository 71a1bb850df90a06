"""`grade batch` on a small class: the same scores as `grade submit`, a row for every submission, a
second run that grades nothing again, and the same gradebook whether the class is graded at once,
in shards merged afterwards, on a dask cluster, or from an LMS export zip."""

from __future__ import annotations

import csv
import json
import zipfile

import nbformat
import pytest
from click.testing import CliRunner

from conftest import apply_replacements, load_cases
from gradescope_schema import assert_gradescope_file
from grader.batch import read_result
from grader.cli import main
from grader.reports.catalog import catalog
from grader.reports.gradescope import submission_json

pytestmark = [pytest.mark.kernel, pytest.mark.xdist_group("graded_class")]  # one worker builds its module fixture


@pytest.fixture(scope="module")
def small_class(tmp_path_factory, reference):
    folder = tmp_path_factory.mktemp("class") / "entregas"
    (folder / "luis").mkdir(parents=True)
    nbformat.write(reference("backprop"), folder / "ana.ipynb")
    mutant = next(m for m in load_cases("backprop.toml", "mutant") if m["tags"] == ["sigmoid"])
    nbformat.write(apply_replacements(reference("backprop"), mutant["replace"]), folder / "luis" / "entrega.ipynb")
    (folder / "rota.ipynb").write_text("{ not json")
    return folder


@pytest.fixture(scope="module")
def graded_class(small_class, tmp_path_factory):
    out = tmp_path_factory.mktemp("graded") / "notas"
    run = CliRunner().invoke(main, ["batch", str(small_class), "--out", str(out), "-j", "2"])
    assert run.exit_code == 0, run.output
    return out


def gradebook(out) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_a_class_is_graded_into_a_gradebook_and_a_rerun_skips_it(small_class, graded_class):
    from grader.notebook_file import code_digest, read_notebook
    from grader.seeds import course_secret, grading_seed
    from grader.selfcheck.cells import without_checks

    rows = gradebook(graded_class)
    assert set(rows) == {"ana", "luis", "rota"}
    assert rows["ana"]["score"] == "100" and rows["ana"]["status"] == "graded"
    assert rows["luis"]["status"] == "graded" and rows["luis"]["sigmoid"] == "0" and rows["luis"]["backprop"] == "20"
    assert rows["rota"]["status"] == "unusable" and "JSON" in rows["rota"]["reason"]
    for results in sorted((graded_class / "students").glob("*/results.json")):  # graded or not, Gradescope's shape
        assert_gradescope_file(results)
    assert (graded_class / "students" / "luis" / "feedback.html").exists()
    summary = (graded_class / "summary.html").read_text("utf-8")
    assert "luis" in summary and "hint.sigmoid_sign" not in summary
    # Graded as `grade submit` grades it (both call grade_notebook without a seed): with the seed
    # submit draws from the notebook and the course secret. Not graded a second time to show it:
    # that a grading with a given seed gives the same score every time is test_xor_grading's.
    luis = small_class / "luis" / "entrega.ipynb"
    graded = json.loads((graded_class / "students" / "luis" / "results.json").read_text("utf-8"))
    assert graded["extra_data"]["seed"] == grading_seed(code_digest(without_checks(read_notebook(luis))),
                                                        course_secret())
    # The result is kept as data, and the Gradescope file is its rendering; any language renders from it.
    stored = read_result(graded_class / "students" / "luis")
    assert submission_json(stored, catalog("es")) == graded
    assert submission_json(stored, catalog("en"))["tests"][0]["name"] == \
        catalog("en").check_title(stored.result.checks[0].name)
    assert read_result(graded_class / "students" / "rota").status == "unusable"

    before = (graded_class / "gradebook.csv").read_text("utf-8")
    again = CliRunner().invoke(main, ["batch", str(small_class), "--out", str(graded_class)])
    assert again.exit_code == 0 and "3 skipped" in again.output, again.output
    assert (graded_class / "gradebook.csv").read_text("utf-8") == before


def test_shards_merged_give_the_gradebook_of_one_run(small_class, graded_class, tmp_path):
    parts = [tmp_path / f"parte-{k}" for k in (1, 2, 3)]
    for k, part in enumerate(parts, start=1):
        run = CliRunner().invoke(main, ["batch", str(small_class), "--out", str(part), "--shard", f"{k}/3"])
        assert run.exit_code == 0, run.output
    assert sum(len(list(p.glob("students/*/results.json"))) for p in parts) == 3  # each submission in one shard
    merged = CliRunner().invoke(main, ["merge", *map(str, parts), "--out", str(tmp_path / "notas")])
    assert merged.exit_code == 0 and merged.output.startswith("3 submissions"), merged.output
    assert (tmp_path / "notas" / "gradebook.csv").read_text("utf-8") == \
        (graded_class / "gradebook.csv").read_text("utf-8")


def test_a_class_graded_on_a_dask_cluster_gets_the_same_gradebook(small_class, graded_class, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        run = CliRunner().invoke(main, ["batch", str(small_class), "--out", str(tmp_path / "notas"),
                                        "--scheduler", cluster.scheduler_address])
    assert run.exit_code == 0, run.output
    assert (tmp_path / "notas" / "gradebook.csv").read_text("utf-8") == \
        (graded_class / "gradebook.csv").read_text("utf-8")


def test_a_moodle_export_is_graded_with_the_students_ids_and_names(reference, tmp_path):
    export = tmp_path / "moodle.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("Ana García_123456_assignsubmission_file_/backprop.ipynb", nbformat.writes(reference("backprop")))
        archive.writestr("Luis Pérez_654321_assignsubmission_file_/backprop.pdf", b"%PDF-1.4")
    run = CliRunner().invoke(main, ["batch", str(export), "--out", str(tmp_path / "notas")])
    assert run.exit_code == 0, run.output
    assert "not graded: Luis Pérez_654321_assignsubmission_file_/backprop.pdf: not a notebook" in run.output
    rows = gradebook(tmp_path / "notas")
    assert list(rows) == ["moodle-123456"]
    assert rows["moodle-123456"]["name"] == "Ana García" and rows["moodle-123456"]["score"] == "100"
