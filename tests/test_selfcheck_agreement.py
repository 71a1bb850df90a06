"""check() agrees with grade submit, check by check: a notebook run in a plain Jupyter kernel (no
sandbox, no notebook file, matplotlib's inline backend) with check() appended gives exactly the
points, verdicts and messages that ``grade submit --seed S`` gives the same notebook, for a bundle
seed S. Also each part checked alone (``check("train_model")``) gives what ``check()`` gives it.

By default the cases are tests/selfcheck/agreement.toml: mutants combined into three notebooks
that together fail every check (asserted here); ``GRADER_AGREEMENT=all`` runs every reference,
mutant and correct variant of mutants/ on its own (about 60 gradings and as many kernels: half an
hour on two cores)."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import tomllib

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import TESTS
from grader.assignments import ASSIGNMENTS
from grader.authoring.mutants import apply_replacements, load_mutants, load_variants
from grader.trusted import precomputed
from grader.trusted.points import checks_of

pytestmark = pytest.mark.kernel

SEED = precomputed.SEEDS[0]
MARK = "GRADER-SELFCHECK "
COMBINED = tomllib.loads((TESTS / "selfcheck" / "agreement.toml").read_text("utf-8"))["case"]

# Appended to the notebook: what check() found (run_checks is what check() shows), for every part
# at once and for each part alone (the end-to-end training, which runs once, only in the first).
_CHECK_CELL = f"""
import dataclasses as _dc, json as _json
from grader.selfcheck import run_checks as _run
from grader.selfcheck.check import TRAINING as _TRAINING, parts_of as _parts_of
_all = _run()
_alone = {{part: [_dc.asdict(c) for c in _run(part).result.checks]
          for part in _parts_of(_all.result.assignment) if part not in _TRAINING[_all.result.assignment].values()}}
print({MARK!r} + _json.dumps({{"all": [_dc.asdict(c) for c in _all.result.checks], "alone": _alone,
                              "seed": _all.result.seed, "device": _all.result.device}}, default=str))
"""


def _mutants(assignment: str) -> dict:
    return {m.name: m for m in load_mutants(assignment) + load_variants(assignment)}


def cases() -> list[tuple[str, str, tuple[str, ...]]]:
    """(label, assignment, names of the mutants applied to its reference)."""
    if os.environ.get("GRADER_AGREEMENT") == "all":
        return [(f"{a}:{name}", a, names) for a in sorted(ASSIGNMENTS)
                for name, names in [("reference", ())] + [(m, (m,)) for m in _mutants(a)]]
    return [(f"{c['assignment']}:{c['name']}", c["assignment"], tuple(c["mutants"])) for c in COMBINED]


def notebook_of(assignment: str, names: tuple[str, ...]) -> nbformat.NotebookNode:
    notebook = nbformat.read(ASSIGNMENTS[assignment].reference, as_version=4)
    found = _mutants(assignment)
    for name in names:
        notebook = apply_replacements(notebook, found[name].replace, f"{assignment}:{name}")
    return notebook


def comparable(checks: list[dict]) -> list[dict]:
    """Checks as plain data, without what only names a place differently: ``at_line``'s cell is the
    notebook's cell number in grade submit and Jupyter's execution count [N] in check()."""
    plain = json.loads(json.dumps(checks, default=str))
    for check in plain:
        check.pop("figures", None)  # pictures are drawn in grade submit's report only
        for message in check["messages"] + check["advice"]:
            if message["key"] == "at_line":
                message["params"].pop("cell", None)
    return plain


def checked_in_a_plain_kernel(notebook: nbformat.NotebookNode, folder) -> dict:
    notebook = copy.deepcopy(notebook)
    notebook.cells.append(nbformat.v4.new_code_cell(_CHECK_CELL))
    client = NotebookClient(notebook, kernel_name="python3", timeout=600, allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    # Nothing of the grading kernel's set-up: the default (inline) matplotlib backend, the
    # notebook's own threads; one OpenMP thread only to keep the test cheap.
    client.execute(env=dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1"))
    for output in notebook.cells[-1].outputs:
        if output.get("name") == "stdout" and MARK in output.get("text", ""):
            return json.loads(output["text"].split(MARK, 1)[1])
    raise AssertionError(f"check() gave no result: {notebook.cells[-1].outputs}")


def test_the_default_cases_fail_every_check_between_them():
    for assignment in sorted(ASSIGNMENTS):
        found = _mutants(assignment)
        claimed = {check for case in COMBINED if case["assignment"] == assignment
                   for name in case["mutants"] for check in found[name].checks}
        assert claimed == {spec.name for spec in checks_of(assignment)}, assignment


@pytest.mark.parametrize("label,assignment,names", cases(), ids=[c[0] for c in cases()])
def test_check_agrees_with_grade_submit(label, assignment, names, tmp_path):
    from grader.grading import grade_notebook

    notebook = notebook_of(assignment, names)
    path = tmp_path / f"{assignment}.ipynb"
    nbformat.write(notebook, path)
    graded = grade_notebook(path, seed=SEED, device="cpu")
    (tmp_path / "kernel").mkdir()
    checked = checked_in_a_plain_kernel(notebook, tmp_path / "kernel")
    assert (checked["seed"], checked["device"]) == (SEED, "cpu")

    want = comparable([dataclasses.asdict(c) for c in graded.checks])
    got = comparable(checked["all"])
    disagreements = [f"{w['name']}: grade submit {w['score']:g} {w['messages']}; check() {g['score']:g} {g['messages']}"
                     for w, g in zip(want, got) if w != g]
    assert [c["name"] for c in got] == [c["name"] for c in want]
    assert not disagreements, "\n".join(disagreements)
    for part, alone in checked["alone"].items():
        assert comparable(alone) == [c for c in got if c["tag"] == part], part
    # Each mutant of the case costs what it claims, so the case compares the judge's failing paths.
    failed = {c["name"] for c in want if not c["passed"]}
    for name in names:
        mutant = _mutants(assignment)[name]
        assert mutant.correct or set(mutant.checks) <= failed, (name, sorted(set(mutant.checks) - failed))
