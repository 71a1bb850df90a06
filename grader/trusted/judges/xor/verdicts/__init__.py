"""The XOR judge's verdicts, one module per judged object as in grader.trusted.points (the tags):
XORDataset, ClasificadorSimple, train_model, eval_model, visualize_samples, state_dict,
end_to_end; grader.trusted.judges.xor.judge puts them together."""
