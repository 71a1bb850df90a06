"""Known mistakes as data, shared by every judge: for each judged object, the plausible wrong
versions of it that the trusted side computes on the grader's own inputs, each with the hint
that names it and says what to do next.

A judge asks ``diagnose(table, judged, got, same, *args)`` once the student's artifact differs
from the reference: every row of ``table`` for ``judged`` computes its wrong version from
``args``; the rows whose version is ``same`` as what the student's code gave are the candidates.
The hints named are those that *every* matching row carries, so that a value two different
mistakes would both give names neither of them (a hint must never name a mistake the student
did not make). When nothing matches, the judged object's ``look`` message says how to find the
difference (shapes first), without guessing a cause.

A row may carry several hints at once (a wrong decision rule *and* a wrong average): such a
combination only matches when the student made both, and names both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from grader.trusted.results import Message


@dataclass(frozen=True)
class Mistake:
    """One plausible wrong version of ``judged``: ``wrong(*args)`` computes it on the grader's
    inputs (``None`` where it does not apply to them); ``hints`` are the catalog keys that name
    it."""

    judged: str
    hints: tuple[str, ...]
    wrong: Callable[..., Any]

    @classmethod
    def row(cls, judged: str, hint: str | tuple[str, ...], wrong: Callable[..., Any]) -> "Mistake":
        return cls(judged, (hint,) if isinstance(hint, str) else tuple(hint), wrong)


@dataclass(frozen=True)
class Table:
    """A judge's known mistakes, and for each judged object the message that says how to look
    when none of them matches."""

    rows: tuple[Mistake, ...]
    look: dict[str, str] = field(default_factory=dict)

    def of(self, judged: str) -> tuple[Mistake, ...]:
        return tuple(m for m in self.rows if m.judged == judged)

    def hints(self) -> set[tuple[str, str]]:
        """Every (judged object, hint) the table can name: each needs a mutant that shows it."""
        return {(m.judged, hint) for m in self.rows for hint in m.hints}


def matching(table: Table, judged: str, got: Any, same: Callable[[Any, Any], bool], *args) -> list[Mistake]:
    """The rows of ``judged`` whose wrong version is ``same`` as ``got``."""
    found = []
    for mistake in table.of(judged):
        candidate = mistake.wrong(*args)
        if candidate is not None and same(got, candidate):
            found.append(mistake)
    return found


def named_hints(found: Iterable[Mistake]) -> list[str]:
    """The hints every matching row carries, in the order of the first row."""
    found = list(found)
    if not found:
        return []
    common = set.intersection(*(set(m.hints) for m in found))
    return [hint for hint in found[0].hints if hint in common]


def diagnose(table: Table, judged: str, got: Any, same: Callable[[Any, Any], bool], *args,
             params: dict[str, Any] | None = None, look: bool = True) -> list[Message]:
    """Hint messages naming the mistake ``got`` shows, or the object's ``look`` message."""
    hints = named_hints(matching(table, judged, got, same, *args))
    if hints:
        return [Message(hint, dict(params or {})) for hint in hints]
    if look and judged in table.look:
        return [Message(table.look[judged], dict(params or {}))]
    return []
