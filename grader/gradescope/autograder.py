"""What ``run_autograder`` does with one Gradescope submission: find the one notebook in
``submission/``, grade it under limits that fit the container, write ``results/results.json``,
and return, as lines for the instructor (the CLI prints them; Gradescope keeps them as stdout),
which grader, sandbox and limits graded it and what came out.

A submission the student can fix (no notebook, several, a file that is not a notebook) gets a
results.json with score 0 whose output says what to upload. A failure of the grader itself writes
no results.json: Gradescope then shows that the autograder failed, never lost points, and the
instructor finds the reason in stdout.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shlex
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__
from grader.errors import CouldNotGrade, UnusableInput
from grader.files import write_atomically
from grader.gradescope.config import AutograderConfig, read_config
from grader.gradescope.limits import container_limits, probe_count, worst_case_s
from grader.reports.catalog import catalog
from grader.reports.gradescope import markdown_text, not_graded_json, results_json
from grader.seeds import SECRET_ENV


@dataclass(frozen=True)
class AutograderRoot:
    """Gradescope's layout: the zip unpacked in ``source/``, the student's files in
    ``submission/``, ``results/results.json`` to write."""

    root: Path

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def submission(self) -> Path:
        return self.root / "submission"

    @property
    def results(self) -> Path:
        return self.root / "results" / "results.json"


@dataclass
class Run:
    results: dict | None  # None: the grader failed, and no results.json was written
    lines: list[str] = field(default_factory=list)
    exit_code: int = 0


def notebooks_in(folder: Path) -> list[Path]:
    """Every notebook the student uploaded, at any depth, but not Jupyter's checkpoints, hidden
    files, or links (which could point at the course's own files)."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        relative = path.relative_to(folder).parts
        if any(part.startswith(".") for part in relative) or path.is_symlink() or not path.is_file():
            continue
        found.append(path)
    return found


MAX_LISTED = 20


def uploaded_files(folder: Path) -> list[str]:
    """What the student uploaded, for a message that says what was received (the first few)."""
    if not folder.is_dir():
        return []
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return names[:MAX_LISTED] + (["…"] if len(names) > MAX_LISTED else [])


def run_autograder(where: AutograderRoot) -> Run:
    started = time.monotonic()
    config = read_config(where.source)
    messages = catalog(config.language)
    limits = container_limits(config.memory_mb, config.timeout_s)
    lines = header_lines(config, limits)
    notebooks = notebooks_in(where.submission)
    if len(notebooks) != 1:
        lines.append(f"submission: {len(notebooks)} notebooks in {where.submission}; "
                     f"files: {', '.join(uploaded_files(where.submission)) or 'none'}")
        return _written(where, _not_one_notebook(where, notebooks, messages, started), lines)
    notebook = notebooks[0]
    lines.append(f"submission: {notebook} ({notebook.stat().st_size} bytes)")
    if config.secret:
        # Same notebook, same inputs, on every submission of it (the seed comes from its code and this).
        os.environ[SECRET_ENV] = config.secret
    from grader.grading import grade_notebook

    try:
        result = grade_notebook(notebook, assignment=config.assignment or None, limits=limits)
    except UnusableInput as err:
        output = markdown_text([messages.text("gradescope.unusable", file=notebook.name, reason=str(err))])
        lines.append(f"unusable: {err}")
        return _written(where, not_graded_json(output, {"status": "unusable", "reason": str(err),
                                                        "grader_version": __version__},
                                               time.monotonic() - started), lines)
    except CouldNotGrade as err:
        lines.append(f"could not grade: {err}")
        return Run(None, lines, err.exit_code)
    except Exception:  # the grader's own failure: the instructor gets the traceback, the student no grade
        lines.append("could not grade: the grader failed (no results.json written):")
        lines += traceback.format_exc().rstrip().splitlines()
        return Run(None, lines, CouldNotGrade.exit_code)
    # The student knows the file by the name they uploaded (quoted, as the command to reproduce
    # it needs), not by the container's path.
    shown = dataclasses.replace(result, notebook=shlex.quote(notebook.relative_to(where.submission).as_posix()))
    results = results_json(shown, messages, after_due_date=config.hide_until_due)
    results["extra_data"]["status"] = "graded"
    return _written(where, results, lines + graded_lines(result, config))


def _not_one_notebook(where: AutograderRoot, notebooks: list[Path], messages, started: float) -> dict:
    key = "gradescope.no_notebook" if not notebooks else "gradescope.several_notebooks"
    found = (", ".join(f"`{p.relative_to(where.submission).as_posix()}`" for p in notebooks)
             or ", ".join(f"`{name}`" for name in uploaded_files(where.submission)) or "—")
    output = markdown_text([messages.text(key, found=found)])
    return not_graded_json(output, {"status": "unusable", "reason": key, "grader_version": __version__},
                           time.monotonic() - started)


def graded_lines(result, config: AutograderConfig) -> list[str]:
    lines = [f"isolation used: {result.isolation}",
             f"graded {result.assignment} with seed {result.seed} on {result.device}: "
             f"{result.score:g}/{result.max_score:g} in {result.seconds:.1f} s"]
    for check in result.checks:
        hidden = " (after due date)" if check.name in config.hide_until_due else ""
        lines.append(f"  {check.number:>3} {'ok  ' if check.passed else 'FAIL'} {check.name} "
                     f"{check.score:g}/{check.max_score:g}{hidden}")
    if result.notes:
        lines.append("notes: " + ", ".join(n.key for n in result.notes))
    return lines


def _written(where: AutograderRoot, results: dict, lines: list[str]) -> Run:
    where.results.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(where.results, json.dumps(results, ensure_ascii=False, indent=2))
    lines.append(f"wrote {where.results} (score {results['score']:g})")
    return Run(results, lines)


def header_lines(config: AutograderConfig, limits) -> list[str]:
    """Which grader, which sandbox, which limits: what an instructor needs to trust or debug a grade."""
    import grader
    from grader.untrusted import sandbox

    probes = probe_count()
    lines = [f"grader {__version__} from {Path(grader.__file__).parent}, Python {platform.python_version()} "
             f"({sys.executable}), running as uid {os.geteuid()}"]
    lines += sandbox.detect().describe()
    lines.append(f"limits: kernel memory {limits.memory_mb} MB of the container's {config.memory_mb} MB; "
                 f"cell {limits.cell_timeout_s:g} s, notebook and restarts {limits.grading_timeout_s:g} s, "
                 f"{probes} probes of {limits.probe_timeout_s:g} s; at most {worst_case_s(limits, probes):.0f} s "
                 f"of the container's {config.timeout_s} s")
    lines.append(f"assignment: {config.assignment or 'recognised from the notebook'}, feedback in {config.language}"
                 + (f", after the due date: {', '.join(config.hide_until_due)}" if config.hide_until_due else ""))
    return lines
