"""The seals of probe records, without kernels: which lines the grader takes as a probe's seal
(tests/seals/cases.toml), and what a sealed record folder reads."""

from __future__ import annotations

import hashlib
import os
import tomllib
from pathlib import Path

import pytest

from grader.trusted.records import Missing, RecordFolder, Unreadable
from grader.trusted.seals import SealReader, Unsealed, parse_seal

CASES = tomllib.loads((Path(__file__).parent / "seals" / "cases.toml").read_text("utf-8"))["seal"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_seal_taken_only_when_it_is_the_probes_own(case):
    line = case["data"].encode() + (b"\n" if case["data"] else b"")
    data = line * (2 if case.get("twice") else 1)
    if case.get("refused"):
        with pytest.raises(Unsealed):
            parse_seal(data, case["folder"], case["alone"])
    else:
        assert parse_seal(data, case["folder"], case["alone"]) == case["files"]


def test_seal_reader_takes_what_came_since_the_last_drain(tmp_path):
    fifo = tmp_path / "seals"
    os.mkfifo(fifo)
    with SealReader(fifo) as reader:
        writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(writer, b'{"probe": "old", "alone": true, "files": {}}\n')
            reader.drain()
            os.write(writer, b'{"probe": "probe-1", "alone": true, "files": {}}\n')
            assert reader.seal_for("probe-1", alone=True) == {}
            with pytest.raises(Unsealed):  # nothing more came
                reader.seal_for("probe-1", alone=True)
        finally:
            os.close(writer)


def _folder_with(tmp_path: Path, files: dict[str, bytes]) -> RecordFolder:
    folder = tmp_path / "probe-1"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return RecordFolder.made(folder, frozenset({os.geteuid()}))


def test_sealed_folder_reads_the_records_as_sealed(tmp_path):
    folder = _folder_with(tmp_path, {"a.json": b"{}"})
    assert folder.sealed({"a.json": hashlib.sha256(b"{}").hexdigest()}).read("a.json", 100) == b"{}"


def test_record_changed_after_its_seal_is_unreadable(tmp_path):
    folder = _folder_with(tmp_path, {"a.json": b'{"forged": true}'})
    with pytest.raises(Unreadable):
        folder.sealed({"a.json": hashlib.sha256(b"{}").hexdigest()}).read("a.json", 100)


def test_record_the_probe_did_not_write_is_missing(tmp_path):
    folder = _folder_with(tmp_path, {"a.json": b"{}", "planted.json": b"{}"})
    with pytest.raises(Missing):
        folder.sealed({"a.json": hashlib.sha256(b"{}").hexdigest()}).read("planted.json", 100)
