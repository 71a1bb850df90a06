"""Reading what the student's kernel wrote, as hostile data: size caps, JSON and tensors only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where used: the grader imports it while the kernel starts
    import torch

MAX_JSON_BYTES = 2 * 2**20
MAX_TENSOR_FILE_BYTES = 64 * 2**20


@dataclass
class Artifact:
    """What one probe produced; ``problem`` says why nothing usable came back."""

    name: str
    folder: Path | None = None
    ok: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    stdout: str = ""
    problem: str | None = None


def load_tensor_file(path: Path) -> Any:
    """``torch.load`` restricted to tensors and plain containers, after a size check."""
    import torch

    if not path.is_file():
        raise FileNotFoundError(path.name)
    if path.stat().st_size > MAX_TENSOR_FILE_BYTES:
        raise ValueError(f"{path.name} is larger than {MAX_TENSOR_FILE_BYTES // 2**20} MiB")
    return torch.load(path, weights_only=True, map_location="cpu")


def load_artifact(folder: Path, name: str) -> Artifact:
    import torch

    artifact = Artifact(name, folder)
    meta = folder / f"{name}.json"
    if not meta.is_file():
        artifact.problem = "missing"
        return artifact
    if meta.stat().st_size > MAX_JSON_BYTES:
        artifact.problem = "too_large"
        return artifact
    try:
        record = json.loads(meta.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
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
    artifact.stdout = str(record.get("stdout", ""))[:4000]
    try:
        tensors = load_tensor_file(folder / f"{name}.pt")
    except Exception:  # a missing, oversized, forged or corrupt file: nothing trusted came back
        tensors = {}
        if artifact.ok:
            artifact.ok, artifact.problem = False, "unreadable"
    if isinstance(tensors, dict):
        artifact.tensors = {
            str(k): v for k, v in tensors.items() if isinstance(v, torch.Tensor) and v.numel() < 10**7
        }
    return artifact
