"""The terminal summary: one line per check, the feedback of failed checks, then the total."""

from __future__ import annotations

from grader.reports.catalog import Catalog
from grader.reports.gradescope import _points
from grader.trusted.results import GradeResult


def summary_lines(result: GradeResult, catalog: Catalog, verbose: bool = False) -> list[str]:
    width = max(len(_points(c.max_score)) for c in result.checks)
    lines = []
    for check in result.checks:
        mark = catalog.text("ui.passed") if check.passed else catalog.text("ui.failed")
        score = f"{_points(check.score):>{width}}/{_points(check.max_score):<{width}}"
        lines.append(f"{mark:<5} {score}  {catalog.check_title(check.name)}")
        if not check.passed or verbose:
            lines += [f"        {catalog.message(m)}" for m in check.messages]
        lines += [f"        {catalog.message(m)}" for m in check.advice]
    if result.notes:
        lines.append("")
        lines.append(catalog.text("ui.notes") + ":")
        lines += [f"  - {catalog.message(n)}" for n in result.notes]
    lines.append("")
    lines.append(f"{catalog.text('ui.total')}: {_points(result.score)}/{_points(result.max_score)}"
                 f"  ({result.assignment}, seed {result.seed}, {result.device}, {result.seconds:.1f} s,"
                 f" {result.isolation})")
    return lines
