"""The terminal summary: one line per check, the feedback of failed checks, the notes, then the
total. Lines are rich Text (never parsed as markup: messages hold shapes like [1, 3]); colour
appears only where the console is a terminal."""

from __future__ import annotations

from rich.text import Text

from grader.reports.catalog import Catalog
from grader.reports.view import points
from grader.trusted.results import GradeResult, Message


def summary_lines(result: GradeResult, catalog: Catalog, verbose: bool = False) -> list[Text]:
    width = max(len(points(c.max_score)) for c in result.checks)
    lines = []
    for check in result.checks:
        mark = catalog.text("ui.passed") if check.passed else catalog.text("ui.failed")
        score = f"{points(check.score):>{width}}/{points(check.max_score):<{width}}"
        line = Text()
        line.append(f"{mark:<5}", style="bold green" if check.passed else "bold red")
        line.append(f" {score}  {catalog.check_title(check.name)}")
        lines.append(line)
        if not check.passed or verbose:
            lines += [Text(f"        {_indent(m)}{catalog.message(m)}") for m in check.messages]
        lines += [Text(f"        {_indent(m)}{catalog.message(m)}", style="cyan") for m in check.advice]
    if result.notes:
        lines.append(Text(""))
        lines.append(Text(catalog.text("ui.notes") + ":", style="bold"))
        lines += [Text(f"  - {catalog.message(n)}", style="yellow") for n in result.notes]
    lines.append(Text(""))
    total = Text(f"{catalog.text('ui.total')}: {points(result.score)}/{points(result.max_score)}",
                 style="bold green" if result.full_marks else "bold")
    total.append(f"  ({result.assignment}, seed {result.seed}, {result.device}, {result.seconds:.1f} s,"
                 f" {result.isolation})", style="dim")
    lines.append(total)
    return lines


def _indent(message: Message) -> str:
    # A detail or a location sits under the sentence it belongs to.
    return "  " if message.role != "headline" else ""
