"""Grading a whole class: each submission graded exactly as ``grade submit`` grades it, in its own
kernel, several at once (or on a dask.distributed cluster); each result written atomically as it
is finished, and skipped when it is there already, so that a run stopped at any moment can simply
be started again (grader.gradebook builds the class's files from these results)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from grader import __version__
from grader.errors import GraderError, could_not_grade
from grader.files import write_atomically
from grader.text import encodable
from grader.workers import as_finished

RESULTS = "results.json"
REPORT = "feedback.html"
# Each student's folder is OUT/students/<student>/, so that no student's name (a notebook called
# gradebook.csv.ipynb) can be one of the class's own files in OUT (gradebook.csv, summary.html,
# manifest*.json, submissions/).
STUDENTS = "students"
# Left out without a word: what operating systems and Jupyter leave beside the notebooks.
_JUNK = re.compile(r"__MACOSX|\.DS_Store|\._.*|\.ipynb_checkpoints|~\$.*|Thumbs\.db|desktop\.ini")
HIDDEN = "hidden (its name starts with a dot); not graded: rename it to grade it"


def is_junk(name: str) -> bool:
    return bool(_JUNK.fullmatch(name))


@dataclass(frozen=True)
class Submission:
    student: str  # a safe folder name, unique in the class: results go to OUT/students/<student>/
    path: Path
    name: str = ""  # the student's name where the input says it (an LMS export)


# A notebook, or a Jupytext percent or plain script (grader.notebook_file reads both).
SUFFIXES = (".ipynb", ".py")


def student_folder(out: Path, student: str) -> Path:
    return out / STUDENTS / student


def find_submissions(folder: Path) -> list[Submission]:
    """One notebook or script per student (``ana.ipynb``, ``ana.py``) or one folder per student, at any
    depth inside it (``ana/entrega.ipynb``, nbgrader's ``submitted/ana/xor/xor.ipynb``; its scripts
    where it holds no notebook)."""
    return scan_folder(folder)[0]


def scan_folder(folder: Path) -> tuple[list[Submission], list[tuple[str, str]]]:
    """The submissions in ``folder``, and ``(entry, reason)`` for what is refused: a symbolic link
    at any depth (it may point at the reference or at a classmate's notebook), a hidden file or
    folder other than OS junk, which is left out silently. Two entries whose safe names are equal
    get distinct students (``ana``, ``ana-2``) in the order of their names."""
    found: list[Submission] = []
    refused: list[tuple[str, str]] = []
    taken: set[str] = set()
    for entry in sorted(folder.iterdir()):
        if is_junk(entry.name):
            continue
        reason = _refusal(entry)
        if reason:
            refused.append((encodable(str(entry)), reason))
        elif entry.is_file() and entry.suffix in SUFFIXES:
            found.append(Submission(unique_name(safe_name(entry.stem), taken), entry))
        elif entry.is_dir():
            notebooks = _notebooks_in(entry, refused)
            for notebook in notebooks:
                name = entry.name if len(notebooks) == 1 else f"{entry.name}-{notebook.stem}"
                found.append(Submission(unique_name(safe_name(name), taken), notebook))
    return found, refused


def _refusal(entry: Path) -> str:
    if entry.is_symlink():
        return "a symbolic link; not graded (submit the notebook itself)"
    if entry.name.startswith("."):
        return HIDDEN
    return ""


def _notebooks_in(folder: Path, refused: list[tuple[str, str]]) -> list[Path]:
    notebooks = []
    for root, dirs, files in os.walk(folder):  # links to folders are not followed, but listed
        here = Path(root)
        for name in sorted(dirs):
            reason = "" if is_junk(name) else _refusal(here / name)
            if reason:
                refused.append((encodable(str(here / name)), reason))
        dirs[:] = sorted(d for d in dirs if not is_junk(d) and not _refusal(here / d))
        for name in sorted(files):
            path = here / name
            if is_junk(name) or not (name.endswith(SUFFIXES) or name.startswith(".")):
                continue
            reason = _refusal(path)
            if reason:
                refused.append((encodable(str(path)), reason))
            else:
                notebooks.append(path)
    # A folder's scripts are its submission only where it holds no notebook (a helper module beside
    # a notebook is not one).
    return sorted(p for p in notebooks if p.suffix == ".ipynb") or sorted(notebooks)


def safe_name(name: str) -> str:
    return re.sub(r"[^\w.@-]+", "_", name).strip("._") or "anonymous"


def unique_name(student: str, taken: set[str]) -> str:
    candidate, n = student, 1
    while candidate in taken:
        n += 1
        candidate = f"{student}-{n}"
    taken.add(candidate)
    return candidate


def content_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Outcome:
    student: str
    status: str  # "graded", "skipped", "unusable", "error"
    score: float | None = None
    max_score: float | None = None
    reason: str = ""


# What a result's status means for a later run: graded and unusable stand until the notebook or the
# grader changes; "error" is the grader's failure, so the next run tries again.
FINAL = ("graded", "unusable")


def grade_one(submission: Submission, out: Path, seed: int | None, language: str, force: bool) -> Outcome:
    """Grade one submission into ``out/students/<student>/`` unless a result for the same content
    and grader version is there already. Whatever fails here is this submission's ``error``
    (empty score), never the class's."""
    folder = student_folder(out, submission.student)
    record = {"student": submission.student, "file": encodable(str(submission.path)), "grader_version": __version__}
    try:
        digest = content_hash(submission.path)
        record["content_hash"] = digest
        previous = read_results(folder / RESULTS)
        extra = previous.get("extra_data", {}) if previous else {}
        if previous and not force and extra.get("content_hash") == digest \
                and extra.get("grader_version") == __version__ and extra.get("status") in FINAL:
            graded = extra.get("status") == "graded"
            return Outcome(submission.student, "skipped", score_of(previous) if graded else None,
                           max_score_of(previous) if graded else None, extra.get("reason", ""))
        return _grade_into(submission, folder, record, seed, language)
    except GraderError as err:
        status = "error" if err.exit_code == 3 else "unusable"
        outcome = Outcome(submission.student, status, reason=encodable(str(err)))
    except Exception as err:  # one broken submission must not stop the class
        outcome = Outcome(submission.student, "error", reason=str(could_not_grade(err)))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # No score for what was not graded: an LMS imports an empty cell as "no grade", 0 as a grade.
        # An unusable notebook is the student's to fix, and gets 0 as it always has.
        # Gradescope's spec wants a number in the file; score_of reads an error as no score.
        from grader.reports.gradescope import not_graded_json

        write_atomically(folder / RESULTS, json.dumps(not_graded_json(outcome.reason, dict(
            record, status=outcome.status, reason=outcome.reason)), ensure_ascii=False, indent=2))
    except Exception:  # the disk that failed the grading may fail this too: the gradebook says "missing"
        pass
    return outcome


def _grade_into(submission: Submission, folder: Path, record: dict, seed: int | None, language: str) -> Outcome:
    from grader.grading import grade_notebook
    from grader.reports.catalog import catalog
    from grader.reports.gradescope import results_json
    from grader.reports.render import html_report
    from grader.seeds import grading_seed

    # A course seed makes every score depend on the notebook's content and that seed only.
    chosen = grading_seed(bytes.fromhex(record["content_hash"]), str(seed).encode()) if seed is not None else None
    result = grade_notebook(submission.path, seed=chosen)
    messages = catalog(language)
    results = results_json(result, messages)
    results["extra_data"].update(record, status="graded")
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / REPORT, html_report(result, messages))
    write_atomically(folder / RESULTS, json.dumps(results, ensure_ascii=False, indent=2))
    return Outcome(submission.student, "graded", result.score, result.max_score)


