"""Authoring without kernels: the mutation suite loads and covers every check, a replacement that no
longer applies says so, `grade release --check` notices drifted exercises and `grade release`
repairs them, check-reference judges a case's outcome right, and the GitHub workflow is valid and
runs what the README says."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
import yaml
from click.testing import CliRunner

from grader import assignments
from grader.assignments import ASSIGNMENTS, COURSE_DIR
from grader.authoring import check, mutants
from grader.cli import main
from grader.errors import GraderError
from grader.trusted.results import CheckResult, GradeResult, Message


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_every_check_is_failed_by_some_mutant_and_every_mutant_applies(name):
    assert check.coverage_problems(name) == []
    reference = nbformat.read(ASSIGNMENTS[name].reference, as_version=4)
    for case in mutants.load_mutants(name) + mutants.load_variants(name):
        assert case.notebook(reference).cells != reference.cells, case.name


def test_a_replacement_that_no_longer_applies_names_the_mutant(reference):
    with pytest.raises(GraderError, match="xor:gone.*occurs 0 times"):
        mutants.apply_replacements(reference("xor"), [["text the reference lacks", ""]], "xor:gone")


def test_a_mutant_file_with_a_mistake_says_where(tmp_path, monkeypatch):
    (tmp_path / "xor.toml").write_text('[[mutant]]\nname = "a"\ndescription = "d"\n', "utf-8")
    monkeypatch.setattr(mutants, "MUTANTS_DIR", tmp_path)
    with pytest.raises(GraderError, match=r"xor.toml: a \[\[mutant\]\] lacks .*replace"):
        mutants.load_mutants("xor")


@pytest.fixture
def course_copy(tmp_path, monkeypatch):
    for folder in ("reference", "exercises"):
        shutil.copytree(COURSE_DIR / folder, tmp_path / folder)
    monkeypatch.setattr(assignments, "COURSE_DIR", tmp_path)
    return tmp_path


def test_release_check_finds_a_drifted_exercise_and_release_repairs_it(course_copy):
    assert CliRunner().invoke(main, ["release", "--check"]).exit_code == 0
    exercise = course_copy / "exercises" / "xor.ipynb"
    notebook = nbformat.read(exercise, as_version=4)
    notebook.cells[3].source += "\n# edited by hand"
    nbformat.write(notebook, exercise)
    drifted = CliRunner().invoke(main, ["release", "--check"])
    assert drifted.exit_code == 1 and f"{exercise}: differs from a fresh release" in drifted.output
    repaired = CliRunner().invoke(main, ["release"])
    assert repaired.exit_code == 0 and repaired.output == f"wrote {exercise}\n"
    assert CliRunner().invoke(main, ["release", "--check"]).exit_code == 0


def _result(lost_tags: set[str], keys: tuple[str, ...] = (), score: float | None = None) -> GradeResult:
    checks = [CheckResult(f"{tag}_check", tag, str(i), 0.0 if tag in lost_tags else 10.0, 10.0,
                          tag not in lost_tags, [Message(k) for k in keys])
              for i, tag in enumerate(("sigmoid", "sigmoid_prime", "backprop"))]
    total = sum(c.score for c in checks)
    return GradeResult("backprop", "x.ipynb", total if score is None else score, 30.0, checks, [], 1, "cpu", 1.0, "0")


def _judged(case, result):
    lost = tuple(t for t, (got, out_of) in result.tag_scores().items() if got < out_of)
    failed = tuple(c.name for c in result.checks if not c.passed)
    keys = {m.key for c in result.checks for m in c.messages}
    return check._problems(case, result, lost, failed, keys)


def test_check_reference_flags_each_kind_of_deviation():
    mutant = mutants.Mutant("backprop", "flip", "d", (("a", "b"),), ("sigmoid",), ("sigmoid_check",), ("hint.sigmoid_sign",))
    as_mutant = check.Case("backprop", "mutant", "flip", 1, mutant)
    assert _judged(as_mutant, _result({"sigmoid"}, ("hint.sigmoid_sign",))) == []
    assert _judged(as_mutant, _result({"sigmoid", "backprop"}, ("hint.sigmoid_sign",))) == ["lost points also in ['backprop']"]
    assert _judged(as_mutant, _result(set(), ("hint.sigmoid_sign",)))[0] == "lost points not in ['sigmoid']"
    assert _judged(as_mutant, _result({"sigmoid"})) == ["feedback lacks ['hint.sigmoid_sign']"]
    reference = check.Case("backprop", "reference", "reference", 1)
    assert _judged(reference, _result(set())) == []
    assert _judged(reference, _result({"backprop"}))[0].startswith("expected full marks, got 20/30")
    skeleton = check.Case("backprop", "skeleton", "skeleton", 1)
    assert _judged(skeleton, _result({"sigmoid", "sigmoid_prime", "backprop"}, ("hint.not_implemented",))) == []
    assert "got 10 points" in _judged(skeleton, _result({"sigmoid", "sigmoid_prime"}, ("hint.not_implemented",)))[0]


def test_the_github_workflow_runs_the_readme_test_command_and_check_reference():
    workflow = yaml.safe_load((COURSE_DIR / ".github" / "workflows" / "ci.yml").read_text("utf-8"))
    readme = (COURSE_DIR / "README.md").read_text("utf-8")
    test_command = next(line.split("  #")[0].strip() for line in readme.splitlines() if "python -m pytest" in line)
    steps = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(test_command in step for step in steps)
    assert "grade check-reference" in test_command
    assert True in workflow or "on" in workflow  # PyYAML reads the key `on` as True
    assert test_command in (COURSE_DIR / ".ci" / "run").read_text("utf-8")
