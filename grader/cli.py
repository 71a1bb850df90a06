"""The ``grade`` command: click glue around ``grader.grading``; the only place that prints."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

import click
from rich.console import Console

from grader import __version__
from grader.errors import CouldNotGrade, GraderError, Stopped, could_not_grade
from grader.files import write_atomically, write_bytes_atomically
from grader.reports.catalog import LANGUAGES, catalog
from grader.reports.gradescope import results_json
from grader.reports.render import html_report, markdown_report
from grader.reports.terminal import summary_lines
from grader.text import encodable


class _Grade(click.Group):
    """The one place a failure becomes what the user sees: one line and its exit status. A
    GraderError says what to fix; any other exception is the grader's own failure (exit 3), shown
    with its traceback first only with --debug (or GRADER_DEBUG=1); SIGTERM or Ctrl-C, once the
    grading has ended its kernel: one line, exit 143 or 130."""

    def invoke(self, ctx: click.Context):
        previous = signal.signal(signal.SIGTERM, _stop)
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except GraderError as err:
            click.echo(encodable(f"grade: error: {err}"), err=True)
            ctx.exit(err.exit_code)
        except Stopped as stop:
            click.echo(f"grade: stopped by {signal.Signals(stop.signal_number).name}: the grading was abandoned and "
                       "its kernel ended", err=True)
            ctx.exit(stop.exit_code)
        except KeyboardInterrupt:
            click.echo("grade: interrupted: the grading was abandoned and its kernel ended", err=True)
            ctx.exit(130)
        except Exception as err:
            if ctx.params.get("debug") or os.environ.get("GRADER_DEBUG"):
                click.echo(encodable(traceback.format_exc()), err=True, nl=False)
            click.echo(encodable(f"grade: error: {could_not_grade(err)}"), err=True)
            ctx.exit(3)
        finally:
            signal.signal(signal.SIGTERM, previous)


def _stop(number: int, frame) -> None:
    raise Stopped(number)


def _use_course(ctx, param, value: Path | None) -> Path | None:
    if value is not None:
        from grader.assignments import use_course

        use_course(value)
    return value


# Eager, so that the course is known before any other option or the command looks for it.
course_option = click.option(
    "--course", type=click.Path(path_type=Path, file_okay=False), callback=_use_course, is_eager=True,
    expose_value=False, envvar="GRADER_COURSE",
    help="The course folder (with reference/, exercises/, mutants/); default: $GRADER_COURSE, the checkout "
         "the grader runs from, or the current folder if it holds reference/.")
allow_unsandboxed_option = click.option(
    "--allow-unsandboxed", is_flag=True,
    help="Grade even where student code cannot be sandboxed (isolation: none, see grade doctor).")


def _refuse_unsandboxed(allowed: bool) -> str:
    """The isolation mode; refuses ``none`` unless ``allowed``."""
    from grader.untrusted import sandbox

    mode = sandbox.detect().mode
    if mode == "none" and not allowed:
        raise GraderError("student code cannot be sandboxed on this machine (isolation: none, see grade doctor); "
                          "fix that, or pass --allow-unsandboxed to grade without a sandbox")
    if mode == "none":
        click.echo("grade: warning: grading without the sandbox (--allow-unsandboxed)", err=True)
    return mode


@click.group(cls=_Grade)
@click.version_option(__version__, prog_name="grade")
@click.option("--debug", is_flag=True, help="Show the traceback when the grader itself fails (also GRADER_DEBUG=1).")
def main(debug: bool) -> None:
    """Grade the notebooks of S03.1 Aprendizaje Profundo I against the reference solutions.

    Every command exits 2 on input it cannot use and 3 when the grader itself fails (not the
    notebook): one line on stderr says what failed and what to do; --debug adds the traceback.
    """


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
@course_option
def submit(notebook: Path, assignment: str | None, seed: int | None, device: str, json_path: Path | None,
           lang: str, html_path: Path | None, md_path: Path | None, no_report: bool, verbose: bool) -> None:
    """Grade one notebook (.ipynb, or a .py script: Jupytext percent or plain), print one line per check
    and write a feedback report.

    Exit status: 0 full marks, 1 graded with points lost, 2 unusable input, 3 could not grade.

    Example: grade submit mi_cuaderno.ipynb --lang en --md feedback.md
    """
    from grader.grading import grade_notebook

    result = grade_notebook(notebook, assignment=assignment, seed=seed, device=device)
    messages = catalog(lang)
    if result.isolation == "none":
        click.echo("grade: warning: the notebook ran without the sandbox (see `grade doctor`)", err=True)
    console = Console(highlight=False, soft_wrap=True)
    for line in summary_lines(result, messages, verbose=verbose):
        line.plain = encodable(line.plain)  # same length: the styles stay where they were
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
        write_atomically(path, text)  # a full disk: exit 3, and no draft left behind
        if path.suffix in (".html", ".md"):
            click.echo(encodable(messages.text("ui.report_written", path=path)))
    sys.exit(0 if result.full_marks else 1)


def _shard(ctx, param, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        number, count = (int(part) for part in value.split("/"))
    except ValueError:
        raise click.BadParameter("use K/N, e.g. 2/4") from None
    if not 1 <= number <= count:
        raise click.BadParameter("K must be between 1 and N")
    return number, count


@main.command()
@click.argument("source", type=click.Path(path_type=Path, exists=True))
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Where gradebook.csv and summary.html go, and each student's results.json and feedback.html "
                   "(in students/<student>/).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Submissions graded at once, each in its own kernel.")
@click.option("--seed", type=int, help="Course seed: each score then depends only on the notebook and this seed.")
@click.option("--force", is_flag=True, help="Grade again submissions that already have a result.")
@click.option("--lang", type=click.Choice(LANGUAGES), default="es", show_default=True,
              help="Language of the feedback.")
@click.option("--shard", callback=_shard, metavar="K/N",
              help="Grade only shard K of N (for CI jobs or Slurm array tasks); join them with grade merge.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Grade on this dask.distributed scheduler (needs grader[cluster]; workers must see the files).")
@course_option
@allow_unsandboxed_option
def batch(source: Path, out_dir: Path, jobs: int, seed: int | None, force: bool, lang: str,
          shard: tuple[int, int] | None, scheduler: str | None, allow_unsandboxed: bool) -> None:
    """Grade a class. SOURCE is a folder with one notebook per student or one folder per student
    (nbgrader's submitted/ layout too), or a Moodle or Canvas "download all submissions" zip.

    A submission whose content and grader version already have a result is skipped, so a run
    that was stopped can simply be started again; one the grader could not grade (status error,
    no score) is graded again. Symbolic links and hidden files are listed as not graded.

    Exit status: 0 when every submission has a result (graded or unusable), 3 when some could
    not be graded (the others are graded and in the gradebook).

    Example: grade batch entregas/ --out notas/ -j 2
    """
    from collections import Counter

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    from grader.batch import grade_class, in_shard
    from grader.gradebook import write_gradebook, write_manifest, write_summary

    if scheduler is None:  # on a cluster, each worker grades with its own host's sandbox
        _refuse_unsandboxed(allow_unsandboxed)
    submissions = _submissions_in(source, out_dir)
    if shard is not None:
        submissions = [s for s in submissions if in_shard(s, shard)]
    if not submissions and shard is None:
        click.echo(encodable(f"grade: error: no notebooks in {source}"), err=True)
        sys.exit(2)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_manifest(out_dir, submissions, shard)
    counts: Counter[str] = Counter()
    console = Console(highlight=False, soft_wrap=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    try:
        # One console for the bar and the lines, so that each line is printed above the bar.
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("grade batch", total=len(submissions))
            for outcome in grade_class(submissions, out_dir, jobs, seed, lang, force, scheduler):
                counts[outcome.status] += 1
                score = "" if outcome.score is None else f" {outcome.score:g}/{outcome.max_score:g}"
                reason = f": {outcome.reason}" if outcome.reason else ""
                progress.console.print(encodable(f"{outcome.student}{score} ({outcome.status}){reason}"),
                                       markup=False)
                progress.advance(task)
    except (KeyboardInterrupt, Stopped) as stop:
        # Ignored from here on: the gradebook of the results finished so far is written whole.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        write_gradebook(out_dir)
        click.echo("grade: stopped; finished results are kept, run again to go on", err=True)
        sys.exit(stop.exit_code if isinstance(stop, Stopped) else 130)
    except Exception:
        # The batch itself failed (a worker process killed outright): what is finished still gets
        # its gradebook, then the command group says what failed (exit 3).
        try:
            write_gradebook(out_dir)
        except Exception:
            pass
        raise
    gradebook, summary = write_gradebook(out_dir), write_summary(out_dir, lang)
    click.echo(encodable(", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
                         + f"; {gradebook}; {summary}"))
    if counts["error"]:
        raise CouldNotGrade(f"could not grade {counts['error']} submission(s) (status error, no score, in "
                            f"{gradebook}); see their reason there, then run the same command again to grade them")


def _submissions_in(source: Path, out_dir: Path):
    from grader.batch import scan_folder
    from grader.lms import skipped_entries, submissions_from_zip

    if source.is_dir():
        submissions, refused = scan_folder(source)
        for entry, why in refused:
            click.echo(encodable(f"grade: not graded: {entry}: {why}"), err=True)
        return submissions
    if source.suffix.lower() != ".zip":
        raise GraderError(f"{source}: give a folder of notebooks or an LMS export .zip (to grade one notebook: "
                          "grade submit)")
    for entry, why in skipped_entries(source):
        click.echo(encodable(f"grade: not graded: {entry}: {why}"), err=True)
    return submissions_from_zip(source, out_dir / "submissions")


@main.command()
@click.argument("parts", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder that receives every shard's results, with one gradebook.csv and summary.html.")
@click.option("--lang", type=click.Choice(LANGUAGES), default="es", show_default=True,
              help="Language of the summary.")
def merge(parts: tuple[Path, ...], out_dir: Path, lang: str) -> None:
    """Join the --out folders of grade batch --shard runs into one, with one gradebook.

    Example: grade merge notas-1 notas-2 notas-3 --out notas
    """
    from grader.gradebook import merge as merge_parts
    from grader.gradebook import read_manifests, write_gradebook, write_summary

    merge_parts(list(parts), out_dir)
    gradebook, summary = write_gradebook(out_dir), write_summary(out_dir, lang)
    click.echo(f"{len(read_manifests(out_dir))} submissions; {gradebook}; {summary}")


@main.command()
@course_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if exercises/ differ from a fresh release.")
@click.option("--student-bundle", "bundle", type=click.Path(path_type=Path, file_okay=False),
              help="Also write what students install to grade at home, without the reference solutions.")
@click.option("--wheel", is_flag=True,
              help="With --student-bundle: also build it as a wheel in DIR/dist/ (pip install it, in Colab too).")
def release(check: bool, bundle: Path | None, wheel: bool) -> None:
    """Write the student notebooks in exercises/ from the reference notebooks: each solution between
    ### BEGIN SOLUTION and ### END SOLUTION becomes a stub that raises NotImplementedError, each
    exercise is followed by an optional check("...") cell (and the notebook ends with check()),
    outputs are cleared, and the metadata names the assignment and the grader version.

    Example: grade release --check; grade release --student-bundle corrector --wheel
    """
    from grader.assignments import ASSIGNMENTS
    from grader.authoring.release import stale_exercises

    if wheel and bundle is None:
        raise GraderError("--wheel builds the student bundle as a wheel: give --student-bundle DIR too")
    stale = stale_exercises(ASSIGNMENTS.values())
    if check:
        for assignment in stale:
            click.echo(f"{assignment.exercise}: differs from a fresh release of {assignment.reference}; run grade release")
        sys.exit(1 if stale else 0)
    for assignment, text in stale.items():
        write_bytes_atomically(assignment.exercise, text.encode("utf-8"))
        click.echo(f"wrote {assignment.exercise}")
    if bundle is not None:
        from grader.authoring.bundle import write_student_bundle

        write_student_bundle(bundle)
        click.echo(f"wrote {bundle}")
        if wheel:
            from grader.authoring.bundle import build_wheel

            click.echo(f"wrote {build_wheel(bundle)}")


@main.command("check-reference")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Cases graded at once, each in its own kernel.")
@click.option("--only", metavar="PATTERN", help="Only the cases whose ASSIGNMENT:NAME matches (e.g. 'xor:no_*').")
@click.option("--seeds", type=click.IntRange(1, 3), default=3, show_default=True,
              help="Seeds the reference notebooks are graded with.")
@click.option("--as-script", is_flag=True, help="Grade each case as a Jupytext percent script (.py) instead.")
@click.option("--record", is_flag=True,
              help="Keep each case's artifacts in tests/artifacts/<assignment>/<case>/ of the course, "
                   "for the kernel-free judge tests (tests/test_recorded_cases.py).")
@click.option("--json", "json_out", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write each case's score, each check's points, lost tags and hints to this JSON file.")
@course_option
@allow_unsandboxed_option
def check_reference(jobs: int, only: str | None, seeds: int, as_script: bool, record: bool, json_out: Path | None,
                    allow_unsandboxed: bool) -> None:
    """Prove the grader grades what it claims to: each reference notebook gets full marks on every
    seed, each exercise skeleton 0, each mutant in mutants/ loses points in exactly its tags with
    its hint in the feedback, each correct variant full marks. Prints a matrix of cases by graded
    object; exits 1 on any deviation.

    Example: grade check-reference -j 2 --only 'xor:*'
    """
    from grader.assignments import ASSIGNMENTS
    from grader.authoring.check import (cases, clear_recorded, coverage_problems, findings_data, recorded_folder,
                                        run_cases, share_recorded)
    from grader.reports.check_matrix import matrix_tables, problem_lines, summary_line

    _refuse_unsandboxed(allow_unsandboxed)
    chosen = cases(only, seeds)
    if as_script:
        import dataclasses

        chosen = [dataclasses.replace(case, script=True) for case in chosen]
    coverage = [] if only else [p for name in sorted(ASSIGNMENTS) for p in coverage_problems(name)]
    if not chosen:
        click.echo(f"grade: error: no case matches {only!r}", err=True)
        sys.exit(2)
    # A CI log is not a terminal but does not wrap at 80 columns: room for the matrix.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 132)
    findings, started = [], time.monotonic()
    if record and as_script:
        click.echo("grade: error: --record keeps the notebooks' artifacts; leave out --as-script", err=True)
        sys.exit(2)
    if record and not only:
        clear_recorded(chosen)
    for finding in run_cases(chosen, jobs, recorded_folder() if record else None):
        findings.append(finding)
        verdict = "ok" if not finding.problems else "FAIL"
        console.print(f"[{len(findings)}/{len(chosen)}] {finding.case.label}: {verdict} "
                      f"({finding.score:g}/{finding.max_score:g}, {finding.seconds:.1f} s)", markup=False)
    for table in matrix_tables(findings):
        console.print(table)
    if record:
        share_recorded(chosen)
    if json_out is not None:
        write_atomically(json_out, json.dumps(findings_data(findings), indent=1, sort_keys=True) + "\n")
    problems = problem_lines(findings, coverage)
    for line in problems:
        console.print(line)
    console.print(summary_line(findings, coverage, time.monotonic() - started), markup=False)
    sys.exit(1 if problems else 0)


@main.command()
def doctor() -> None:
    """Say what isolation student code gets on this machine (each mode is tried, strongest
    first), what it contains, why stronger modes failed, and what would give a stronger one.

    Exit status: 0 when the sandbox is complete (root or rootless, with cgroup memory caps),
    1 when something is missing.

    Example: grade doctor
    """
    from grader.untrusted import sandbox

    isolation = sandbox.detect()
    click.echo("\n".join(isolation.describe()))
    sys.exit(0 if isolation.complete else 1)


@main.group()
def gradescope() -> None:
    """Autograders for Gradescope: build the zip, and what it runs for each submission."""


def _check_names(ctx, param, value: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (value or "").split(",") if name.strip())


@gradescope.command("build")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--assignment", help="Grade every submission as this assignment (e.g. xor); by default each "
                                   "notebook is recognised, and the zip holds every reference.")
@click.option("--lang", type=click.Choice(LANGUAGES), default="es", show_default=True,
              help="Language of the feedback students see.")
@click.option("--memory-mb", type=click.IntRange(min=1), default=768, show_default=True,
              help="The container's memory, as set in Gradescope's autograder settings.")
@click.option("--timeout-s", type=click.IntRange(min=1), default=600, show_default=True,
              help="The container's timeout, as set in Gradescope's autograder settings.")
@click.option("--hide-until-due", callback=_check_names, metavar="CHECK,...",
              help="Checks whose test students see only after the due date (visibility after_due_date).")
def gradescope_build(out: Path, assignment: str | None, lang: str, memory_mb: int, timeout_s: int,
                     hide_until_due: tuple[str, ...]) -> None:
    """Write the autograder zip to upload to a Gradescope programming assignment: setup.sh and
    run_autograder at its root, the grader, the reference notebooks and these settings.

    Example: grade gradescope build xor-autograder.zip --assignment xor --hide-until-due end_to_end_accuracy
    """
    from grader.gradescope.build import build_zip, make_config
    from grader.gradescope.limits import container_limits

    config = make_config(assignment, lang, memory_mb, timeout_s, hide_until_due)
    names = build_zip(out, config)
    limits = container_limits(memory_mb, timeout_s)
    click.echo(f"wrote {out}: {len(names)} files; kernel memory {limits.memory_mb} MB of {memory_mb} MB, "
               f"grading within {timeout_s} s; upload it as the assignment's autograder (Ubuntu 22.04 base image)")


@gradescope.command("run")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default="/autograder", show_default=True,
              help="Gradescope's autograder folder (source/, submission/, results/).")
def gradescope_run(root: Path) -> None:
    """Grade the one notebook in ROOT/submission/ and write ROOT/results/results.json; what
    run_autograder runs. Prints, for the instructor, the grader, sandbox and limits used.

    Example: grade gradescope run --root /autograder
    """
    from grader.gradescope.autograder import AutograderRoot, run_autograder

    run = run_autograder(AutograderRoot(root))
    for line in run.lines:
        click.echo(line)
    sys.exit(run.exit_code)
