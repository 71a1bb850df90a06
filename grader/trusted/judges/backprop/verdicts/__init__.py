"""The backprop judge's verdicts, by judged object as in grader.trusted.points: the helper
functions (functions), backprop itself (backprop) and the training it drives (training), on
cases read the same way (cases); grader.trusted.judges.backprop.judge puts them together."""
