"""The XOR exercise's judge: its probes (grader.untrusted.probes.xor), the inputs drawn at grading
time (inputs), the reference's answers (expected), the verdicts, one module per judged object
(verdicts/), put together in judge, and the known mistakes as data (mistakes)."""

from grader.trusted.judges.contract import Judge
from grader.trusted.judges.xor import expected, inputs, judge, mistakes

PROBES = ("dataset_shapes", "dataset_samples", "dataset_loader", "model_structure", "model_forward",
          "train_loop", "eval", "visualize", "state_dict", "end_to_end", "device_moves")

JUDGE = Judge(judge.ASSIGNMENT, PROBES, inputs.draw_inputs, expected.expected, judge.judge, mistakes.TABLE)
