"""Evaluation (`kit eval`, being built): benchmarks, sampling, pass@k and confidence intervals, model-index.
`passk.py` holds the scores."""
