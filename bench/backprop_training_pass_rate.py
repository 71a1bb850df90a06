"""How often the reference passes the backprop_training check, over many grading seeds.

    python bench/backprop_training_pass_rate.py [--seeds 200] [--first 0]

For each seed, the grader's own training probe (the same code the kernel runs) drives the
reference's backprop in this process, and the judge scores the result on the hidden test set.
The initial weights are fixed (TRAINING_INIT_SEED); the seed draws the training and test data.
Prints the pass rate, the lowest accuracies and the time per training run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from grader.assignments import get_assignment
from grader.trusted.artifacts import Artifact
from grader.trusted.judges.backprop import inputs as judge
from grader.trusted.judges.backprop.verdicts.training import ACCURACY_THRESHOLD, judge_training
from grader.trusted.reference import load_reference
from grader.untrusted.probes import in_process_tools
from grader.untrusted.probes.backprop import probe_backprop_training
from grader.untrusted.probes.common import Tools


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ref = load_reference(get_assignment("backprop").reference)
    tools = Tools(in_process_tools(), ".")
    accuracies, seconds = [], []
    for seed in range(args.first, args.first + args.seeds):
        inputs, hidden = judge.draw_inputs(seed, "cpu")
        values, tensors = {}, {}
        began = time.perf_counter()
        probe_backprop_training(tools, values, tensors, ref.backprop.__globals__, inputs)
        seconds.append(time.perf_counter() - began)
        verdict = judge_training(Artifact("backprop_training", ok=True, values=values, tensors=tensors),
                                        inputs, hidden, cell_of=lambda count: None)
        accuracies.append((float(verdict.messages[-1].params["accuracy"]), seed, verdict.passed))
    passed = sum(1 for _, _, ok in accuracies if ok)
    print(f"network {'-'.join(map(str, judge.TRAINING_SIZES))}, lr {judge.TRAINING_LR}, "
          f"{judge.TRAINING_EPOCHS} epochs, {judge.TRAINING_POINTS} training points, init seed "
          f"{judge.TRAINING_INIT_SEED}, threshold {100 * ACCURACY_THRESHOLD:.0f} %")
    print(f"{passed}/{len(accuracies)} seeds reach the threshold")
    print("lowest accuracies (%, seed):", sorted(accuracies)[:5])
    print(f"training run: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s "
          "(with the grader's autograd helpers standing in for the student's)")


if __name__ == "__main__":
    main()
