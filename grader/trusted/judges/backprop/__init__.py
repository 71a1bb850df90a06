"""The backprop exercise's judge: its probes (grader.untrusted.probes.backprop), the cases drawn at
grading time (inputs), the reference's answers checked against autograd (expected), the verdicts
by judged object (verdicts/), put together in judge, and the known mistakes as data (mistakes)."""

from grader.trusted.judges.backprop import expected, inputs, judge, mistakes
from grader.trusted.judges.backprop.network import FUNCTIONS
from grader.trusted.judges.contract import Judge

ASSIGNMENT = "backprop"
PROBES = FUNCTIONS + ("backprop_own_helpers", "backprop_training")

JUDGE = Judge(ASSIGNMENT, PROBES, inputs.draw_inputs, expected.expected, judge.judge, mistakes.MISTAKES)
