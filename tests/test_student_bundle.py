"""The student bundle: no solution code in it, and the grader in it grades at home with the
reference's precomputed answers as the full grader does (reference 100, skeleton 0, a mutant loses
its tags), predicting XOR accuracy without any reference code. Built as a wheel, it installs in a
fresh environment without the course's repository, and check() in a notebook there gives full
marks to the reference; the skeleton, check cells and all, runs to the end without the grader."""

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
from grader.authoring.bundle import solution_leaks, wheel_leaks
from grader.authoring.release import solution_lines
from grader.cli import main
from grader.selfcheck.cells import CHECK_TAG, check_cell

pytestmark = [pytest.mark.kernel, pytest.mark.xdist_group("student_bundle")]  # one worker builds its module fixture


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bundle") / "corrector"
    run = CliRunner().invoke(main, ["release", "--student-bundle", str(folder), "--wheel"])
    assert run.exit_code == 0, run.output
    return folder


def test_the_bundle_holds_no_solution_code_and_a_planted_one_is_found(bundle, tmp_path):
    assert not (bundle / "reference").exists() and not (bundle / "mutants").exists()
    assert (bundle / "grader" / "trusted" / "judges" / "xor" / "verdicts" / "end_to_end.py").exists()
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


def _run_in_kernel(notebook: nbformat.NotebookNode, kernel: str, folder: Path, env: dict) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    NotebookClient(notebook, kernel_name=kernel, timeout=600, allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute(env=env)
    return notebook


def _outside_the_repo(tmp_path: Path) -> dict:
    """The environment of a student's machine: nothing of this repository on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GRADER_COURSE_DIR")}
    return dict(env, OMP_NUM_THREADS="1", TQDM_DISABLE="1", HOME=str(tmp_path / "home"))


def test_the_wheel_installs_without_the_repo_and_check_gives_the_reference_full_marks(bundle, tmp_path, monkeypatch):
    wheels = list((bundle / "dist").glob("grader-*-py3-none-any.whl"))
    assert len(wheels) == 1 and wheel_leaks(wheels[0]) == []
    venv = tmp_path / "venv"
    # torch and the other dependencies from this interpreter; the grader only from the wheel.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheels[0])],
                   check=True)
    kernels = tmp_path / "jupyter" / "kernels" / "student"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "student", "language": "python"}), "utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    notebook = nbformat.read(ASSIGNMENTS["backprop"].reference, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import grader\nprint(grader.__file__)"))
    notebook.cells.append(check_cell([], "0.1.0"))
    (tmp_path / "work").mkdir()
    (tmp_path / "home").mkdir()
    ran = _run_in_kernel(notebook, "student", tmp_path / "work", _outside_the_repo(tmp_path))
    where, checked = ran.cells[-2].outputs, ran.cells[-1].outputs
    assert where[0]["text"].startswith(str(venv)), where
    assert not any(o["output_type"] == "error" for o in checked), checked
    shown = "".join(o.get("data", {}).get("text/html", "") for o in checked if o["output_type"] == "display_data")
    assert "Total: 100/100" in shown and "check(): backprop" in shown


def test_the_skeleton_with_its_check_cells_runs_to_the_end_without_the_grader(bundle, tmp_path):
    # A path entry that makes `import grader` fail as it does where it is not installed.
    blocker = tmp_path / "site"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NotInstalled:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'grader':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _NotInstalled())\n", "utf-8")
    env = dict(_outside_the_repo(tmp_path), PYTHONPATH=str(blocker))
    (tmp_path / "work").mkdir()
    (tmp_path / "home").mkdir()
    skeleton = nbformat.read(bundle / "exercises" / "xor.ipynb", as_version=4)
    ran = _run_in_kernel(skeleton, "python3", tmp_path / "work", env)
    code = [c for c in ran.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)  # every cell ran, the last one too
    checks = [c for c in code if CHECK_TAG in c.metadata.get("tags", [])]
    assert len(checks) == 7
    for cell in checks:
        assert [o["output_type"] for o in cell.outputs] == ["stream"], cell.outputs
        assert cell.outputs[0]["text"].count("\n") == 1 and "pip install grader-" in cell.outputs[0]["text"]
