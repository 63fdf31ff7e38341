"""Every recipe's model, mirroring `recipes/` on disk: `base` (the loader, the one path rule, the common header
and output block, the sections several recipes share), `data` (`kit curate`), `train` (`kit train`), `eval`
(`kit eval`), and `presets` (the public datasets a data recipe's source can name).

May import: `kit.core` and `kit.benchmarks` (an eval recipe checks benchmark names). Imported by every stage.
The base and data models are re-exported here (`from kit.recipes import DataRecipe, VerifyConfig`).
"""

from kit.recipes.base import (
    DEFAULT_INSTRUCTIONS,
    CodeVerifyConfig,
    FormatConfig,
    JudgeConfig,
    LLMConfig,
    MathVerifyConfig,
    OutputConfig,
    Recipe,
    RecipeError,
    Strict,
    VerifyConfig,
    dump_recipe,
    load_recipe,
    local_file,
    local_path,
    parse_yaml,
)
from kit.recipes.data import (
    CurateConfig,
    DataOutputConfig,
    DataRecipe,
    DecontaminationConfig,
    GenerationConfig,
    ReferenceConfig,
    ReformatConfig,
    SourceConfig,
    TeacherConfig,
    load_data_recipe,
)

__all__ = ["DEFAULT_INSTRUCTIONS", "CodeVerifyConfig", "CurateConfig", "DataOutputConfig", "DataRecipe",
           "DecontaminationConfig", "FormatConfig", "GenerationConfig", "JudgeConfig", "LLMConfig", "MathVerifyConfig",
           "OutputConfig", "Recipe", "RecipeError", "ReferenceConfig", "ReformatConfig", "SourceConfig", "Strict",
           "TeacherConfig", "VerifyConfig", "dump_recipe", "load_data_recipe", "load_recipe", "local_file",
           "local_path", "parse_yaml"]
