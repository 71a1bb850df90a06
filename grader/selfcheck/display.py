"""Showing what ``check()`` found: HTML in Jupyter and Colab, plain text elsewhere. One line per
check with its points, the total, then the feedback of the failed checks; every sentence from
the catalogs, the checks' own through the report's view (grader.reports.view)."""

from __future__ import annotations

from dataclasses import dataclass

from grader.reports.catalog import Catalog
from grader.reports.render import render_template
from grader.reports.view import CheckView, report_view


@dataclass
class CheckPanel:
    heading: str
    checks: list[CheckView]
    failed: list[CheckView]
    total: str
    total_label: str
    detail: str
    full_marks: bool
    passed_label: str
    failed_label: str
    feedback_label: str
    notes: list[str]


def panel(found, catalog: Catalog) -> CheckPanel:
    result = found.result
    view = report_view(result, catalog)
    checks = sorted(view.passed + view.failed, key=lambda c: int(c.number))
    notes = [catalog.text(f"selfcheck.{key}", **params) for key, params in found.notes]
    if found.training_seconds is not None:
        notes.append(catalog.text("selfcheck.training", seconds=f"{found.training_seconds:.1f}"))
    notes.append(catalog.text("selfcheck.same_as", seed=result.seed))
    return CheckPanel(
        heading=catalog.text("selfcheck.heading", assignment=result.assignment, parts=", ".join(found.parts)),
        checks=checks, failed=[c for c in checks if not c.passed],
        total=f"{view.score}/{view.max_score}", total_label=catalog.text("ui.total"),
        detail=catalog.text("selfcheck.detail", seed=result.seed, device=result.device,
                            seconds=f"{result.seconds:.1f}"),
        full_marks=result.full_marks, passed_label=catalog.text("ui.passed"), failed_label=catalog.text("ui.failed"),
        feedback_label=catalog.text("report.failed_checks"), notes=notes)


def text(view: CheckPanel) -> str:
    width = max((len(c.max_score) for c in view.checks), default=1)
    lines = [view.heading]
    for check in view.checks:
        mark = view.passed_label if check.passed else view.failed_label
        lines.append(f"{mark:<5} {check.score:>{width}}/{check.max_score:<{width}}  {check.title}")
    lines.append(f"{view.total_label}: {view.total}  ({view.detail})")
    if view.failed:
        lines += ["", view.feedback_label + ":"]
        for check in view.failed:
            lines.append(f"{check.number}. {check.title} ({check.score}/{check.max_score})")
            lines += [f"    {'  ' if line.is_detail else ''}{line.text}" for line in check.messages + check.advice]
    lines += [""] + view.notes
    return "\n".join(lines)


def html(view: CheckPanel) -> str:
    return render_template("check.html.j2", view)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def show(found, catalog: Catalog) -> None:
    view = panel(found, catalog)
    if _in_notebook():
        from IPython.display import HTML, display

        display(HTML(html(view)))
    else:
        print(text(view))


def show_line(line: str) -> None:
    print(line)


def request_text(err, catalog: Catalog) -> str:
    line = catalog.text(f"selfcheck.{err.key}", **{k: v for k, v in err.params.items() if k != "suggestion"})
    if err.params.get("suggestion"):
        line += " " + catalog.text("selfcheck.did_you_mean", name=err.params["suggestion"])
    return line
