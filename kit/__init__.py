"""reasoning-hub-kit: curate verified reasoning data, train on it, show it, publish it on the Hugging Face Hub."""

import warnings

__version__ = "0.1.0"

# distilabel 1.5.3's pydantic models, and the kit's LLM classes derived from them, trigger this warning when
# they are defined; it says nothing a user can act on.
warnings.filterwarnings("ignore", message=r"The 'default' attribute with value None was provided to the `Field\(\)`")
# datasets' `Dataset.sort` (used on the generation pipeline's output) with pyarrow >= 25.
warnings.filterwarnings("ignore", message=r"Specifying null_placement in SortOptions is deprecated",
                        category=FutureWarning)
