"""Grading a whole class: each submission graded exactly as ``grade submit`` grades it, in its own
kernel, several at once (or on a dask.distributed cluster); each result written atomically as it
is finished, and skipped when it is there already, so that a run stopped at any moment can simply
be started again (grader.gradebook builds the class's files from these results).

Each student's folder holds the result as data, ``result.json`` (grader.trusted.results.
SubmissionResult, in no language), and its renderings in the batch's language: Gradescope's
``results.json`` and ``feedback.html``. Everything read later (the skip check, the gradebook, the
class summary, a merge) reads ``result.json``, which is written last: a folder without it is
graded again."""

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
from grader.statuses import BatchOutcome
from grader.text import encodable
from grader.trusted.results import MalformedResult, SubmissionResult
from grader.workers import as_finished

RESULT = "result.json"  # the data
RESULTS = "results.json"  # Gradescope's file, rendered from it
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
    status: BatchOutcome
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
    submitted = SubmissionResult(submission.student, encodable(str(submission.path)), "error", __version__)
    try:
        submitted.content_hash = content_hash(submission.path)
        previous = read_result(folder)
        if previous and not force and previous.content_hash == submitted.content_hash \
                and previous.grader_version == __version__ and previous.status in FINAL:
            return Outcome(submission.student, "skipped", previous.result and previous.result.score,
                           previous.result and previous.result.max_score, previous.reason)
        return _grade_into(submission, folder, submitted, seed, language)
    except GraderError as err:
        submitted.status = "error" if err.exit_code == 3 else "unusable"
        submitted.reason, submitted.result = encodable(str(err)), None
    except Exception as err:  # one broken submission must not stop the class (nor its report that failed)
        submitted.status, submitted.reason, submitted.result = "error", str(could_not_grade(err)), None
    try:
        # No score for what was not graded: an LMS imports an empty cell as "no grade", 0 as a grade.
        # An unusable notebook is the student's to fix, and gets 0 as it always has.
        write_result(folder, submitted, language)
    except Exception:  # the disk that failed the grading may fail this too: the gradebook says "missing"
        pass
    return Outcome(submission.student, submitted.status, reason=submitted.reason)


def _grade_into(submission: Submission, folder: Path, submitted: SubmissionResult, seed: int | None,
                language: str) -> Outcome:
    from grader.grading import grade_notebook
    from grader.seeds import grading_seed

    # A course seed makes every score depend on the notebook's content and that seed only.
    chosen = grading_seed(bytes.fromhex(submitted.content_hash), str(seed).encode()) if seed is not None else None
    submitted.result = grade_notebook(submission.path, seed=chosen)
    submitted.status = "graded"
    write_result(folder, submitted, language)
    return Outcome(submission.student, "graded", submitted.result.score, submitted.result.max_score)


def write_result(folder: Path, submitted: SubmissionResult, language: str) -> None:
    """The student's folder: the renderings in ``language``, made from the result as it is stored,
    then result.json itself, last, so that a folder is skipped only once it is whole."""
    from grader.reports.catalog import catalog
    from grader.reports.gradescope import submission_json
    from grader.reports.render import html_report

    data = json.dumps(submitted.to_json(), ensure_ascii=False, indent=1)
    stored = SubmissionResult.from_json(json.loads(data))
    messages = catalog(language)
    folder.mkdir(parents=True, exist_ok=True)
    if stored.result is not None:
        write_atomically(folder / REPORT, html_report(stored.result, messages))
    write_atomically(folder / RESULTS, json.dumps(submission_json(stored, messages), ensure_ascii=False, indent=2))
    write_atomically(folder / RESULT, data)


def read_result(folder: Path) -> SubmissionResult | None:
    """The result in a student's folder, or None where there is none this grader can read (the
    gradebook says "missing", and the next run grades it again)."""
    try:
        return SubmissionResult.from_json(json.loads((folder / RESULT).read_text("utf-8")))
    except (OSError, ValueError, RecursionError, MalformedResult):
        return None


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
