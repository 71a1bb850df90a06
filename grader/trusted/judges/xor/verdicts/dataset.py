"""Verdicts on XORDataset: its length, its items, its labels, corners and noise, its batches."""

from __future__ import annotations

from typing import Any

import torch

from grader.trusted.artifacts import Artifact
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.mistakes import diagnose
from grader.trusted.judges.verdict import failed, verdict
from grader.trusted.judges.xor.inputs import DEFAULT_STD
from grader.trusted.judges.xor.mistakes import (TABLE, mostly_same_labels, same_batch, same_counts, same_items,
                                                same_noise)
from grader.trusted.judges.xor.verdicts.described import seen, tensor_ok
from grader.trusted.results import Message, Verdict

CORNERS = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
LABELS, CORNERS_SEEN, NOISE = "dataset_labels_are_xor", "dataset_all_corners", "dataset_noise_std"


def judge_dataset(artifacts: dict[str, Artifact], inputs: dict[str, Any], cell_of: CellOf) -> list[Verdict]:
    shapes, samples, loader = artifacts["dataset_shapes"], artifacts["dataset_samples"], artifacts["dataset_loader"]
    verdicts = []
    sizes = inputs["dataset_sizes"].tolist()
    if not shapes.ok and not shapes.values.get("lengths"):
        verdicts.append(failed("dataset_length", shapes, "XORDataset", cell_of))
    else:
        got = shapes.values.get("lengths", [])
        wrong = [(s, g) for s, g in zip(sizes, got) if s != g]
        verdicts.append(Verdict("dataset_length", not wrong and len(got) == len(sizes),
                                [Message("length_wrong", {"size": s, "got": g}) for s, g in wrong[:2]]))
    if not shapes.ok:
        verdicts.append(failed("dataset_item_types", shapes, "XORDataset", cell_of))
    else:
        v, size = shapes.values, sizes[-1]
        messages = []
        for attr, dtype, shape in (("data", "float32", [size, 2]), ("label", "int64", [size])):
            if not tensor_ok(v.get(attr), dtype, shape):
                messages.append(Message("attr_wrong", {"attr": attr, "got": seen(v.get(attr)),
                                                       "dtype": dtype, "shape": shape}))
        if v.get("item_len") != 2:
            messages.append(Message("item_not_pair", {"got": v.get("item_kind")}))
        else:
            for part, dtype, shape in (("data_point", "float32", [2]), ("data_label", "int64", [])):
                key = "item_point" if part == "data_point" else "item_label"
                if not tensor_ok(v.get(key), dtype, shape):
                    messages.append(Message("item_wrong", {"part": part, "got": seen(v.get(key)),
                                                           "dtype": dtype, "shape": shape}))
            if not messages and v.get("items_match_tensors") is not True:
                messages.append(Message("item_inconsistent"))
        if messages:
            messages += diagnose(TABLE, "XORDataset.items", v, same_items, size)
        verdicts.append(Verdict("dataset_item_types", not messages, messages))
    verdicts += _judge_dataset_samples(samples, inputs, cell_of)
    if not loader.ok:
        verdicts.append(failed("dataset_dataloader_batches", loader, "XORDataset", cell_of))
    else:
        batch, size = inputs["loader_batch_size"], inputs["loader_dataset_size"]
        expected_sizes = [batch] * (size // batch) + [size % batch]
        batches = loader.values.get("batches", [])
        messages = []
        if len(batches) != len(expected_sizes):
            messages.append(Message("batch_count", {"got": len(batches), "expected": len(expected_sizes),
                                                    "batch": batch, "size": size}))
        for b, pair in zip(expected_sizes, batches):
            if not (isinstance(pair, list) and len(pair) == 2 and tensor_ok(pair[0], "float32", [b, 2])
                    and tensor_ok(pair[1], "int64", [b])):
                got = [seen(p) for p in pair] if isinstance(pair, list) else [seen(pair)]
                messages.append(Message("batch_wrong", {"batch": batch, "got": got,
                                                        "x_shape": [b, 2], "y_shape": [b]}))
                messages += diagnose(TABLE, "XORDataset.batches", pair, same_batch, b)
                break
        verdicts.append(Verdict("dataset_dataloader_batches", not messages, messages))
    return verdicts


def nearest_corner(data: torch.Tensor) -> torch.Tensor:
    return data.round().clamp(0, 1)


def _sample(samples: Artifact, prefix: str, size: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    data, label = samples.tensors.get(f"{prefix}_data"), samples.tensors.get(f"{prefix}_label")
    if data is None or label is None or tuple(data.shape) != (size, 2) or tuple(label.shape) != (size,):
        return None
    if not data.is_floating_point():
        return None
    return data.double(), label


def _judge_dataset_samples(samples: Artifact, inputs: dict[str, Any], cell_of: CellOf) -> list[Verdict]:
    names = (LABELS, CORNERS_SEEN, NOISE)
    if not samples.ok:
        return [failed(name, samples, "XORDataset", cell_of) for name in names]
    size = inputs["dataset_sample_size"]
    stds = [("default", DEFAULT_STD)] + [(f"std{i}", s) for i, s in enumerate(inputs["dataset_stds"].tolist())]
    drawn = {prefix: _sample(samples, prefix, size) for prefix, _ in stds}
    if any(d is None for d in drawn.values()):
        messages = [Message("samples_unusable", {"size": size})]
        return [Verdict(name, False, messages) for name in names]

    labels_msgs = []
    for prefix, std in stds[:2]:  # the small noise levels: a corner is never mistaken there
        data, label = drawn[prefix]
        corner = nearest_corner(data)
        want = (corner.sum(dim=1) == 1).long()
        bad = torch.nonzero(label.long() != want).flatten()
        if len(bad) > 0.005 * size:
            i = int(bad[0])
            labels_msgs.append(Message("labels_wrong", {
                "bad": len(bad), "total": size, "point": [float(c) for c in data[i]],
                "got": int(label[i]), "expected": int(want[i])}))
            labels_msgs += diagnose(TABLE, "XORDataset.labels", label, mostly_same_labels, corner)
            break

    corner_msgs = []
    for prefix, _ in stds[:1]:
        corner = nearest_corner(drawn[prefix][0])
        counts = [int(((corner == c).all(dim=1)).sum()) for c in CORNERS]
        if min(counts) < 0.1 * size:
            corner_msgs.append(Message("corners_missing", {"counts": counts, "total": size}))
            corner_msgs += diagnose(TABLE, "XORDataset.corners", counts, same_counts, size)

    noise_msgs, measured_stds = [], []
    for prefix, std in stds:
        data, _ = drawn[prefix]
        measured = float((data - nearest_corner(data)).pow(2).mean().sqrt())
        measured_stds.append(measured)
        if not abs(measured / std - 1) <= 0.15:
            noise_msgs.append(Message("noise_std_wrong", {"std": std, "measured": measured}))
    if noise_msgs:
        noise_msgs += diagnose(TABLE, "XORDataset.noise", measured_stds, same_noise, [std for _, std in stds])
    return [verdict(LABELS, labels_msgs), verdict(CORNERS_SEEN, corner_msgs), verdict(NOISE, noise_msgs)]
