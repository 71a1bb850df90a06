"""`grade batch` on a small class: the same scores as `grade submit`, a row for every submission,
and a second run that grades nothing again."""

from __future__ import annotations

import csv
import json

import nbformat
import pytest
from click.testing import CliRunner

from conftest import apply_replacements, load_cases
from grader.cli import main

pytestmark = pytest.mark.kernel


def test_a_class_is_graded_into_a_gradebook_and_a_rerun_skips_it(tmp_path, reference):
    from grader.grading import grade_notebook

    folder, out = tmp_path / "entregas", tmp_path / "notas"
    (folder / "luis").mkdir(parents=True)
    nbformat.write(reference("backprop"), folder / "ana.ipynb")
    mutant = next(m for m in load_cases("backprop.toml", "mutant") if m["tags"] == ["sigmoid"])
    nbformat.write(apply_replacements(reference("backprop"), mutant["replace"]), folder / "luis" / "entrega.ipynb")
    (folder / "rota.ipynb").write_text("{ not json")

    first = CliRunner().invoke(main, ["batch", str(folder), "--out", str(out), "-j", "2"])
    assert first.exit_code == 0, first.output
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"ana", "luis", "rota"}
    assert rows["ana"]["score"] == "100" and rows["ana"]["status"] == "graded"
    assert rows["luis"]["status"] == "graded" and rows["luis"]["sigmoid"] == "0" and rows["luis"]["backprop"] == "20"
    assert rows["rota"]["status"] == "unusable" and "JSON" in rows["rota"]["reason"]
    assert (out / "luis" / "feedback.html").exists()
    # Graded exactly as `grade submit` grades it: same seed, same score.
    alone = grade_notebook(folder / "luis" / "entrega.ipynb")
    graded = json.loads((out / "luis" / "results.json").read_text("utf-8"))
    assert graded["score"] == alone.score and graded["extra_data"]["seed"] == alone.seed

    before = (out / "gradebook.csv").read_text("utf-8")
    again = CliRunner().invoke(main, ["batch", str(folder), "--out", str(out)])
    assert again.exit_code == 0 and "3 skipped" in again.output, again.output
    assert (out / "gradebook.csv").read_text("utf-8") == before
