"""The hostile corpus (tests/hostile/*.toml), each graded end to end in real sandboxed kernels:
bounded time, nothing left running, instructor files untouched, score not raised, a clear note."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
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
from grader.untrusted.limits import Limits
from peak_memory import peak_mb

pytestmark = pytest.mark.kernel
# One file per family of attacks; each file's [[hostile]] entries have the shape cases.toml describes.
CASES = [case for file in sorted((TESTS / "hostile").glob("*.toml"))
         for case in tomllib.loads(file.read_text("utf-8")).get("hostile", [])]
SANDBOXED = sandbox.detect().sandboxed
# Without bubblewrap and cgroups, these cannot be contained: they are skipped, and `grade doctor` says so.
NEED_SANDBOX = {"memory_bomb", "fork_bomb", "reads_instructor_files", "disk_filler"}


def expanded(text: str) -> str:
    """``{course_dir}``, ``{secret_file}`` (the course secret's path), ``{grader_home}``, and ``{repeat:TEXT:N}`` as
    TEXT written N times (inputs too big to spell out)."""
    text = text.replace("{course_dir}", str(COURSE_DIR)).replace("{secret_file}", str(secret_file())) \
        .replace("{grader_home}", str(Path.home()))
    return re.sub(r"\{repeat:(.*?):(\d+)\}", lambda m: m.group(1) * int(m.group(2)), text)


def hostile_notebook(case: dict) -> nbformat.NotebookNode:
    assignment = get_assignment(case["assignment"])
    base = {"reference": assignment.reference, "exercise": assignment.exercise}.get(
        case["base"], TESTS / "hostile" / case["base"])
    replace = [[old, expanded(new)] for old, new in case.get("replace", [])]
    notebook = apply_replacements(nbformat.read(base, as_version=4), replace)
    prelude = (TESTS / "hostile" / case["prelude"]).read_text("utf-8") + "\n" if "prelude" in case else ""
    for added in [{"after": case["after"], "cell": case["cell"], "prelude": prelude}] + case.get("extra_cells", []):
        if added["cell"] or added.get("prelude"):
            cell = nbformat.v4.new_code_cell(added.get("prelude", "") + expanded(added["cell"]))
            code = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
            after = [i for i in code if added["after"] in notebook.cells[i].source] if added["after"] else code[-1:]
            assert len(after) == 1 if added["after"] else after, f"{case['name']}: `after` must match one cell"
            notebook.cells.insert(after[0] + 1, cell)
    return notebook


def write_hostile(notebook: nbformat.NotebookNode, case: dict, path: Path) -> None:
    """The notebook's file, with ``raw_replace`` pairs applied to its JSON text (once each): what
    nbformat would not write, such as a lone surrogate's escape or JSON nested 100,000 deep."""
    text = nbformat.writes(notebook)
    for old, new in case.get("raw_replace", []):
        assert old in text, f"{case['name']}: {old!r} is not in the notebook's file"
        text = text.replace(old, expanded(new), 1)
    path.write_text(text, "utf-8")


def graded_through_the_cli(path: Path, case: dict, tmp_path: Path):
    """``grade submit`` as a user runs it: its exit status is ``exit``; one line on stderr when it
    did not grade; the result read back from --json when it did."""
    from click.testing import CliRunner

    from grader.cli import main

    results = tmp_path / "results.json"
    run = CliRunner().invoke(main, ["submit", str(path), "--seed", str(SEED), "--json", str(results),
                                    "--md", str(tmp_path / "feedback.md")])
    assert run.exit_code == case["exit"], run.output
    assert "Traceback" not in run.output
    assert run.exception is None or isinstance(run.exception, SystemExit)
    if case["exit"] >= 2:
        assert run.stdout == "" and run.stderr.count("\n") == 1 and run.stderr.startswith("grade: error: ")
        assert case["stderr"] in run.stderr
        return None
    assert (tmp_path / "feedback.md").stat().st_size and path.with_name(f"{path.stem}.feedback.html").stat().st_size
    return json.loads(results.read_text("utf-8"))


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
    write_hostile(notebook, case, path)
    jobs = folder / "jobs"
    jobs.mkdir()
    sockets = tempfile.mkdtemp(prefix="hostile-", dir="/tmp")
    # The grader's folders land here, so that whatever outlives the grading can be found by them:
    # every process of the sandbox has one in its command line (bwrap's binds, the kernel's -f).
    saved = tempfile.tempdir, sandbox.short_temp_dir
    tempfile.tempdir, sandbox.short_temp_dir = str(jobs), lambda: sockets
    before = instructor_files()
    began = time.monotonic()
    global OPENED_THROUGH_LINKS
    OPENED_THROUGH_LINKS = []
    with peak_mb() as start:
        pass
    try:
        with peak_mb() as peak:
            if "exit" in case:
                assert "limits" not in case, "the CLI grades with the default limits"
                result = graded_through_the_cli(path, case, folder)
            else:
                result = grade_notebook(path, seed=SEED, limits=with_fields(Limits(), **case.get("limits", {})))
    finally:
        opened, OPENED_THROUGH_LINKS = OPENED_THROUGH_LINKS, None
        tempfile.tempdir, sandbox.short_temp_dir = saved

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
    if "exit" in case:
        if result is not None:  # graded: the same checks as below, on what results.json says
            assert result["score"] == case["score"] and set(case["notes"]) <= set(result["extra_data"]["notes"])
        return
    assert result.score == case["score"], (result.notes, [(c.name, c.messages) for c in result.checks if not c.passed])
    if "lost_tags" in case:
        lost = {tag for tag, (got, out_of) in result.tag_scores().items() if got < out_of}
        assert lost == set(case["lost_tags"])
    for language in ("es", "en"):  # whatever the notebook printed or raised, the report stays small
        assert len(html_report(result, catalog(language)).encode()) < 2 * 2**20
    said = {k for m in result.notes + [m for c in result.checks for m in c.messages] for k in keys(m)}
    assert set(case["notes"]) <= said, result.notes
    return result
