"""Keeping a grading's artifacts and reading them back (grader.trusted.recorded), without kernels:
what a probe left comes back through the grader's own reader, byte for byte; a probe whose cell did
not finish comes back as its problem; what a case recorded exactly as the reference is kept once."""

from __future__ import annotations

import json
import os

import torch

from grader.trusted.artifacts import Artifact, load_artifact
from grader.trusted.records import RecordFolder
from grader.trusted.recorded import CASE_FILE, load_run, save_run, share_identical
from grader.trusted.results import Message


def _probe_folder(root, name, values, tensors, extra=None):
    folder = root / f"probe-{name}"
    folder.mkdir()
    (folder / f"{name}.json").write_text(json.dumps({"ok": True, "values": values, "stdout": "hola"}), "utf-8")
    torch.save(tensors, folder / f"{name}.pt")
    for file_name, data in (extra or {}).items():
        (folder / file_name).write_bytes(data)
    os.symlink("/etc/passwd", folder / "link")  # never kept: not a regular file
    return folder


def _saved(tmp_path, dest_name="case"):
    kernel = tmp_path / f"kernel-{dest_name}"
    kernel.mkdir()
    folders = {"a": _probe_folder(kernel, "a", {"n": 3}, {"t": torch.arange(4.0)}, {"extra.bin": b"\x00\x01"}),
               "b": _probe_folder(kernel, "b", {"m": [1, 2]}, {})}
    mine = frozenset({os.geteuid()})
    artifacts = {name: load_artifact(RecordFolder.made(folder, mine), name) for name, folder in folders.items()}
    artifacts["c"] = Artifact("c", problem="timeout")  # its cell did not finish: no folder was read
    notes = [Message("did_not_finish", {"where": Message("where.probe", {"probe": "c"}),
                                        "how": Message("ending.timeout", {"seconds": 20})}),
             Message("cell_error", {"cell": 3, "type": "ValueError", "message": "x"})]
    dest = tmp_path / "recorded" / "xor" / dest_name
    save_run(dest, "xor", 7, {"a": folders["a"], "b": folders["b"], "c": kernel / "gone"}, artifacts, {5: 2, 6: 3}, notes,
             {"notebook": "ab", "probes": "cd"})
    return dest, artifacts, notes


def test_a_recorded_run_reads_back_as_the_grading_read_it(tmp_path):
    dest, artifacts, notes = _saved(tmp_path)
    run = load_run(dest)
    assert (run.assignment, run.seed, run.notes) == ("xor", 7, notes)
    assert run.made_from == {"notebook": "ab", "probes": "cd"}
    assert run.cell_of(5) == 2 and run.cell_of(6) == 3 and run.cell_of(1) is None
    assert run.artifacts["c"].problem == "timeout" and run.artifacts["c"].folder is None
    for name in ("a", "b"):
        got, want = run.artifacts[name], artifacts[name]
        assert (got.ok, got.values, got.stdout, got.problem) == (want.ok, want.values, want.stdout, want.problem)
        assert got.tensors.keys() == want.tensors.keys()
        assert all(torch.equal(got.tensors[k], want.tensors[k]) for k in want.tensors)
    assert run.artifacts["a"].folder.read("extra.bin", 10) == b"\x00\x01"
    assert sorted(p.name for p in (dest / "a").iterdir()) == ["a.json", "a.pt", "extra.bin"]


def test_what_a_case_recorded_as_the_reference_is_kept_once_and_reads_the_same(tmp_path):
    like, _, _ = _saved(tmp_path, "reference-seed7")
    case, _, _ = _saved(tmp_path, "mutant")
    (case / "b" / "b.json").write_text(json.dumps({"ok": False, "values": {}, "stdout": ""}), "utf-8")
    before = load_run(case)
    share_identical(case, like)
    probes = json.loads((case / CASE_FILE).read_text("utf-8"))["probes"]
    assert probes["a"]["same_as"] == "reference-seed7" and not (case / "a").exists()
    assert "same_as" not in probes["b"] and (case / "b").is_dir()  # it differs from the reference's
    after = load_run(case)
    for name in ("a", "b", "c"):
        assert (after.artifacts[name].ok, after.artifacts[name].values, after.artifacts[name].problem) == \
            (before.artifacts[name].ok, before.artifacts[name].values, before.artifacts[name].problem)
