"""One catalog of messages per language; results carry keys and plain values, renderers look
them up here, and the catalog's sentences say how each value is written: ``{missing:names}`` a
list of names as code (``"—"`` when empty), ``{detail:word}`` a word of the grader's (``keys``,
``timeout``) in the catalog's language, from its ``[words]`` table; shapes, calls, what a probe saw
and rounded numbers as value_formats.py writes them (``{got:shape}``, ``{got:round6}``)."""

from __future__ import annotations

import functools
import string
import tomllib
from importlib import resources
from typing import Any, Mapping

from grader.reports.value_formats import formatted
from grader.trusted.results import Message

LANGUAGES = ("es", "en")


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


class _Formatter(string.Formatter):
    """str.format with the catalogs' own conversions: every value keeps what ``format`` does
    with it, except under the specs "names" and "word" and those of value_formats.py."""

    def __init__(self, entries: dict[str, str]):
        self.entries = entries

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "names":
            names = value if isinstance(value, (list, tuple)) else [value]
            return ", ".join(f"`{name}`" for name in names) or "—"
        if format_spec == "word":
            # A value the catalog has no word for is shown as it came (a result of a later version).
            return self.entries.get(f"words.{value}", str(value))
        text = formatted(value, format_spec)
        return text if text is not None else super().format_field(value, format_spec)


class Catalog:
    def __init__(self, language: str, entries: dict[str, str]):
        self.language = language
        self.entries = entries
        self._formatter = _Formatter(entries)

    def text(self, key: str, /, **params: Any) -> str:
        return self.formatted(key, params)

    def formatted(self, key: str, values: Mapping[str, Any]) -> str:
        """The sentence under ``key`` with ``values`` (any mapping: one may make up what is missing)."""
        return self._formatter.vformat(self.entries[key], (), values)

    def message(self, message: Message) -> str:
        params = {k: self.message(v) if isinstance(v, Message) else v for k, v in message.params.items()}
        return self.text(f"messages.{message.key}", **params)

    def check_title(self, name: str) -> str:
        return self.entries[f"checks.{name}"]


@functools.lru_cache(maxsize=None)
def catalog(language: str) -> Catalog:
    if language not in LANGUAGES:
        raise ValueError(f"no catalog for language {language!r}")
    raw = resources.files("grader.reports").joinpath("locale", f"{language}.toml").read_text("utf-8")
    return Catalog(language, _flatten(tomllib.loads(raw)))
