"""The ``grade`` command: click glue around ``grader.grading``; the only place that prints."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from grader import __version__
from grader.errors import GraderError
from grader.reports.catalog import LANGUAGES, catalog
from grader.reports.gradescope import results_json
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
@click.option("-v", "--verbose", is_flag=True, help="Show the messages of passed checks too.")
def submit(notebook: Path, assignment: str | None, seed: int | None, device: str, json_path: Path | None,
           lang: str, verbose: bool) -> None:
    """Grade one notebook and print one line per check.

    Exit status: 0 full marks, 1 graded with points lost, 2 unusable input.

    Example: grade submit mi_cuaderno.ipynb --json results.json
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
    click.echo("\n".join(summary_lines(result, messages, verbose=verbose)))
    if json_path is not None:
        _write_atomically(json_path, json.dumps(results_json(result, messages), ensure_ascii=False, indent=2))
    sys.exit(0 if result.full_marks else 1)


@main.command()
def doctor() -> None:
    """Say what isolation student code gets on this machine, and what is missing."""
    from grader.untrusted import sandbox

    isolation = sandbox.detect()
    click.echo("\n".join(isolation.describe()))
    sys.exit(0 if isolation.mode == "bubblewrap" else 1)


def _write_atomically(path: Path, text: str) -> None:
    draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    draft.write_text(text + "\n", encoding="utf-8")
    os.replace(draft, path)
