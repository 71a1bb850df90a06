"""Feedback reports from the same data as results.json: a self-contained HTML page (inline CSS,
figures as data URIs, nothing fetched) and Markdown for LMS comments. Jinja2 templates with
autoescaping for HTML and StrictUndefined, so a missing field fails loudly instead of printing
nothing."""

from __future__ import annotations

import re

import jinja2
from markupsafe import Markup, escape

from grader.reports.catalog import Catalog
from grader.reports.view import Line, ReportView, report_view
from grader.trusted.results import GradeResult

_CODE = re.compile(r"`([^`\n]+)`")


def _inline_code(text: str) -> Markup:
    """Escaped text with `backticks` as <code>; the only markup a message carries."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


def _message_html(line: Line) -> Markup:
    # Details and locations: a call with its shapes, a line of the student's code.
    if line.is_detail:
        return Markup('<p class="detail">') + escape(line.text.strip()) + Markup("</p>")
    return Markup("<p>") + _inline_code(line.text) + Markup("</p>")


# Outside code spans, every character that gives Markdown (CommonMark, GFM) a meaning in the middle of
# a line is escaped, so that text from the student's side (an exception's message, a dict key)
# cannot make emphasis, links, images or HTML (every line the template writes starts with
# its own markup, so no block can start either). Autolinks need "://", "www." or "@": escaped too.
_MD_SPECIAL = re.compile(r"[\\`*_\[\]~]|:(?=//)|(?<=www)\.|@")
_BACKTICKS = re.compile(r"`+")


def _md_text(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def _md(text: str) -> str:
    """Text safe in Markdown that LMSs render with HTML allowed: code spans (the catalog's `names`,
    or any a student's text makes) stay code spans, where nothing is markup; everything else is
    escaped. Code spans are found as CommonMark finds them: a run of backticks up to the next run
    of the same length; a run with no partner is escaped."""
    text = text.replace("\n", " ")
    parts, at = [], 0
    while (opening := _BACKTICKS.search(text, at)) is not None:
        fence = opening.group(0)
        closing = next((m for m in _BACKTICKS.finditer(text, opening.end()) if m.group(0) == fence), None)
        if closing is None:
            parts.append(_md_text(text[at:opening.end()]))
            at = opening.end()
            continue
        parts.append(_md_text(text[at:opening.start()]))
        parts.append(text[opening.start():closing.end()])
        at = closing.end()
    parts.append(_md_text(text[at:]))
    return "".join(parts)


def _code_span(text: str) -> str:
    """Text as a Markdown code span, where nothing is markup (nor entities): only the fence and
    line breaks need care."""
    text = text.replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if len(fence) > 1 else f"`{text}`"


def _md_line(line: Line) -> str:
    # Details and locations: a call with its shapes, a line of the student's code.
    if line.is_detail:
        return "  - " + _code_span(line.text.strip())
    return "- " + _md(line.text)


_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("grader.reports", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)
_ENVIRONMENT.filters.update(inline_code=_inline_code, message_html=_message_html, md=_md, md_line=_md_line)


def render(view: ReportView, kind: str) -> str:
    """``kind`` is "html" or "md"."""
    return render_template(f"report.{kind}.j2", view)


def render_template(name: str, view) -> str:
    """Any page of templates/ (the student's report, the class summary) from its view."""
    return _ENVIRONMENT.get_template(name).render(view=view)


def html_report(result: GradeResult, catalog: Catalog) -> str:
    return render(report_view(result, catalog, pictures=True), "html")


def markdown_report(result: GradeResult, catalog: Catalog) -> str:
    return render(report_view(result, catalog), "md")