# Every read of a student's results.json goes through these three, so that a change of its shape
# is made in one place.
def read_results(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def score_of(results: dict) -> float | None:
    """The score, or None for a submission the grader failed on (its file holds 0, as the spec
    wants a number; the gradebook leaves the cell empty)."""
    extra = results.get("extra_data")
    if isinstance(extra, dict) and extra.get("status") == "error":
        return None
    return results.get("score")


def max_score_of(results: dict) -> float | None:
    from grader.reports.gradescope import max_score_of as total

    return total(results)


def in_shard(submission: Submission, shard: tuple[int, int]) -> bool:
    """Whether shard K of N (1-based) grades this submission: chosen by a hash of the student, so
    that a late submission added to the class moves nobody else to another shard."""
    number, count = shard
    return int(hashlib.sha256(submission.student.encode()).hexdigest(), 16) % count == number - 1


def grade_class(submissions: list[Submission], out: Path, jobs: int, seed: int | None, language: str,
                force: bool, scheduler: str | None = None) -> Iterator[Outcome]:
    """Outcomes as submissions finish: here, in ``jobs`` worker processes (one kernel each), or on
    the dask.distributed cluster at ``scheduler``, whose workers must see ``out`` and the notebooks."""
    out.mkdir(parents=True, exist_ok=True)
    if scheduler:
        yield from _on_cluster(scheduler, submissions, out, seed, language, force)
    else:
        yield from as_finished(functools.partial(grade_one, out=out, seed=seed, language=language, force=force),
                               submissions, jobs)


def _on_cluster(address: str, submissions: list[Submission], out: Path, seed: int | None, language: str,
                force: bool) -> Iterator[Outcome]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise GraderError("--scheduler needs dask.distributed: pip install 'grader[cluster]'") from None
    with Client(address) as client:
        # pure=False: the same submission graded again (--force) must run again, not come from a cache.
        futures = client.map(grade_one, submissions, out=out, seed=seed, language=language, force=force,
                             pure=False)
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            client.cancel(futures)
