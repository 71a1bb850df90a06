"""The ``grade`` command: click glue around ``grader.grading``; the only place that prints."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.console import Console

from grader import __version__
from grader.errors import GraderError
from grader.files import write_atomically
from grader.reports.catalog import LANGUAGES, catalog
from grader.reports.gradescope import results_json
from grader.reports.render import html_report, markdown_report
from grader.reports.terminal import summary_lines


@click.group()
@click.version_option(__version__, prog_name="grade")
def main() -> None:
    """Grade the notebooks of S03.1 Aprendizaje Profundo I against the reference solutions."""


@main.command()
@click.argument("notebook", type=click.Path(path_type=Path))
@click.option("--assignment", help="Grade as this assignment instead of recognising it (e.g. xor).")
@click.option("--seed", type=int, help="Use this grading seed instead of the one derived from the notebook.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where the end-to-end training runs.")
@click.option("--json", "json_path", type=click.Path(path_type=Path),
              help="Also write Gradescope's results.json to this path.")
@click.option("--lang", type=click.Choice(LANGUAGES), default="es", show_default=True,
              help="Language of the feedback.")
@click.option("--html", "html_path", type=click.Path(path_type=Path),
              help="Write the HTML report here instead of next to the notebook (NOTEBOOK.feedback.html).")
@click.option("--md", "md_path", type=click.Path(path_type=Path),
              help="Also write the report as Markdown (for LMS comments) to this path.")
@click.option("--no-report", is_flag=True, help="Write no HTML report.")
@click.option("-v", "--verbose", is_flag=True, help="Show the messages of passed checks too.")
def submit(notebook: Path, assignment: str | None, seed: int | None, device: str, json_path: Path | None,
           lang: str, html_path: Path | None, md_path: Path | None, no_report: bool, verbose: bool) -> None:
    """Grade one notebook, print one line per check and write a feedback report.

    Exit status: 0 full marks, 1 graded with points lost, 2 unusable input.

    Example: grade submit mi_cuaderno.ipynb --lang en --md feedback.md
    """
    from grader.grading import grade_notebook

    try:
        result = grade_notebook(notebook, assignment=assignment, seed=seed, device=device)
    except GraderError as err:
        click.echo(f"grade: error: {err}", err=True)
        sys.exit(err.exit_code)
    messages = catalog(lang)
    if result.isolation != "bubblewrap":
        click.echo("grade: warning: the notebook ran without the sandbox (see `grade doctor`)", err=True)
    console = Console(highlight=False, soft_wrap=True)
    for line in summary_lines(result, messages, verbose=verbose):
        console.print(line)
    outputs: list[tuple[Path, str]] = []
    if json_path is not None:
        outputs.append((json_path, json.dumps(results_json(result, messages), ensure_ascii=False, indent=2)))
    if not no_report:
        outputs.append((html_path or notebook.with_name(f"{notebook.stem}.feedback.html"),
                        html_report(result, messages)))
    if md_path is not None:
        outputs.append((md_path, markdown_report(result, messages)))
    for path, text in outputs:
        try:
            write_atomically(path, text)
        except OSError as err:
            click.echo(f"grade: error: cannot write {path}: {err.strerror}", err=True)
            sys.exit(2)
        if path.suffix in (".html", ".md"):
            click.echo(messages.text("ui.report_written", path=path))
    sys.exit(0 if result.full_marks else 1)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Where each student's results.json and feedback.html go, and gradebook.csv.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Submissions graded at once, each in its own kernel.")
@click.option("--seed", type=int, help="Course seed: each score then depends only on the notebook and this seed.")
@click.option("--force", is_flag=True, help="Grade again submissions that already have a result.")
@click.option("--lang", type=click.Choice(LANGUAGES), default="es", show_default=True,
              help="Language of the feedback.")
def batch(folder: Path, out_dir: Path, jobs: int, seed: int | None, force: bool, lang: str) -> None:
    """Grade a class: FOLDER holds one notebook per student, or one folder per student.

    A submission whose content and grader version already have a result is skipped, so a run
    that was stopped can simply be started again.

    Example: grade batch entregas/ --out notas/ -j 2
    """
    from collections import Counter

    from grader.batch import find_submissions, grade_class, write_gradebook

    submissions = find_submissions(folder)
    if not submissions:
        click.echo(f"grade: error: no notebooks in {folder}", err=True)
        sys.exit(2)
    counts: Counter[str] = Counter()
    try:
        for outcome in grade_class(submissions, out_dir, jobs, seed, lang, force):
            counts[outcome.status] += 1
            score = "" if outcome.score is None else f" {outcome.score:g}/{outcome.max_score:g}"
            reason = f": {outcome.reason}" if outcome.reason else ""
            click.echo(f"{outcome.student}{score} ({outcome.status}){reason}")
    except KeyboardInterrupt:
        click.echo("grade: stopped; finished results are kept, run again to go on", err=True)
        write_gradebook(out_dir, submissions)
        sys.exit(130)
    gradebook = write_gradebook(out_dir, submissions)
    click.echo(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) + f"; {gradebook}")


@main.command()
def doctor() -> None:
    """Say what isolation student code gets on this machine, and what is missing."""
    from grader.untrusted import sandbox

    isolation = sandbox.detect()
    click.echo("\n".join(isolation.describe()))
    sys.exit(0 if isolation.mode == "bubblewrap" else 1)
