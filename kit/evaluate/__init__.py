"""Evaluation (`kit eval`): benchmarks from the Hub or the bundled copies (`data.py`), samples drawn through the
teacher backends (`sampling.py`), verified and scored with pass@k and confidence intervals (`run.py`, `passk.py`),
per-sample details as a dataset folder (`details.py`), and the results in the model card (`card.py`).

May import: kit.core, kit.benchmarks (what each benchmark is), kit.recipes, kit.sandbox, kit.hub (details and
card publishing), kit.verify (the same verifiers as curation), kit.generation (its LLMs draw the samples),
kit.curate and kit.train.
"""
