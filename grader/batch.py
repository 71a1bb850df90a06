"""Grading a whole class: each submission graded exactly as ``grade submit`` grades it, in its own
kernel, several at once; each result written atomically as it is finished; the gradebook rebuilt
from what is on disk, so that a run stopped at any moment and started again gives the same one."""

from __future__ import annotations

import concurrent.futures
import csv
import hashlib
import io
import json
import multiprocessing
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from grader import __version__
from grader.errors import GraderError
from grader.files import write_atomically

RESULTS = "results.json"
REPORT = "feedback.html"
GRADEBOOK = "gradebook.csv"


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path


def find_submissions(folder: Path) -> list[Submission]:
    """One notebook per student (``ana.ipynb``) or one folder per student, at any depth inside it
    (``ana/entrega.ipynb``, nbgrader's ``submitted/ana/xor/xor.ipynb``)."""
    found: list[Submission] = []
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and entry.suffix == ".ipynb":
            found.append(Submission(_safe(entry.stem), entry))
        elif entry.is_dir() and not entry.name.startswith("."):
            notebooks = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            for notebook in notebooks:
                name = entry.name if len(notebooks) == 1 else f"{entry.name}-{notebook.stem}"
                found.append(Submission(_safe(name), notebook))
    return found


def _safe(name: str) -> str:
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
    previous = _read_results(folder / RESULTS)
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


def _read_results(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def grade_class(submissions: list[Submission], out: Path, jobs: int, seed: int | None, language: str,
                force: bool) -> Iterator[Outcome]:
    """Outcomes as submissions finish; ``jobs`` worker processes, one kernel each."""
    out.mkdir(parents=True, exist_ok=True)
    if jobs <= 1:
        for submission in submissions:
            yield grade_one(submission, out, seed, language, force)
        return
    # Spawned, not forked: a fork of a process that has run torch's thread pools can hang.
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(grade_one, s, out, seed, language, force) for s in submissions]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()


def write_gradebook(out: Path, submissions: list[Submission]) -> Path:
    """``out/gradebook.csv`` from the results on disk: one row per submission, also for those
    that could not be graded, points per graded object in the checks' order."""
    rows, objects = [], []
    for submission in submissions:
        results = _read_results(out / submission.student / RESULTS) or {}
        extra = results.get("extra_data", {})
        points: dict[str, float] = {}
        for test in results.get("tests", []):
            tag = test.get("tags", ["?"])[0]
            points[tag] = points.get(tag, 0.0) + float(test.get("score", 0))
            if tag not in objects:
                objects.append(tag)
        rows.append((submission, results, extra, points))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["student", "file", "score", "max_score", *objects, "status", "reason"])
    for submission, results, extra, points in rows:
        writer.writerow([submission.student, str(submission.path), _number(results.get("score")),
                         _number(results.get("max_score")), *[_number(points.get(o)) for o in objects],
                         extra.get("status", "missing"), extra.get("reason", "")])
    path = out / GRADEBOOK
    write_atomically(path, text.getvalue().rstrip("\n"))
    return path


def _number(value) -> str:
    return "" if value is None else f"{float(value):g}"
