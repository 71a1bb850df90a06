"""``grade check-reference``'s matrix: one table per assignment, a row per case (reference on each
seed, skeleton, mutants, correct variants), a column per graded object. A cell is ``✗`` where the
case lost points there, ``·`` where it did not; red where that is not what the case expects."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from grader.authoring.check import Finding, hint_scores
from grader.trusted.points import checks_of


def _expected_lost(finding: Finding, tag: str) -> bool:
    case = finding.case
    if case.kind == "skeleton":
        return True
    return case.kind == "mutant" and tag in case.mutant.tags


def matrix_tables(findings: list[Finding]) -> list[Table]:
    order = {"reference": 0, "skeleton": 1, "mutant": 2, "variant": 3}
    tables = []
    for assignment in sorted({f.case.assignment for f in findings}):
        tags = list(dict.fromkeys(spec.tag for spec in checks_of(assignment)))
        # Numbered columns with a legend, so that the table fits a CI log's 80 columns.
        legend = "  ".join(f"{number}={tag}" for number, tag in enumerate(tags, start=1))
        table = Table(title=assignment, title_justify="left", caption=legend, caption_justify="left", pad_edge=False)
        table.add_column("case", no_wrap=True)
        for number in range(1, len(tags) + 1):
            table.add_column(str(number), justify="center")
        table.add_column("score", justify="right", no_wrap=True)
        table.add_column("", no_wrap=True)
        mine = sorted((f for f in findings if f.case.assignment == assignment),
                      key=lambda f: (order[f.case.kind], f.case.name, f.case.seed))
        for finding in mine:
            cells = []
            for tag in tags:
                lost = tag in finding.lost
                # The skeleton only has to score 0 overall; a tag it keeps is fine only if it has no points.
                wrong = lost != _expected_lost(finding, tag) and finding.case.kind != "skeleton"
                cells.append(Text("✗" if lost else "·", style="bold red" if wrong else ("yellow" if lost else "dim")))
            label = finding.case.name if finding.case.kind != "reference" else f"reference (seed {finding.case.seed})"
            if finding.case.kind == "variant":
                label = f"variant: {label}"
            table.add_row(label, *cells, f"{finding.score:g}/{finding.max_score:g}",
                          Text("ok", style="green") if not finding.problems else Text("FAIL", style="bold red"))
        tables.append(table)
    return tables


def problem_lines(findings: list[Finding], coverage: list[str]) -> list[Text]:
    lines = [Text(f"{f.case.label}: {problem}", style="red") for f in findings for problem in f.problems]
    return lines + [Text(problem, style="red") for problem in coverage]


def summary_line(findings: list[Finding], coverage: list[str], seconds: float) -> str:
    """The run in one line: cases, deviations, and how precisely the hints named the mistakes
    (precision: hints given that the case claims; recall: hints claimed that were given)."""
    failed = sum(bool(f.problems) for f in findings)
    scores = hint_scores(findings)
    return (f"{len(findings)} cases, {failed} deviating"
            + (f", {len(coverage)} coverage problems" if coverage else "")
            + f" ({seconds:.0f} s); hints: precision {100 * scores.precision:.0f}% ({scores.right}/{scores.named}),"
            f" recall {100 * scores.recall:.0f}% ({scores.right}/{scores.claimed})")
