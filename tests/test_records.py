"""Reading what a kernel left in a probe's folder, without kernels: files crafted in tmp_path stand
for every way a record can be swapped, bloated or forged. Each must give "unreadable" (or
"missing") quickly, without opening anything outside the folder, and never raise."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile

import pytest
import torch

from grader.trusted.artifacts import Artifact, load_artifact, plain_tensors
from grader.trusted.records import (MAX_JSON_BYTES, MAX_TENSOR_FILE_BYTES, Missing, RecordFolder, Unreadable,
                                    parse_json, parse_tensors)

ME = frozenset({os.geteuid()})
RECORD = {"name": "p", "ok": True, "error": None, "values": {"x": [1, 2]}, "stdout": ""}


def tensor_bytes(value) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


@pytest.fixture
def folder(tmp_path):
    made = tmp_path / "probe"
    made.mkdir()
    return RecordFolder.made(made, ME)


def write_good(folder: RecordFolder) -> None:
    (folder.path / "p.json").write_text(json.dumps(RECORD))
    (folder.path / "p.pt").write_bytes(tensor_bytes({"t": torch.arange(3.0)}))


def test_a_good_record_is_read(folder):
    write_good(folder)
    artifact = load_artifact(folder, "p")
    assert artifact.ok and artifact.problem is None
    assert artifact.values == {"x": [1, 2]}
    assert torch.equal(artifact.tensors["t"], torch.arange(3.0))


def test_a_missing_record_is_missing_and_a_missing_tensor_file_unreadable(folder):
    assert load_artifact(folder, "p").problem == "missing"
    (folder.path / "p.json").write_text(json.dumps(RECORD))
    artifact = load_artifact(folder, "p")
    assert (artifact.ok, artifact.problem) == (False, "unreadable")


@pytest.mark.parametrize("target", ["/etc/shadow", "/dev/zero", "/proc/self/pagemap", "/no/such/file", "p.real"])
@pytest.mark.parametrize("record", ["p.json", "p.pt"])
def test_a_symlink_is_never_followed_whatever_it_points_to(folder, target, record):
    write_good(folder)
    (folder.path / record).rename(folder.path / "p.real")
    (folder.path / record).symlink_to(target)
    artifact = load_artifact(folder, "p")
    # The same outcome whether the target exists, is readable, is a device or is the real record.
    assert (artifact.ok, artifact.problem) == (False, "unreadable")


@pytest.mark.parametrize("record", ["p.json", "p.pt"])
def test_a_fifo_does_not_block(folder, record):
    write_good(folder)
    (folder.path / record).unlink()
    os.mkfifo(folder.path / record)
    began = time.monotonic()
    artifact = load_artifact(folder, "p")
    assert time.monotonic() - began < 5
    assert (artifact.ok, artifact.problem) == (False, "unreadable")


def test_a_hard_link_and_a_folder_are_refused(folder, tmp_path):
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps(RECORD))
    os.link(outside, folder.path / "p.json")
    assert load_artifact(folder, "p").problem == "unreadable"
    (folder.path / "p.json").unlink()
    (folder.path / "p.json").mkdir()
    assert load_artifact(folder, "p").problem == "unreadable"


def test_a_record_of_another_owner_is_refused(tmp_path):
    made = tmp_path / "probe"
    made.mkdir()
    write_good(RecordFolder.made(made, ME))
    someone_else = RecordFolder.made(made, frozenset({os.geteuid() + 12345}))
    assert load_artifact(someone_else, "p").problem == "unreadable"


def test_a_swapped_folder_is_not_followed(tmp_path):
    made = tmp_path / "probe"
    made.mkdir()
    folder = RecordFolder.made(made, ME)
    other = tmp_path / "other"
    other.mkdir()
    write_good(RecordFolder.made(other, ME))
    made.rmdir()
    made.symlink_to(other)  # a link to a folder with perfectly good records
    assert load_artifact(folder, "p").problem == "unreadable"
    made.unlink()
    other.rename(made)  # the same path, another folder
    assert load_artifact(folder, "p").problem == "unreadable"


def test_oversized_records_are_refused_before_reading(folder):
    (folder.path / "p.json").write_bytes(b" " * (MAX_JSON_BYTES + 1))
    assert load_artifact(folder, "p").problem == "unreadable"
    with open(folder.path / "big.pt", "wb") as sparse:  # sparse: costs no disk
        sparse.truncate(MAX_TENSOR_FILE_BYTES + 1)
    with pytest.raises(Unreadable):
        folder.read("big.pt", MAX_TENSOR_FILE_BYTES)


def test_names_cannot_leave_the_folder(folder):
    for name in ("../p.json", "", ".", ".."):
        with pytest.raises(Unreadable):
            folder.read(name, 100)
    with pytest.raises(Missing):
        folder.read("nothing.json", 100)


def test_deep_json_is_unreadable_not_a_recursion_error(folder):
    for depth in (40, 200_000):
        (folder.path / "p.json").write_text('{"ok": true, "values": ' + "[" * depth + "]" * depth + "}")
        assert load_artifact(folder, "p").problem == "unreadable"
    assert parse_json(b"[[[[1]]]]") == [[[[1]]]]
    for bad in (b"\xff\xfe", b"{", b"NaN-ish", "\ud800".encode("utf-8", "surrogatepass")):
        with pytest.raises(Unreadable):
            parse_json(bad)


def test_wrong_types_in_a_record_are_ignored(folder):
    (folder.path / "p.json").write_text(json.dumps({"ok": True, "values": [1], "error": "x", "stdout": 5}))
    (folder.path / "p.pt").write_bytes(tensor_bytes([torch.zeros(2)]))
    artifact = load_artifact(folder, "p")
    assert artifact.values == {} and artifact.error is None and artifact.stdout == "" and artifact.tensors == {}


def deflated(data: bytes) -> bytes:
    """The same torch archive with its entries deflated (torch itself would read it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for entry in source.infolist():
            copy.writestr(entry.filename, source.read(entry))
    return out.getvalue()


def test_a_deflate_bomb_is_refused_before_inflating():
    bomb = deflated(tensor_bytes({"t": torch.zeros(2**26, dtype=torch.uint8)}))  # 64 MiB in ~64 KiB
    assert len(bomb) < 2**20
    with pytest.raises(Unreadable):
        parse_tensors(bomb)
    assert torch.load(io.BytesIO(bomb), weights_only=True)["t"].numel() == 2**26  # what it would have been


def test_torch_archives_that_lie_are_refused():
    good = tensor_bytes({"t": torch.arange(4.0)})
    assert torch.equal(parse_tensors(good)["t"], torch.arange(4.0))
    legacy = io.BytesIO()
    torch.save({"t": torch.arange(4.0)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(Unreadable):  # the legacy format allocates what it declares
        parse_tensors(legacy.getvalue())
    for bad in (b"", b"PK\x03\x04" + b"\0" * 100, good[: len(good) // 2], b"\x80\x04K\x01."):
        with pytest.raises(Unreadable):
            parse_tensors(bad)
    pickled_model = tensor_bytes(torch.nn.Linear(2, 1))  # weights_only refuses a module
    with pytest.raises(Unreadable):
        parse_tensors(pickled_model)


def test_only_plain_dense_tensors_are_kept():
    huge_view = torch.zeros(1).expand(10**9)  # a billion elements over one float
    kept = plain_tensors({"ok": torch.ones(2), "view": huge_view, "sparse": torch.eye(3).to_sparse(), "n": 3})
    assert list(kept) == ["ok"]
    loaded = parse_tensors(tensor_bytes({"view": huge_view}))
    assert plain_tensors(loaded) == {}


def test_an_artifact_without_a_folder_reads_nothing():
    with pytest.raises(Unreadable):
        Artifact("p").load_tensors("saved_state_dict.bin")
