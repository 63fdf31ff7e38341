"""reasoning-hub-kit: curate verified reasoning data, train on it, show it, publish it on the Hugging Face Hub."""

__version__ = "0.1.0"
