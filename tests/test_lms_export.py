"""LMS "download all submissions" zips: each student's notebooks found under the names Moodle and
Canvas give them, nothing written outside the output folder, and the same files on every run.
No kernels: the zips are built here and only unpacked."""

from __future__ import annotations

import io
import json
import stat
import struct
import zipfile

import pytest

from grader import lms
from grader.batch import Submission
from grader.errors import UnusableInput


def notebook(tag: str) -> bytes:
    return json.dumps({"cells": [], "metadata": {"tag": tag}, "nbformat": 4, "nbformat_minor": 5}).encode()


def make_zip(path, entries: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def unpack(tmp_path, entries: dict[str, bytes]):
    into = tmp_path / "out" / "submissions"
    archive = make_zip(tmp_path / "export.zip", entries)
    return archive, into, lms.submissions_from_zip(archive, into)


def summary(found: list[Submission], into) -> dict[str, tuple[str, str, bytes]]:
    return {s.student: (s.name, s.path.relative_to(into).as_posix(), s.path.read_bytes()) for s in found}


CASES = {
    "moodle folders": (
        {"Ana García_123456_assignsubmission_file_/xor.ipynb": notebook("ana"),
         "Luis Pérez_123457_assignsubmission_file_/entrega/backprop.ipynb": notebook("luis"),
         "Luis Pérez_123457_assignsubmission_onlinetext_/onlinetext.html": b"<p>hola</p>"},
        {"moodle-123456": ("Ana García", "moodle-123456/xor.ipynb", notebook("ana")),
         "moodle-123457": ("Luis Pérez", "moodle-123457/backprop.ipynb", notebook("luis"))},
    ),
    "old flat moodle": (
        {"Ana García_123456_assignsubmission_file_xor.ipynb": notebook("ana"),
         "Luis Pérez_123457_assignsubmission_file_mi xor.ipynb": notebook("luis")},
        {"moodle-123456": ("Ana García", "moodle-123456/xor.ipynb", notebook("ana")),
         "moodle-123457": ("Luis Pérez", "moodle-123457/mi_xor.ipynb", notebook("luis"))},
    ),
    "canvas late and resubmitted": (
        {"garciaana_98765_4321_xor.ipynb": notebook("ana"),
         "perezluis_LATE_98766_4322_xor-1.ipynb": notebook("luis")},
        {"canvas-98765": ("garciaana", "canvas-98765/xor.ipynb", notebook("ana")),
         "canvas-98766": ("perezluis", "canvas-98766/xor-1.ipynb", notebook("luis"))},
    ),
    "plain notebooks and folders": (
        {"ana.ipynb": notebook("ana"), "luis/entrega/xor.ipynb": notebook("luis")},
        {"ana": ("", "ana/ana.ipynb", notebook("ana")), "luis": ("", "luis/xor.ipynb", notebook("luis"))},
    ),
    "moodle student with two notebooks": (
        {"Ana García_1_assignsubmission_file_/xor.ipynb": notebook("xor"),
         "Ana García_1_assignsubmission_file_/extra/backprop.ipynb": notebook("bp")},
        {"moodle-1-xor": ("Ana García", "moodle-1-xor/xor.ipynb", notebook("xor")),
         "moodle-1-backprop": ("Ana García", "moodle-1-backprop/backprop.ipynb", notebook("bp"))},
    ),
    "canvas student with two notebooks, one resubmitted": (
        {"garciaana_5_7_xor-1.ipynb": notebook("xor"), "garciaana_5_7_backprop.ipynb": notebook("bp")},
        {"canvas-5-xor": ("garciaana", "canvas-5-xor/xor-1.ipynb", notebook("xor")),
         "canvas-5-backprop": ("garciaana", "canvas-5-backprop/backprop.ipynb", notebook("bp"))},
    ),
    "plain folder with two notebooks": (
        {"luis/a.ipynb": notebook("a"), "luis/b.ipynb": notebook("b")},
        {"luis-a": ("", "luis-a/a.ipynb", notebook("a")), "luis-b": ("", "luis-b/b.ipynb", notebook("b"))},
    ),
    "macos and jupyter junk": (
        {"__MACOSX/Ana García_1_assignsubmission_file_/._xor.ipynb": b"\x00\x05\x16\x07",
         "Ana García_1_assignsubmission_file_/.ipynb_checkpoints/xor-checkpoint.ipynb": notebook("old"),
         "Ana García_1_assignsubmission_file_/.DS_Store": b"\x00",
         "Ana García_1_assignsubmission_file_/xor.ipynb": notebook("ana")},
        {"moodle-1": ("Ana García", "moodle-1/xor.ipynb", notebook("ana"))},
    ),
    "a re-zipped moodle export": (
        {"entregas/Ana García_1_assignsubmission_file_/xor.ipynb": notebook("ana"),
         "entregas/Luis Pérez_2_assignsubmission_file_/xor.ipynb": notebook("luis")},
        {"moodle-1": ("Ana García", "moodle-1/xor.ipynb", notebook("ana")),
         "moodle-2": ("Luis Pérez", "moodle-2/xor.ipynb", notebook("luis"))},
    ),
    "names that clash once made safe": (
        {"ana garcía.ipynb": notebook("1"), "ana_garcía.ipynb": notebook("2")},
        {"ana_garcía": ("", "ana_garcía/ana_garcía.ipynb", notebook("1")),
         "ana_garcía-2": ("", "ana_garcía-2/ana_garcía.ipynb", notebook("2"))},
    ),
    "accents decomposed, as macOS writes them": (
        {"ana garci\u0301a.ipynb": notebook("ana")},
        {"ana_garc\u00eda": ("", "ana_garc\u00eda/ana_garc\u00eda.ipynb", notebook("ana"))},
    ),
    "a Jupytext script beside a notebook": (
        {"Ana García_1_assignsubmission_file_/xor.py": b"# %%\nimport torch\n",
         "Luis Pérez_2_assignsubmission_file_/xor.ipynb": notebook("luis")},
        {"moodle-1": ("Ana García", "moodle-1/xor.py", b"# %%\nimport torch\n"),
         "moodle-2": ("Luis Pérez", "moodle-2/xor.ipynb", notebook("luis"))},
    ),
    "a name longer than a file name may be": (
        {"\u00ed" * 300 + ".ipynb": notebook("ana")},
        {"\u00ed" * 100: ("", "\u00ed" * 100 + "/" + "\u00ed" * 100 + ".ipynb", notebook("ana"))},
    ),
}


@pytest.mark.parametrize("entries, expected", CASES.values(), ids=CASES.keys())
def test_each_export_gives_one_submission_per_notebook(tmp_path, entries, expected):
    archive, into, found = unpack(tmp_path, entries)
    assert summary(found, into) == expected
    assert [s.student for s in found] == sorted(expected)
    assert lms.skipped_entries(archive) == [(n, "not a notebook (.html)") for n in entries if n.endswith(".html")]


def test_a_student_who_uploaded_only_a_pdf_is_reported_not_graded(tmp_path):
    archive, into, found = unpack(tmp_path, {
        "Ana García_1_assignsubmission_file_/xor.ipynb": notebook("ana"),
        "Luis Pérez_2_assignsubmission_file_/entrega.pdf": b"%PDF-1.4",
        "perezluis_3_9_README": b"hola"})
    assert [s.student for s in found] == ["moodle-1"]
    assert lms.skipped_entries(archive) == [
        ("Luis Pérez_2_assignsubmission_file_/entrega.pdf", "not a notebook (.pdf)"),
        ("perezluis_3_9_README", "not a notebook (no extension)")]


UNSAFE = ["../../evil.ipynb", "/tmp/evil.ipynb", "..\\..\\evil.ipynb", "C:\\Users\\evil.ipynb",
          "Ana_1_assignsubmission_file_/../../../evil.ipynb", "ok/../../evil.ipynb"]


@pytest.mark.parametrize("name", UNSAFE)
def test_an_entry_that_points_outside_is_refused_and_nothing_is_written_outside(tmp_path, name):
    archive, into, found = unpack(tmp_path, {name: notebook("evil"), "ana.ipynb": notebook("ana")})
    assert [s.student for s in found] == ["ana"]
    assert lms.skipped_entries(archive) == [(name.replace("\\", "/"), "an unsafe path (absolute or with '..'); not unpacked")]
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {"export.zip", "out/submissions/ana/ana.ipynb"}


def test_a_symbolic_link_is_refused(tmp_path):
    link = zipfile.ZipInfo("ana.ipynb")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive, into = tmp_path / "export.zip", tmp_path / "out"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(link, "/etc/passwd")
    assert lms.submissions_from_zip(archive, into) == []
    assert lms.skipped_entries(archive) == [("ana.ipynb", "a symbolic link; not unpacked")]


def test_a_notebook_over_the_declared_size_limit_is_skipped_and_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(lms, "MAX_ENTRY_BYTES", 2**20)
    archive, into, found = unpack(tmp_path, {"ana.ipynb": notebook("ana"), "luis.ipynb": b" " * (2**20 + 1)})
    assert [s.student for s in found] == ["ana"]
    [(entry, reason)] = lms.skipped_entries(archive)
    assert entry == "luis.ipynb" and reason.startswith("1.0 MiB, over the 1 MiB limit; ask the student")


def test_reading_stops_at_the_cap_whatever_the_stream_holds():
    with pytest.raises(zipfile.BadZipFile, match="past the 1 MiB limit"):
        lms._read_capped(io.BytesIO(b"x" * (2**20 + 1)), 2**20, "bomb.ipynb")
    assert lms._read_capped(io.BytesIO(b"x" * 10), 2**20, "small.ipynb") == b"x" * 10


def test_an_entry_that_unpacks_past_its_declared_size_is_refused(tmp_path):
    archive = make_zip(tmp_path / "export.zip", {"bomb.ipynb": b"{" * 2**20})
    raw = bytearray(archive.read_bytes())
    central = raw.index(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, 1000)  # the central directory now claims 1000 bytes
    archive.write_bytes(raw)
    with pytest.raises(UnusableInput, match=r"entry 'bomb.ipynb' is damaged .*download the archive"):
        lms.submissions_from_zip(archive, tmp_path / "out")
    assert not list((tmp_path / "out").rglob("*.ipynb"))


def test_an_archive_over_the_total_limit_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(lms, "MAX_TOTAL_BYTES", 100)
    archive = make_zip(tmp_path / "export.zip", {"ana.ipynb": b" " * 60, "luis.ipynb": b" " * 60})
    with pytest.raises(UnusableInput, match="add up to more than .* smaller groups"):
        lms.submissions_from_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("raw", ["García".encode("cp437"), "García".encode("utf-8")], ids=["cp437", "utf-8"])
def test_a_name_written_without_the_utf8_flag_survives(tmp_path, raw):
    placeholder = b"G" * len(raw)  # same length, ASCII: zipfile leaves the UTF-8 flag off
    name = b"Ana " + placeholder + b"_7_assignsubmission_file_xor.ipynb"
    archive = make_zip(tmp_path / "export.zip", {name.decode("ascii"): notebook("ana")})
    archive.write_bytes(archive.read_bytes().replace(placeholder, raw))
    assert not zipfile.ZipFile(archive).infolist()[0].flag_bits & 0x800
    [found] = lms.submissions_from_zip(archive, tmp_path / "out")
    assert (found.student, found.name) == ("moodle-7", "Ana García")


@pytest.mark.parametrize("content, message", [
    (b"", "not a readable zip archive"),
    (b"this is a PDF, not a zip", "not a readable zip archive"),
    ("truncated", "not a readable zip archive"),
    ("flagged UTF-8, is not", "not a readable zip archive"),
    (None, "no such file"),
])
def test_an_archive_that_cannot_be_read_is_unusable_input(tmp_path, content, message):
    archive = tmp_path / "export.zip"
    if content == "truncated":
        whole = make_zip(tmp_path / "whole.zip", {"ana.ipynb": notebook("ana")}).read_bytes()
        content = whole[: len(whole) // 2]
    elif content == "flagged UTF-8, is not":
        whole = make_zip(tmp_path / "whole.zip", {"García.ipynb": notebook("ana")}).read_bytes()
        content = whole.replace("García".encode(), b"Garc\xff\xfea")
    if content is not None:
        archive.write_bytes(content)
    with pytest.raises(UnusableInput, match=message):
        lms.submissions_from_zip(archive, tmp_path / "out")


def test_a_second_run_gives_the_same_paths_and_bytes_and_rewrites_nothing(tmp_path):
    entries = {**CASES["moodle folders"][0], **CASES["canvas late and resubmitted"][0]}
    archive, into, first = unpack(tmp_path, entries)
    stamps = {s.path: s.path.stat().st_mtime_ns for s in first}
    second = lms.submissions_from_zip(archive, into)
    assert second == first and summary(second, into) == summary(first, into)
    assert {s.path: s.path.stat().st_mtime_ns for s in second} == stamps
    first[0].path.write_bytes(b"edited by hand")
    assert lms.submissions_from_zip(archive, into) == first
    assert first[0].path.read_bytes() == entries["garciaana_98765_4321_xor.ipynb"]
    assert not [p for p in into.rglob("*") if p.name.endswith(".tmp")]
