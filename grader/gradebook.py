"""What a batch leaves in its output folder besides each student's results: the manifest of the
submissions it was given, the gradebook and the class summary, all rebuilt from what is on disk,
so that a run stopped at any moment and started again, or shards graded apart and merged, give
the same files as one uninterrupted run."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from grader import __version__
from grader.batch import Submission, read_result, student_folder
from grader.errors import GraderError
from grader.files import write_atomically

GRADEBOOK = "gradebook.csv"
SUMMARY = "summary.html"


def manifest_name(shard: tuple[int, int] | None) -> str:
    # One manifest per shard, so that shards may also share one output folder.
    return "manifest.json" if shard is None else f"manifest-{shard[0]}-of-{shard[1]}.json"


def write_manifest(out: Path, submissions: list[Submission], shard: tuple[int, int] | None) -> None:
    entries = [{"student": s.student, "name": s.name, "file": str(s.path)} for s in submissions]
    write_atomically(out / manifest_name(shard), json.dumps({"grader_version": __version__, "submissions": entries},
                                                            ensure_ascii=False, indent=1))


def read_manifests(out: Path) -> list[Submission]:
    """The submissions of every manifest in ``out``, each student once, sorted."""
    found: dict[str, Submission] = {}
    for path in sorted(out.glob("manifest*.json")):
        try:
            entries = json.loads(path.read_text("utf-8"))["submissions"]
        except (OSError, ValueError, KeyError, TypeError):
            raise GraderError(f"{path}: not a manifest written by grade batch; remove it or grade again") from None
        for entry in entries:
            submission = Submission(entry["student"], Path(entry["file"]), entry.get("name", ""))
            if found.setdefault(submission.student, submission) != submission:
                raise GraderError(f"{path}: student {submission.student} also comes from "
                                  f"{found[submission.student].path}; one class per output folder")
    return sorted(found.values(), key=lambda s: s.student)


def write_gradebook(out: Path) -> Path:
    """``out/gradebook.csv`` from the results on disk: one row per submission in the manifests,
    also for those that could not be graded (or not yet: status "missing"), points per graded
    object in the checks' order."""
    rows, objects = [], []
    for submission in read_manifests(out):
        submitted = read_result(student_folder(out, submission.student))
        points = {tag: got for tag, (got, _) in submitted.result.tag_scores().items()} \
            if submitted and submitted.result else {}
        objects += [tag for tag in points if tag not in objects]
        rows.append((submission, submitted, points))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["student", "name", "file", "score", "max_score", *objects, "status", "reason", "isolation"])
    for submission, submitted, points in rows:
        writer.writerow([_text(submission.student), _text(submission.name), _text(str(submission.path)),
                         _number(submitted and submitted.score), _number(submitted and submitted.max_score),
                         *[_number(points.get(o)) for o in objects],
                         _text(submitted.status if submitted else "missing"),
                         _text(submitted.reason if submitted else ""),
                         _text(submitted.result.isolation if submitted and submitted.result else "")])
    path = out / GRADEBOOK
    write_atomically(path, text.getvalue().rstrip("\n"))
    return path


def _number(value) -> str:
    try:
        return "" if value is None else f"{float(value):g}"
    except (TypeError, ValueError):
        return ""


def _text(value: str) -> str:
    """A cell a spreadsheet shows as text: one that starts like a formula (a student named
    "=HYPERLINK(...)") gets a leading apostrophe, as OWASP's advice on CSV injection says, and it
    stays one cell."""
    value = "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value
    # The writer quotes a field with "\n" in it but not one with a bare "\r", which spreadsheets
    # also take as the end of a row.
    return value.replace("\r\n", "\n").replace("\r", "\n")


def write_summary(out: Path, language: str) -> Path:
    """``out/summary.html``: the class at a glance, from the results on disk."""
    from grader.reports.catalog import catalog
    from grader.reports.summary import summary_html

    results = [r for s in read_manifests(out) if (r := read_result(student_folder(out, s.student)))]
    path = out / SUMMARY
    write_atomically(path, summary_html(results, catalog(language)))
    return path


def merge(parts: list[Path], out: Path) -> None:
    """Bring the output folders of several shards into ``out``: each student's folder and each
    manifest, refusing two different results for one student."""
    out.mkdir(parents=True, exist_ok=True)
    for part in parts:
        if part.resolve() == out.resolve():
            continue
        manifests = sorted(part.glob("manifest*.json"))
        if not manifests:
            raise GraderError(f"{part}: no manifest; is it the --out folder of a grade batch run?")
        for submission in read_manifests(part):
            source, target = student_folder(part, submission.student), student_folder(out, submission.student)
            if not source.is_dir():
                continue  # not graded yet in that shard: the gradebook will say "missing"
            mine, theirs = read_result(target), read_result(source)
            if mine and theirs and mine.content_hash != theirs.content_hash:
                raise GraderError(f"{submission.student}: {part} and {out} hold results of different "
                                  "notebooks; merge shards of one class only")
            shutil.copytree(source, target, dirs_exist_ok=True)
        for manifest in manifests:
            shutil.copyfile(manifest, out / manifest.name)
    read_manifests(out)  # two shards that disagree about a student fail here, before any gradebook
