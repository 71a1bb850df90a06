"""The hostile corpus (tests/hostile/*.toml), each graded end to end in real sandboxed kernels:
bounded time, nothing left running, instructor files untouched, score not raised, a clear note."""

from __future__ import annotations

import copy
import hashlib
import subprocess
import tempfile
import time
import tomllib
from dataclasses import replace as with_fields
from pathlib import Path

import nbformat
import pytest

from conftest import SEED, TESTS, apply_replacements
from grader.assignments import COURSE_DIR, get_assignment
from grader.reports.catalog import catalog
from grader.reports.render import html_report
from grader.trusted.results import Message
from grader.untrusted import sandbox
from grader.untrusted.runner import Limits

pytestmark = pytest.mark.kernel
# One file per family of attacks; each file's [[hostile]] entries have the shape cases.toml describes.
CASES = [case for file in sorted((TESTS / "hostile").glob("*.toml"))
         for case in tomllib.loads(file.read_text("utf-8")).get("hostile", [])]
SANDBOXED = sandbox.detect().sandboxed
# Without bubblewrap and cgroups, these cannot be contained: they are skipped, and `grade doctor` says so.
NEED_SANDBOX = {"memory_bomb", "fork_bomb", "reads_instructor_files", "disk_filler"}


def hostile_notebook(case: dict) -> nbformat.NotebookNode:
    assignment = get_assignment(case["assignment"])
    base = {"reference": assignment.reference, "exercise": assignment.exercise}.get(
        case["base"], TESTS / "hostile" / case["base"])
    notebook = apply_replacements(nbformat.read(base, as_version=4), case.get("replace", []))
    if case["cell"]:
        source = case["cell"].replace("{course_dir}", str(COURSE_DIR)).replace("{grader_home}", str(Path.home()))
        cell = nbformat.v4.new_code_cell(source)
        code = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
        after = [i for i in code if case["after"] in notebook.cells[i].source] if case["after"] else code[-1:]
        assert len(after) == 1 if case["after"] else after, f"{case['name']}: `after` must match one cell"
        notebook.cells.insert(after[0] + 1, cell)
    return notebook


def keys(message: Message) -> set[str]:
    nested = {k for v in message.params.values() if isinstance(v, Message) for k in keys(v)}
    return {message.key} | nested


def instructor_files() -> dict[str, str]:
    folders = [COURSE_DIR / "reference", COURSE_DIR / "exercises", COURSE_DIR / "grader"]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def processes_mentioning(text: str) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if text in line and "ps -eo" not in line]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_notebook_is_contained_and_graded(case, tmp_path):
    if case["name"] in NEED_SANDBOX and not SANDBOXED:
        pytest.skip("needs bubblewrap and cgroups: see `grade doctor`")
    contained_grading(case, tmp_path)


def contained_grading(case: dict, folder: Path):
    """Grade one hostile case end to end and check what every isolation mode promises (also run
    by tests/hostile_cases_in_mode.py under the other modes); the result."""
    from grader.grading import grade_notebook

    notebook = hostile_notebook(copy.deepcopy(case))
    path = folder / f"{case['name']}.ipynb"
    nbformat.write(notebook, path)
    jobs = folder / "jobs"
    jobs.mkdir()
    sockets = tempfile.mkdtemp(prefix="hostile-", dir="/tmp")
    # The grader's folders land here, so that whatever outlives the grading can be found by them:
    # every process of the sandbox has one in its command line (bwrap's binds, the kernel's -f).
    saved = tempfile.tempdir, sandbox._short_temp_dir
    tempfile.tempdir, sandbox._short_temp_dir = str(jobs), lambda: sockets
    before = instructor_files()
    began = time.monotonic()
    try:
        result = grade_notebook(path, seed=SEED, limits=with_fields(Limits(), **case.get("limits", {})))
    finally:
        tempfile.tempdir, sandbox._short_temp_dir = saved

    took = time.monotonic() - began
    assert took < case["seconds"], f"took {took:.0f} s"
    deadline = time.monotonic() + 5
    while processes_mentioning(sockets) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_mentioning(sockets) + processes_mentioning(str(jobs)) == []
    Path(sockets).rmdir()
    assert instructor_files() == before
    assert result.score == case["score"], (result.notes, [(c.name, c.messages) for c in result.checks if not c.passed])
    if "lost_tags" in case:
        lost = {tag for tag, (got, out_of) in result.tag_scores().items() if got < out_of}
        assert lost == set(case["lost_tags"])
    for language in ("es", "en"):  # whatever the notebook printed or raised, the report stays small
        assert len(html_report(result, catalog(language)).encode()) < 2 * 2**20
    said = {k for m in result.notes + [m for c in result.checks for m in c.messages] for k in keys(m)}
    assert set(case["notes"]) <= said, result.notes
    return result
