"""A class's notebooks from an LMS "download all submissions" zip.

``submissions_from_zip(archive, into)`` writes each notebook to ``into/<student>/<file name>`` and
returns one ``Submission`` per notebook; ``skipped_entries(archive)`` lists, as ``(entry, reason)``,
what in the archive is not graded (a PDF instead of a notebook, an unsafe or oversized entry), so
that a student who uploaded the wrong thing can be told. Both read the same directory of the zip,
so they agree; a student's ``.py`` (a Jupytext script) counts as a notebook; OS junk (``__MACOSX/``, ``.DS_Store``, ``._*``, ``.ipynb_checkpoints``) is left out
silently, other hidden files are listed.

Students are recognised by the names the LMS gives, at any folder depth (a re-zipped export works):

- Moodle: ``Ana García_123456_assignsubmission_file_/…/xor.ipynb`` (older: the same prefix on a flat
  file name) gives ``moodle-123456``, name "Ana García";
- Canvas: ``garciaana_98765_4321_xor.ipynb`` (``garciaana_LATE_98765_…`` when late, ``xor-1.ipynb``
  when resubmitted) gives ``canvas-98765``, name "garciaana";
- anything else follows ``find_submissions``: a file's stem or its top folder is the student.

A student with several notebooks gets one submission per notebook, ``<student>-<stem>``. The zip is
untrusted: output paths are built only from safe names, never from the entry's path; entries with
``..`` or absolute paths, symbolic links and encrypted entries are skipped; sizes are capped.
"""

from __future__ import annotations

import re
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.batch import HIDDEN, SUFFIXES, Submission, is_junk, safe_name, unique_name
from grader.errors import UnusableInput
from grader.files import write_bytes_atomically

MAX_ENTRY_BYTES = 50 * 2**20  # above the grader's own notebook limit, so it can say "clear outputs"
MAX_TOTAL_BYTES = 2 * 2**30

_MOODLE = re.compile(r"(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?:file|onlinetext)_(?P<file>.*)")
_CANVAS = re.compile(r"(?P<name>[^_]+)_(?:LATE_)?(?P<id>\d+)_\d+_(?P<file>.+)")
_RESUBMITTED = re.compile(r"-\d+$")  # Canvas renames a resubmitted xor.ipynb to xor-1.ipynb


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    group: tuple[str, str]  # who submitted it: ("moodle", id), ("canvas", id) or ("", folder name)
    name: str  # as the export spells it; "" outside an LMS export
    file: str  # the notebook's own file name
    stem: str  # the stem that names it beside the student's other notebooks


def submissions_from_zip(archive: Path, into: Path) -> list[Submission]:
    """Write the archive's notebooks under ``into`` and return them, sorted by student. Running it
    again on the same archive gives the same paths and bytes and rewrites nothing."""
    with _open(archive) as zf:
        entries, _ = _classify(zf)
        if sum(e.info.file_size for e in entries) > MAX_TOTAL_BYTES:
            raise UnusableInput(f"{archive}: its notebooks add up to more than {MAX_TOTAL_BYTES // 2**30} GiB; "
                                "download the submissions in smaller groups")
        by_group: dict[tuple[str, str], list[_Entry]] = {}
        for entry in entries:
            by_group.setdefault(entry.group, []).append(entry)
        into.mkdir(parents=True, exist_ok=True)
        found, taken, total = [], set(), 0
        for group, notebooks in sorted(by_group.items()):
            base = f"{group[0]}-{group[1]}" if group[0] else group[1]
            for entry in sorted(notebooks, key=lambda e: e.info.filename):
                student = unique_name(_short(base if len(notebooks) == 1 else f"{base}-{entry.stem}"), taken)
                data = _read(zf, entry.info, archive)
                total += len(data)
                if total > MAX_TOTAL_BYTES:
                    raise UnusableInput(f"{archive}: more than {MAX_TOTAL_BYTES // 2**30} GiB once unpacked, "
                                        "although its directory says less; the archive is damaged or hostile")
                # The entry's own suffix: a Jupytext script stays a script (grader.notebook_file).
                path = into / student / (_short(Path(entry.file).stem) + Path(entry.file).suffix.lower())
                _write_bytes(path, data)
                found.append(Submission(student, path, entry.name))
    return sorted(found, key=lambda s: s.student)


