"""Training (`kit train`): TRL SFT or GRPO from a recipe - where a run goes (`main`: here, `accelerate launch`
(`launch`), Hugging Face Jobs (`jobs`) or Slurm (`slurm`)), the run itself (`run`), the data mixture (`data`),
the chat template (`chat`), the attention choice (`attention`), the `--dry-run` plan (`plan`), throughput and
MFU (`throughput`, `gpus`), GRPO's rewards (`rewards`, by name over kit.verify's registry) and reward curve
(`curve`), the model card (`card`) and the push; `tinymodel` makes tiny models for tests.

May import: kit.core, kit.benchmarks, kit.recipes, kit.sandbox, kit.hub (the model card and the push),
kit.verify, kit.generation and kit.curate.
"""
