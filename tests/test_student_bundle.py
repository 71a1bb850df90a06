"""The student bundle: no solution code in it, and the grader in it grades at home with the
reference's precomputed answers as the full grader does (reference 100, skeleton 0, a mutant loses
its tags), predicting XOR accuracy without any reference code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from conftest import apply_replacements, load_cases
from gradescope_schema import assert_gradescope_file
from grader.assignments import ASSIGNMENTS
from grader.authoring.bundle import solution_leaks
from grader.authoring.release import solution_lines
from grader.cli import main

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bundle") / "corrector"
    run = CliRunner().invoke(main, ["release", "--student-bundle", str(folder)])
    assert run.exit_code == 0, run.output
    return folder


def test_the_bundle_holds_no_solution_code_and_a_planted_one_is_found(bundle, tmp_path):
    assert not (bundle / "reference").exists() and not (bundle / "mutants").exists()
    assert (bundle / "grader" / "trusted" / "judges" / "xor.py").exists()
    assert (bundle / "grader" / "precomputed" / "xor.pt").exists()
    assert solution_leaks(bundle) == []
    planted = tmp_path / "planted"
    shutil.copytree(bundle / "grader" / "reports", planted)
    block = solution_lines(nbformat.read(ASSIGNMENTS["backprop"].reference, as_version=4))[-1]
    (planted / "helpers.py").write_text("def backprop(x):\n" + "".join(f"    {line}\n" for line in block), "utf-8")
    assert solution_leaks(planted) == [planted / "helpers.py"]


def grade_with_bundle(bundle: Path, notebook: nbformat.NotebookNode, tmp_path: Path, name: str) -> dict:
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(notebook, path)
    env = {k: v for k, v in os.environ.items() if k != "GRADER_COURSE_DIR"}
    env["PYTHONPATH"] = str(bundle)
    result = tmp_path / f"{name}.json"
    run = subprocess.run([sys.executable, "-c", "import grader, sys; assert grader.__file__.startswith(sys.argv[1]); "
                          "from grader.cli import main; main(sys.argv[2:])", str(bundle), "submit", str(path),
                          "--json", str(result), "--no-report"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode in (0, 1), run.stderr
    return assert_gradescope_file(result)


def lost_tags(results: dict) -> set[str]:
    return {t["tags"][0] for t in results["tests"] if t["score"] < t["max_score"]}


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_the_bundle_grades_the_reference_fully_and_the_skeleton_zero(bundle, reference, tmp_path, name):
    graded = grade_with_bundle(bundle, reference(name), tmp_path, f"{name}_reference")
    assert graded["score"] == graded["extra_data"]["max_score"] == 100, [t["output"] for t in graded["tests"] if t["status"] == "failed"]
    assert graded["extra_data"]["seed"] in (101, 202, 303)
    skeleton = grade_with_bundle(bundle, nbformat.read(bundle / "exercises" / f"{name}.ipynb", as_version=4),
                                 tmp_path, f"{name}_skeleton")
    assert skeleton["score"] == 0


def test_the_bundle_costs_a_mutant_its_tags(bundle, reference, tmp_path):
    mutant = next(m for m in load_cases("xor.toml", "mutant") if m["name"] == "no_zero_grad")
    graded = grade_with_bundle(bundle, apply_replacements(reference("xor"), mutant["replace"]), tmp_path, "no_zero_grad")
    assert lost_tags(graded) == set(mutant["tags"])
