"""What one probe left in its folder, read as hostile data (see grader.trusted.records): a JSON
record of plain values and a torch record of tensors, each capped, never followed, never trusted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader.statuses import ArtifactProblem
from grader.trusted.records import (MAX_JSON_BYTES, MAX_TENSOR_FILE_BYTES, Missing, RecordFolder, Unreadable,
                                    parse_json, parse_tensors)

if TYPE_CHECKING:  # torch is imported where used: the grader imports it while the kernel starts
    import torch

MAX_TENSOR_ELEMENTS = 10**7  # one tensor
MAX_RECORD_ELEMENTS = 2 * 10**7  # all the tensors of one record
MAX_STDOUT = 4000


@dataclass
class Artifact:
    """What one probe produced; ``problem`` says why nothing usable came back."""

    name: str
    folder: RecordFolder | None = None
    ok: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    stdout: str = ""
    problem: ArtifactProblem | None = None

    def load_tensors(self, file_name: str) -> Any:
        """Another torch file the probe copied into its folder; raises Unreadable."""
        if self.folder is None:
            raise Unreadable("no folder")
        return parse_tensors(self.folder.read(file_name, MAX_TENSOR_FILE_BYTES))


def load_artifact(folder: RecordFolder, name: str) -> Artifact:
    """The probe ``name``'s records. Whatever is wrong with them (missing, oversized, forged,
    swapped for a link or a FIFO) makes this one probe's artifact unusable, and only it."""
    artifact = Artifact(name, folder)
    try:
        record = parse_json(folder.read(f"{name}.json", MAX_JSON_BYTES))
    except Missing:
        artifact.problem = "missing"
        return artifact
    except Unreadable:
        artifact.problem = "unreadable"
        return artifact
    if not isinstance(record, dict):
        artifact.problem = "unreadable"
        return artifact
    artifact.ok = record.get("ok") is True
    values = record.get("values")
    artifact.values = values if isinstance(values, dict) else {}
    error = record.get("error")
    artifact.error = error if isinstance(error, dict) else None
    stdout = record.get("stdout", "")
    artifact.stdout = stdout[:MAX_STDOUT] if isinstance(stdout, str) else ""
    try:
        artifact.tensors = plain_tensors(artifact.load_tensors(f"{name}.pt"))
    except Unreadable:  # a missing, oversized, forged or corrupt file: nothing trusted came back
        if artifact.ok:
            artifact.ok, artifact.problem = False, "unreadable"
    return artifact


def plain_tensors(loaded: Any) -> dict[str, torch.Tensor]:
    """The dense tensors of a loaded record, each a compact copy of its own: not a view of a huge
    size over a tiny storage (stride 0), not sparse, quantized or nested; within element caps."""
    import torch

    if not isinstance(loaded, dict):
        return {}
    kept, elements = {}, 0
    for key, value in loaded.items():
        if not (isinstance(value, torch.Tensor) and value.layout == torch.strided
                and not value.is_quantized and not value.is_nested and value.device.type == "cpu"):
            continue
        if value.numel() >= MAX_TENSOR_ELEMENTS or elements + value.numel() > MAX_RECORD_ELEMENTS:
            continue
        elements += value.numel()
        kept[str(key)] = value.detach().clone(memory_format=torch.contiguous_format)
    return kept
