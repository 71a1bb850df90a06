"""``grade gradescope build``: the zip Gradescope takes. At its root, as files (not in a folder):
``setup.sh`` and ``run_autograder`` (see ``files/``), the course's settings (``gradescope.toml``),
and what ``setup.sh`` installs the grader from (``pyproject.toml``, ``README.md``, ``grader/``);
then ``reference/``, since the autograder runs on Gradescope's machines, never the students'.
Entries are sorted and dated 1980-01-01, so the same course gives the same bytes."""

from __future__ import annotations

import difflib
import secrets
import stat
import zipfile
from importlib import resources
from pathlib import Path

from grader.assignments import ASSIGNMENTS, COURSE_DIR, get_assignment
from grader.errors import GraderError
from grader.gradescope.config import CONFIG_FILE, AutograderConfig
from grader.gradescope.limits import container_limits
from grader.trusted.points import checks_of

SCRIPTS = ("setup.sh", "run_autograder")
_EPOCH = (1980, 1, 1, 0, 0, 0)


def known_checks(assignment: str) -> list[str]:
    names = [assignment] if assignment else sorted(ASSIGNMENTS)
    return [spec.name for name in names for spec in checks_of(name)]


def make_config(assignment: str | None, language: str, memory_mb: int, timeout_s: int,
                hide_until_due: tuple[str, ...]) -> AutograderConfig:
    """The settings, checked: a known assignment, check names that exist, a container big enough."""
    if assignment:
        get_assignment(assignment)
    checks = known_checks(assignment or "")
    for name in hide_until_due:
        if name not in checks:
            close = difflib.get_close_matches(name, checks, n=1)
            raise GraderError(f"--hide-until-due: no check named {name!r}"
                              + (f"; did you mean {close[0]!r}?" if close else f" (checks: {', '.join(checks)})"))
    container_limits(memory_mb, timeout_s)  # refuses a container too small
    return AutograderConfig(assignment or "", language, memory_mb, timeout_s, tuple(hide_until_due),
                            secrets.token_hex(32))


def course_files(assignment: str) -> list[tuple[str, Path]]:
    """(name in the zip, file here) for the grader's source and the references it needs."""
    files = [("pyproject.toml", COURSE_DIR / "pyproject.toml"), ("README.md", COURSE_DIR / "README.md")]
    for _, path in files:
        if not path.is_file():
            raise GraderError(f"{path}: missing; setup.sh installs the grader from its source, so build the zip "
                              "from the course's repository (pip install -e .), not from an installed grader")
    package = COURSE_DIR / "grader"
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(COURSE_DIR)
        # Compiled files are this machine's; precomputed answers belong to student bundles only.
        if path.is_file() and "__pycache__" not in relative.parts and path.suffix not in (".pyc", ".pt"):
            files.append((relative.as_posix(), path))
    names = [assignment] if assignment else sorted(ASSIGNMENTS)
    for name in names:
        reference = get_assignment(name).reference
        if not reference.is_file():
            raise GraderError(f"{reference}: missing; the autograder grades against the reference notebooks "
                              "(build it from the course's repository, not a student bundle)")
        files.append((f"reference/{name}.ipynb", reference))
    return files


def _entry(name: str, executable: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    mode = 0o755 if executable else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    return info


def build_zip(out: Path, config: AutograderConfig) -> list[str]:
    """Write the autograder zip to ``out``; returns the names in it."""
    entries: list[tuple[str, bytes, bool]] = []
    for script in SCRIPTS:
        text = resources.files("grader.gradescope").joinpath("files", script).read_bytes()
        entries.append((script, text, True))
    entries.append((CONFIG_FILE, config.toml().encode("utf-8"), False))
    entries += [(name, path.read_bytes(), False) for name, path in course_files(config.assignment)]
    out.parent.mkdir(parents=True, exist_ok=True)
    draft = out.with_name(f".{out.name}.part")
    try:
        with zipfile.ZipFile(draft, "w") as archive:
            for name, data, executable in entries:
                archive.writestr(_entry(name, executable), data)
        draft.replace(out)
    except OSError as err:
        draft.unlink(missing_ok=True)
        raise GraderError(f"cannot write {out}: {err.strerror or err}") from None
    return [name for name, _, _ in entries]
