"""What ``grade gradescope build`` decides for a course's autograder, written into the zip as
``gradescope.toml`` and read back by ``run_autograder``: which assignment, the language of the
feedback, the container's memory and time, the checks shown only after the due date, and the
course secret, so that the same notebook submitted twice is graded with the same inputs."""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.errors import GraderError
from grader.gradescope.limits import GRADESCOPE_MEMORY_MB, GRADESCOPE_TIMEOUT_S

CONFIG_FILE = "gradescope.toml"


@dataclass(frozen=True)
class AutograderConfig:
    assignment: str = ""  # empty: recognised from each notebook
    language: str = "es"
    memory_mb: int = GRADESCOPE_MEMORY_MB
    timeout_s: int = GRADESCOPE_TIMEOUT_S
    hide_until_due: tuple[str, ...] = ()
    secret: str = field(default="", repr=False)

    def toml(self) -> str:
        # JSON strings are valid TOML strings, and every value here is a string, an int or a list of strings.
        lines = ["# Written by grade gradescope build; run_autograder reads it."]
        for key, value in asdict(self).items():
            value = list(value) if isinstance(value, tuple) else value
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
        return "\n".join(lines) + "\n"


def read_config(source: Path) -> AutograderConfig:
    path = source / CONFIG_FILE
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
        config = AutograderConfig(**{**raw, "hide_until_due": tuple(raw.get("hide_until_due", ()))})
    except (OSError, ValueError, TypeError) as err:
        raise GraderError(f"{path}: not the settings grade gradescope build writes ({err}); build the zip again") \
            from None
    return config
