"""Grading a whole class: each submission graded exactly as ``grade submit`` grades it, in its own
kernel, several at once (or on a dask.distributed cluster); each result written atomically as it
is finished, and skipped when it is there already, so that a run stopped at any moment can simply
be started again (grader.gradebook builds the class's files from these results)."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from grader import __version__
from grader.errors import GraderError
from grader.files import write_atomically
from grader.workers import as_finished

RESULTS = "results.json"
REPORT = "feedback.html"


@dataclass(frozen=True)
class Submission:
    student: str  # a safe folder name, unique in the class: results go to OUT/<student>/
    path: Path
    name: str = ""  # the student's name where the input says it (an LMS export)


def find_submissions(folder: Path) -> list[Submission]:
    """One notebook or script per student (``ana.ipynb``, ``ana.py``) or one folder per student, at any
    depth inside it (``ana/entrega.ipynb``, nbgrader's ``submitted/ana/xor/xor.ipynb``; its scripts
    where it holds no notebook)."""
    found: list[Submission] = []
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and entry.suffix in (".ipynb", ".py"):  # .py: a Jupytext or plain script
            found.append(Submission(safe_name(entry.stem), entry))
        elif entry.is_dir() and not entry.name.startswith("."):
            notebooks = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts) or \
                sorted(p for p in entry.rglob("*.py") if ".ipynb_checkpoints" not in p.parts)  # scripts if no notebook
            for notebook in notebooks:
                name = entry.name if len(notebooks) == 1 else f"{entry.name}-{notebook.stem}"
                found.append(Submission(safe_name(name), notebook))
    return found


def safe_name(name: str) -> str:
    return re.sub(r"[^\w.@-]+", "_", name).strip("._") or "anonymous"


def content_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Outcome:
    student: str
    status: str  # "graded", "skipped", "unusable", "error"
    score: float | None = None
    max_score: float | None = None
    reason: str = ""


def grade_one(submission: Submission, out: Path, seed: int | None, language: str, force: bool) -> Outcome:
    """Grade one submission into ``out/<student>/`` unless a result for the same content and
    grader version is there already."""
    from grader.grading import grade_notebook
    from grader.reports.catalog import catalog
    from grader.reports.gradescope import results_json
    from grader.reports.render import html_report
    from grader.seeds import grading_seed

    folder = out / submission.student
    digest = content_hash(submission.path)
    previous = read_results(folder / RESULTS)
    extra = previous.get("extra_data", {}) if previous else {}
    if previous and not force and extra.get("content_hash") == digest and extra.get("grader_version") == __version__:
        graded = extra.get("status") == "graded"
        return Outcome(submission.student, "skipped", previous.get("score") if graded else None,
                       previous.get("max_score") if graded else None, extra.get("reason", ""))
    folder.mkdir(parents=True, exist_ok=True)
    record = {"student": submission.student, "file": str(submission.path), "content_hash": digest,
              "grader_version": __version__}
    try:
        # A course seed makes every score depend on the notebook's content and that seed only.
        chosen = grading_seed(bytes.fromhex(digest), str(seed).encode()) if seed is not None else None
        result = grade_notebook(submission.path, seed=chosen)
    except GraderError as err:
        outcome = Outcome(submission.student, "unusable", reason=str(err))
    except Exception as err:  # one broken submission must not stop the class
        outcome = Outcome(submission.student, "error", reason=f"{type(err).__name__}: {err}"[:300])
    else:
        messages = catalog(language)
        results = results_json(result, messages)
        results["extra_data"].update(record, status="graded")
        write_atomically(folder / REPORT, html_report(result, messages))
        write_atomically(folder / RESULTS, json.dumps(results, ensure_ascii=False, indent=2))
        return Outcome(submission.student, "graded", result.score, result.max_score)
    write_atomically(folder / RESULTS, json.dumps({"score": 0, "output": outcome.reason, "tests": [],
                                                   "extra_data": dict(record, status=outcome.status,
                                                                      reason=outcome.reason)},
                                                  ensure_ascii=False, indent=2))
    return outcome


def read_results(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


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
