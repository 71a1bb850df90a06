"""What a report shows, as plain data: built once from a GradeResult and a catalog, rendered by the
HTML and Markdown templates alike. Every user-facing sentence comes from the catalog."""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.reports.catalog import Catalog
from grader.statuses import Role
from grader.trusted.results import GradeResult, Message

# A message is a sentence or two; anything longer came from the student's side (an exception's
# text) and is cut, so that no report grows with what a notebook printed.
MAX_MESSAGE_CHARS = 1500


@dataclass(frozen=True)
class Line:
    """One message in the catalog's words, with its role: renderers show a "detail" or a
    "location" as code under the sentence before it."""

    text: str
    role: Role = "headline"

    @property
    def is_detail(self) -> bool:
        return self.role != "headline"


@dataclass
class CheckView:
    number: str
    title: str
    score: str
    max_score: str
    passed: bool
    messages: list[Line]
    advice: list[Line]
    figures: list[dict[str, str]] = field(default_factory=list)  # {"data_uri", "caption"}


@dataclass
class ObjectRow:
    name: str
    score: str
    max_score: str
    passed: bool


@dataclass
class ReportView:
    language: str
    text: dict[str, str]  # the catalog's [report] table, already formatted
    assignment: str
    notebook: str
    score: str
    max_score: str
    percent: int
    full_marks: bool
    objects: list[ObjectRow]
    failed: list[CheckView]
    passed: list[CheckView]
    notes: list[str]
    headline: str
    passed_summary: str
    footer: list[tuple[str, str]]
    reproduce: str


def points(value: float) -> str:
    return f"{value:g}"


def _sentence(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + " […]"


def _line(message: Message, catalog: Catalog) -> Line:
    return Line(_sentence(catalog.message(message)), message.role)


def report_view(result: GradeResult, catalog: Catalog, pictures: bool = False) -> ReportView:
    """``pictures``: draw the checks' figures (for HTML; Markdown has nowhere to put them)."""
    checks = [
        CheckView(check.number, catalog.check_title(check.name), points(check.score), points(check.max_score),
                  check.passed, [_line(m, catalog) for m in check.messages],
                  [_line(m, catalog) for m in check.advice],
                  _pictures(check.figures, catalog) if pictures else [])
        for check in result.checks
    ]
    objects = [ObjectRow(tag, points(got), points(out_of), got >= out_of)
               for tag, (got, out_of) in result.tag_scores().items()]
    notebook_name = result.notebook.replace("\\", "/").rsplit("/", 1)[-1]
    footer = [
        (catalog.text("report.version"), result.grader_version),
        (catalog.text("report.seed"), str(result.seed)),
        (catalog.text("report.device"), result.device),
        (catalog.text("report.time"), f"{result.seconds:.1f} s"),
        (catalog.text("report.isolation"), result.isolation),
    ]
    text = {key.split(".", 1)[1]: value for key, value in catalog.entries.items()
            if key.startswith("report.") and "{" not in value}
    text["pictures"] = catalog.text("figures.pictures")
    return ReportView(
        language=catalog.language,
        text=text,
        assignment=result.assignment,
        notebook=notebook_name,
        score=points(result.score),
        max_score=points(result.max_score),
        percent=round(100 * result.score / result.max_score) if result.max_score else 0,
        full_marks=result.full_marks,
        objects=objects,
        failed=[c for c in checks if not c.passed],
        passed=[c for c in checks if c.passed],
        notes=[_sentence(catalog.message(n)) for n in result.notes],
        headline=_headline(catalog, sum(not c.passed for c in checks)),
        passed_summary=catalog.text("report.passed_checks", count=sum(c.passed for c in checks)),
        footer=footer,
        reproduce=f"grade submit {notebook_name} --seed {result.seed}",
    )


def _headline(catalog: Catalog, failed: int) -> str:
    if failed == 0:
        return catalog.text("report.all_passed")
    return catalog.text("report.one_failed" if failed == 1 else "report.some_failed", count=failed)


def _pictures(figures, catalog: Catalog) -> list[dict[str, str]]:
    from grader.reports.figures import render_figure  # matplotlib only when a picture is drawn

    drawn = [render_figure(figure, catalog) for figure in figures]
    return [picture for picture in drawn if picture is not None]
