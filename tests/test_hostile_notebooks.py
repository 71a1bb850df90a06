"""The hostile corpus (tests/hostile/*.toml), each graded end to end in real sandboxed kernels:
bounded time, nothing left running, instructor files untouched, score not raised, a clear note."""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys
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
from grader.seeds import secret_file
from grader.untrusted.runner import Limits
from peak_memory import peak_mb

pytestmark = pytest.mark.kernel
# One file per family of attacks; each file's [[hostile]] entries have the shape cases.toml describes.
CASES = [case for file in sorted((TESTS / "hostile").glob("*.toml"))
         for case in tomllib.loads(file.read_text("utf-8")).get("hostile", [])]
SANDBOXED = sandbox.detect().mode == "bubblewrap"
# Without bubblewrap and cgroups, these cannot be contained: they are skipped, and `grade doctor` says so.
NEED_SANDBOX = {"memory_bomb", "fork_bomb", "reads_instructor_files", "disk_filler"}


def hostile_notebook(case: dict) -> nbformat.NotebookNode:
    assignment = get_assignment(case["assignment"])
    base = {"reference": assignment.reference, "exercise": assignment.exercise}.get(
        case["base"], TESTS / "hostile" / case["base"])
    replace = [[old, with_paths(new)] for old, new in case.get("replace", [])]
    notebook = apply_replacements(nbformat.read(base, as_version=4), replace)
    if case["cell"] or "prelude" in case:
        prelude = (TESTS / "hostile" / case["prelude"]).read_text("utf-8") + "\n" if "prelude" in case else ""
        cell = nbformat.v4.new_code_cell(prelude + with_paths(case["cell"]))
        code = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
        after = [i for i in code if case["after"] in notebook.cells[i].source] if case["after"] else code[-1:]
        assert len(after) == 1 if case["after"] else after, f"{case['name']}: `after` must match one cell"
        notebook.cells.insert(after[0] + 1, cell)
    return notebook


# Files of the grader's machine that a kernel may link its records to. While a hostile notebook is
# graded, every file this process opens through a link to one of them is noted: none may be.
HOST_FILES = ("/etc/shadow", "/proc/self/pagemap", "/dev/zero", str(secret_file()))
OPENED_THROUGH_LINKS: list[str] | None = None


def _note_opens_through_links(event: str, args: tuple) -> None:
    if event != "open" or OPENED_THROUGH_LINKS is None or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.fsdecode(args[0])
    if os.path.isabs(path) and os.path.realpath(path) != os.path.abspath(path) and \
            os.path.realpath(path) in {os.path.realpath(p) for p in HOST_FILES}:
        OPENED_THROUGH_LINKS.append(path)


sys.addaudithook(_note_opens_through_links)


def with_paths(text: str) -> str:
    return text.replace("{course_dir}", str(COURSE_DIR)).replace("{secret_file}", str(secret_file()))


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
def test_hostile_notebook_is_contained_and_graded(case, tmp_path, monkeypatch):
    from grader.grading import grade_notebook

    if case["name"] in NEED_SANDBOX and not SANDBOXED:
        pytest.skip("needs bubblewrap and cgroups: see `grade doctor`")
    notebook = hostile_notebook(copy.deepcopy(case))
    path = tmp_path / f"{case['name']}.ipynb"
    nbformat.write(notebook, path)
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    sockets = tempfile.mkdtemp(prefix="hostile-", dir="/tmp")
    # The grader's folders land here, so that whatever outlives the grading can be found by them:
    # every process of the sandbox has one in its command line (bwrap's binds, the kernel's -f).
    monkeypatch.setattr(tempfile, "tempdir", str(jobs))
    monkeypatch.setattr(sandbox, "_short_temp_dir", lambda: sockets)
    before = instructor_files()
    began = time.monotonic()

    global OPENED_THROUGH_LINKS
    OPENED_THROUGH_LINKS = []
    with peak_mb() as start:
        pass
    try:
        with peak_mb() as peak:
            result = grade_notebook(path, seed=SEED, limits=with_fields(Limits(), **case.get("limits", {})))
    finally:
        opened, OPENED_THROUGH_LINKS = OPENED_THROUGH_LINKS, None

    took = time.monotonic() - began
    assert took < case["seconds"], f"took {took:.0f} s"
    assert opened == [], "the grader opened files of its machine through links the kernel left"
    if "grader_peak_growth_mb" in case:
        assert peak[0] - start[0] < case["grader_peak_growth_mb"], f"the grader grew by {peak[0] - start[0]:.0f} MiB"
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
