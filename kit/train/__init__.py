"""Training: TRL SFT from a recipe (`kit train`), locally, on Hugging Face Jobs or on Slurm; model card; push."""