def skipped_entries(archive: Path) -> list[tuple[str, str]]:
    """``(entry name, reason)`` for each file in the archive that gives no submission."""
    with _open(archive) as zf:
        return _classify(zf)[1]


def _open(archive: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(archive)
    except FileNotFoundError:
        raise UnusableInput(f"{archive}: no such file") from None
    except (zipfile.BadZipFile, OSError, ValueError) as err:  # ValueError: a name that is not UTF-8
        raise UnusableInput(f"{archive}: not a readable zip archive ({err}); download it from the LMS "
                            "again, or unzip it yourself and pass the folder") from None


def _classify(zf: zipfile.ZipFile) -> tuple[list[_Entry], list[tuple[str, str]]]:
    kept, skipped = [], []
    for info in zf.infolist():
        name = _decoded(info)
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if info.is_dir() or not parts or any(is_junk(p) for p in parts):
            continue
        reason = _refusal(info, name) or (HIDDEN if any(p.startswith(".") and p != ".." for p in parts) else "")
        if reason:
            skipped.append((name, reason))
            continue
        entry = _recognise(info, parts)
        if entry is None:
            skipped.append((name, f"not a notebook ({PurePosixPath(name).suffix or 'no extension'})"))
        else:
            kept.append(entry)
    return kept, skipped


def _decoded(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if not info.flag_bits & 0x800:
        # Without the UTF-8 flag zipfile decodes as cp437, but many tools write UTF-8 regardless.
        try:
            name = name.encode("cp437").decode("utf-8")
        except UnicodeError:
            pass
    # Some Windows tools write backslashes as separators; macOS writes "í" as "i" and an accent.
    return unicodedata.normalize("NFC", name.replace("\\", "/"))


def _refusal(info: zipfile.ZipInfo, name: str) -> str:
    if name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in name.split("/"):
        return "an unsafe path (absolute or with '..'); not unpacked"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link; not unpacked"
    if info.flag_bits & 0x1:
        return "encrypted; not unpacked"
    if info.file_size > MAX_ENTRY_BYTES and name.lower().endswith(SUFFIXES):
        return (f"{info.file_size / 2**20:.1f} MiB, over the {MAX_ENTRY_BYTES // 2**20} MiB limit; "
                "ask the student to clear the outputs and submit again")
    return ""


def _recognise(info: zipfile.ZipInfo, parts: list[str]) -> _Entry | None:
    if not parts[-1].lower().endswith(SUFFIXES):  # a notebook, or a Jupytext script (.py)
        return None
    for depth, part in enumerate(parts):
        moodle = _MOODLE.fullmatch(part)
        if moodle:
            file = moodle["file"] if depth == len(parts) - 1 else parts[-1]
            return _Entry(info, ("moodle", moodle["id"]), moodle["name"], file, Path(file).stem)
    canvas = _CANVAS.fullmatch(parts[-1])
    if canvas:
        file = canvas["file"]
        return _Entry(info, ("canvas", canvas["id"]), canvas["name"], file, _RESUBMITTED.sub("", Path(file).stem))
    return _Entry(info, ("", Path(parts[0]).stem if len(parts) == 1 else parts[0]), "", parts[-1], Path(parts[-1]).stem)


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: Path) -> bytes:
    try:
        with zf.open(info) as handle:
            return _read_capped(handle, MAX_ENTRY_BYTES, info.filename)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as err:
        raise UnusableInput(f"{archive}: entry {info.filename!r} is damaged ({err}); download the "
                            "archive from the LMS again") from None


def _read_capped(handle, limit: int, label: str) -> bytes:
    """The declared size was checked already; this stops a stream that decompresses past it."""
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise zipfile.BadZipFile(f"{label} unpacks past the {limit // 2**20} MiB limit")
    return data


def _short(name: str) -> str:
    # A file name has at most 255 bytes; leave room for ".ipynb", "-2" and the draft's affixes.
    return safe_name(name).encode()[:200].decode("utf-8", "ignore")


def _write_bytes(path: Path, data: bytes) -> None:
    """Atomically, and not at all when the file already holds these bytes (a rerun)."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return
    except OSError:
        path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(path, data)
