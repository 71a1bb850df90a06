"""How often the reference passes the end-to-end accuracy check, over many grading seeds.

    python bench/end_to_end_pass_rate.py [--seeds 50] [--first 0]

One kernel runs the reference notebook once; then, for each seed, the grader's own end_to_end
probe and judge run exactly as in `grade submit`. Prints the pass rate and the lowest accuracies.
"""

from __future__ import annotations

import argparse
import asyncio

import nbformat
import torch

from grader.assignments import get_assignment
from grader.trusted.artifacts import load_artifact
from grader.trusted.judges.xor.inputs import draw_inputs
from grader.trusted.judges.xor.verdicts.end_to_end import ACCURACY_THRESHOLD, judge_end_to_end
from grader.trusted.records import RecordFolder
from grader.trusted.reference import load_reference
from grader.untrusted import sandbox
from grader.untrusted.probes import probe_source
from grader.untrusted.limits import Limits
from grader.untrusted.runner import KernelSession


async def run(seeds: range) -> list[float]:
    assignment = get_assignment("xor")
    ref = load_reference(assignment.reference)
    notebook = nbformat.read(assignment.reference, as_version=4)
    accuracies = []
    isolation = sandbox.detect()
    with sandbox.job_folders(isolation, Limits().disk_mb) as folders:
        async with KernelSession(notebook, folders.job, Limits(), 0, isolation, folders.exchange, folders.sockets) as kernel:
            await kernel.run_notebook()
            for seed in seeds:
                inputs, hidden = draw_inputs(seed, "cpu")
                torch.save(inputs, folders.exchange / "inputs.pt")
                out = folders.exchange / f"out{seed}"
                out.mkdir()
                records = RecordFolder.made(out, frozenset({sandbox.kernel_uid(isolation)}))
                sandbox.hand_over(out, isolation)
                await kernel.run_probe(probe_source("xor"), "end_to_end", folders.exchange / "inputs.pt", out)
                sandbox.take_back(out, isolation)
                verdict = judge_end_to_end(load_artifact(records, "end_to_end"), inputs, hidden, ref, True,
                                                lambda count: None)
                accuracy = float(verdict.messages[0].params["accuracy"]) / 100
                accuracies.append(accuracy)
    return accuracies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--first", type=int, default=0)
    args = parser.parse_args()
    accuracies = asyncio.run(run(range(args.first, args.first + args.seeds)))
    passed = sum(a >= ACCURACY_THRESHOLD for a in accuracies)
    print(f"reference end-to-end: {passed}/{len(accuracies)} seeds reach >= {ACCURACY_THRESHOLD:.0%}")
    print("lowest accuracies:", ", ".join(f"{a:.3f}" for a in sorted(accuracies)[:5]))


if __name__ == "__main__":
    main()
