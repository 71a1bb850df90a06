"""A grading's artifacts kept on disk (``grade check-reference --record``), so that the judges can
be run again on them in this process, without a kernel: what each probe left in its folder, byte
for byte, how each probe's cell ended, the notebook's cells by execution count, and the notes of
the run. Read back through the same reader as a live grading (grader.trusted.artifacts)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.trusted.artifacts import Artifact, load_artifact
from grader.trusted.records import MAX_TENSOR_FILE_BYTES, RecordFolder
from grader.trusted.results import Message

CASE_FILE = "case.json"


@dataclass
class RecordedRun:
    """What a judge needs of one grading, other than the inputs and answers drawn from its seed."""

    assignment: str
    seed: int
    artifacts: dict[str, Artifact]
    cells: dict[int, int]  # execution count -> cell index
    notes: list[Message]
    # Digests of what the artifacts came from: the graded notebook's code and the probes' source.
    made_from: dict[str, str]

    def cell_of(self, execution_count: int) -> int | None:
        return self.cells.get(execution_count)


def save_run(dest: Path, assignment: str, seed: int, probe_folders: dict[str, Path], artifacts: dict[str, Artifact],
             cells: dict[int, int], notes: list[Message], made_from: dict[str, str]) -> None:
    """Keep in ``dest`` (emptied first) the regular files each probe left in its folder, the
    problem of each probe whose cell did not finish, the cells, the notes, and digests of what
    the artifacts came from (``made_from``: a changed probe or notebook needs a new recording)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    probes: dict[str, Any] = {}
    for name, artifact in artifacts.items():
        folder = probe_folders.get(name)
        if folder is None or artifact.folder is None:  # its cell did not finish: no folder was read
            probes[name] = {"problem": artifact.problem}
            continue
        probes[name] = {"problem": None}
        kept = dest / name
        kept.mkdir()
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode) \
                    and entry.stat(follow_symlinks=False).st_size <= MAX_TENSOR_FILE_BYTES:
                shutil.copyfile(entry.path, kept / entry.name, follow_symlinks=False)
    record = {"assignment": assignment, "seed": seed, "probes": probes,
              "cells": sorted([count, index] for count, index in cells.items()),
              "notes": [_encoded(note) for note in notes], "made_from": made_from}
    (dest / CASE_FILE).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", "utf-8")


def load_run(folder: Path) -> RecordedRun:
    record = json.loads((folder / CASE_FILE).read_text("utf-8"))
    artifacts = {}
    for name, probe in record["probes"].items():
        kept = folder.parent / probe["same_as"] / name if probe.get("same_as") else folder / name
        if probe["problem"] is not None or not kept.is_dir():
            artifacts[name] = Artifact(name, problem=probe["problem"] or "missing")
        else:
            artifacts[name] = load_artifact(RecordFolder.made(kept, frozenset({os.geteuid()})), name)
    return RecordedRun(record["assignment"], record["seed"], artifacts,
                       {count: index for count, index in record["cells"]},
                       [_decoded(note) for note in record["notes"]], record.get("made_from", {}))


def share_identical(case: Path, like: Path) -> None:
    """Keep once what the case ``case`` recorded exactly as the case ``like`` (a mutant's probes
    that its change does not reach record what the reference's do): those probes' folders are
    removed from ``case`` and its case.json names ``like`` for them."""
    record = json.loads((case / CASE_FILE).read_text("utf-8"))
    for name, probe in record["probes"].items():
        if (case / name).is_dir() and (like / name).is_dir() and _same_files(case / name, like / name):
            shutil.rmtree(case / name)
            probe["same_as"] = like.name
    (case / CASE_FILE).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", "utf-8")


def _same_files(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    return names == sorted(p.name for p in b.iterdir()) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names)


def _encoded(message: Message) -> dict[str, Any]:
    return {"key": message.key, "params": {k: {"message": _encoded(v)} if isinstance(v, Message) else {"value": v}
                                           for k, v in message.params.items()}}


def _decoded(data: dict[str, Any]) -> Message:
    return Message(data["key"], {k: _decoded(v["message"]) if "message" in v else v["value"]
                                 for k, v in data["params"].items()})
