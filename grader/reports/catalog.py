"""One catalog of messages per language; results carry keys, renderers look them up here."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

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


class Catalog:
    def __init__(self, language: str, entries: dict[str, str]):
        self.language = language
        self.entries = entries

    def text(self, key: str, /, **params: Any) -> str:
        return self.entries[key].format(**params)

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
