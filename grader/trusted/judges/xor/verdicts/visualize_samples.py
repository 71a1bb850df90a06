"""The verdict on visualize_samples: one scatter per class, with that class's points."""

from __future__ import annotations

import torch

from grader.trusted.artifacts import Artifact
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.verdict import failed
from grader.trusted.results import Message, Verdict


def judge_visualize(viz: Artifact, inputs, cell_of: CellOf) -> Verdict:
    name = "visualize_samples_scatter_per_class"
    if not viz.ok:
        return failed(name, viz, "visualize_samples", cell_of)
    data, label = inputs["viz_data"].double(), inputs["viz_label"]
    classes = [data[label == 0], data[label == 1]]
    sets = [viz.tensors.get(f"scatter{i}") for i in range(int(viz.values.get("scatter_sets") or 0))]
    sets = [s for s in sets if isinstance(s, torch.Tensor) and s.dim() == 2 and s.shape[-1] == 2]
    expected_sizes = [len(c) for c in classes]
    if len(sets) != 2 or sorted(len(s) for s in sets) != sorted(expected_sizes):
        return Verdict(name, False, [Message("scatter_wrong", {"sets": len(sets), "sizes": [len(s) for s in sets],
                                                               "expected": expected_sizes})])
    if not (_same_points(sets[0], classes[0]) and _same_points(sets[1], classes[1])
            or _same_points(sets[0], classes[1]) and _same_points(sets[1], classes[0])):
        return Verdict(name, False, [Message("scatter_points_wrong")])
    return Verdict(name, True)


def _same_points(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape:
        return False

    def ordered(t: torch.Tensor) -> torch.Tensor:
        t = t.double()
        return t[torch.argsort(t[:, 0] * 1e6 + t[:, 1])]

    return bool(torch.allclose(ordered(a), ordered(b), atol=1e-5))
