""".py submissions: Jupytext percent scripts and plain scripts are the notebooks they represent;
a .py that is not a valid script is unusable input (one line, exit 2)."""

from __future__ import annotations

import dataclasses

import jupytext
import nbformat
import pytest
from click.testing import CliRunner

from conftest import SEED
from grader.assignments import ASSIGNMENTS, recognise
from grader.authoring.check import case_notebook
from grader.authoring.release import release_notebook
from grader.batch import find_submissions
from grader.cli import main
from grader.notebook_file import code_digest, read_notebook
from grader.selfcheck.cells import CHECK_TAG

UNUSABLE = {
    "not_python": (b"def f(:\n    pass\n", "not a valid Python script (line 1"),
    "binary": (b"\x00\x01\x02", "NUL bytes"),
    "not_utf8": (b"x = '\xff'\n", "not UTF-8 text (byte 5); is it a Python script?"),
    "renamed_notebook": (nbformat.writes(nbformat.v4.new_notebook()).encode(), "rename it to .ipynb"),
    "only_comments": (b"# nothing here\n\n# at all\n", "no Python code in it"),
    "percent_cells_none_python": (b"# %%\nx = (\n\n# %%\ny = ]\n", "not a valid Python script"),
    "empty": (b"", "the file is empty"),
}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_a_py_that_is_not_a_valid_script_is_one_line_and_exit_2(tmp_path, case):
    content, expected = UNUSABLE[case]
    path = tmp_path / f"{case}.py"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["submit", str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grade: error: ") and expected in lines[0], lines


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_a_percent_script_is_the_notebook_it_was_made_from(tmp_path, name):
    notebook = nbformat.read(ASSIGNMENTS[name].reference, as_version=4)
    path = tmp_path / f"{name}.py"
    jupytext.write(notebook, path, fmt="py:percent")
    read = read_notebook(path)
    assert [(c.cell_type, c.source) for c in read.cells] == [(c.cell_type, c.source) for c in notebook.cells]
    assert code_digest(read) == code_digest(notebook)  # the same grading seed, too
    assert recognise(read).name == name


def test_a_plain_script_is_read_and_a_cell_with_an_error_does_not_make_a_percent_script_unusable(tmp_path):
    plain = tmp_path / "plain.py"
    plain.write_text("import torch\n\n\ndef sigmoid(z):\n    return 1 / (1 + torch.exp(-z))\n", "utf-8")
    cells = [c for c in read_notebook(plain).cells if c.cell_type == "code"]
    assert "def sigmoid(z):" in "\n".join(c.source for c in cells)
    percent = tmp_path / "percent.py"
    percent.write_text("# %%\nimport torch\n\n# %%\ndef broken(:\n    pass\n", "utf-8")
    assert [c.source for c in read_notebook(percent).cells] == ["import torch", "def broken(:\n    pass"]


def test_batch_finds_scripts_beside_notebooks_and_in_folders_without_notebooks(tmp_path):
    (tmp_path / "ana.ipynb").write_text("{}", "utf-8")
    (tmp_path / "bruno.py").write_text("x = 1\n", "utf-8")
    (tmp_path / "carla").mkdir()
    (tmp_path / "carla" / "xor.py").write_text("x = 1\n", "utf-8")
    (tmp_path / "dani").mkdir()
    (tmp_path / "dani" / "xor.ipynb").write_text("{}", "utf-8")
    (tmp_path / "dani" / "helpers.py").write_text("x = 1\n", "utf-8")
    found = {s.student: s.path.relative_to(tmp_path).as_posix() for s in find_submissions(tmp_path)}
    assert found == {"ana": "ana.ipynb", "bruno": "bruno.py", "carla": "carla/xor.py", "dani": "dani/xor.ipynb"}


def _filled_with_check_cells(name: str) -> nbformat.NotebookNode:
    """The reference with the skeleton's check cells where a release puts them: a student's
    finished notebook."""
    reference = nbformat.read(ASSIGNMENTS[name].reference, as_version=4)
    released = release_notebook(reference, name)
    solutions = iter(reference.cells)
    cells = []
    for cell in released.cells:
        cells.append(cell if CHECK_TAG in cell.metadata.get("tags", []) else next(solutions))
    return nbformat.v4.new_notebook(cells=cells, metadata=reference.metadata)


@pytest.mark.kernel
def test_the_reference_as_a_percent_script_with_check_cells_gets_full_marks_and_no_notes(tmp_path):
    from grader.grading import grade_notebook

    path = tmp_path / "xor.py"
    jupytext.write(_filled_with_check_cells("xor"), path, fmt="py:percent")
    result = grade_notebook(path, seed=SEED)
    assert (result.score, result.max_score) == (100, 100), [c.name for c in result.checks if not c.passed]
    assert result.notes == []


@pytest.mark.kernel
def test_a_mutant_as_a_script_loses_what_it_loses_as_a_notebook(tmp_path):
    """As a script, graded in a kernel; as a notebook, the kernel's artifacts that check-reference
    recorded for it (tests/artifacts/), judged here."""
    from grader.authoring.check import recorded_case, rejudged
    from grader.grading import grade_notebook

    case = recorded_case("backprop", "slide_typo_in_sigmoid_prime")
    as_script = tmp_path / "backprop.py"
    jupytext.write(case_notebook(case), as_script, fmt="py:percent")
    graded = [rejudged(case), grade_notebook(as_script, seed=case.seed)]
    checks = [[dataclasses.astuple(c)[:7] for c in g.checks] for g in graded]
    assert checks[0] == checks[1]
    assert graded[1].score < 100 and {c.tag for c in graded[1].checks if not c.passed} == set(case.mutant.tags)
