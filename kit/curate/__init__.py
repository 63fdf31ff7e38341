"""Curation (`kit curate`): the job from a data recipe to a Hub-layout dataset folder (`job`), and the stages
that run on streamed rows - exact dedup (`dedup`), decontamination against the benchmarks (`decontaminate`) -,
and the dataset card (`card`). SFT formatting is kit.core.chat's (`to_messages`, `default_row`, re-exported
here).

May import: kit.core, kit.benchmarks, kit.recipes, kit.sandbox, kit.hub (the dataset folder and publishing),
kit.verify and kit.generation (the teacher stage).
"""

from kit.core.chat import default_row, to_messages
from kit.curate.decontaminate import Decontaminator, Match
from kit.curate.dedup import DUPLICATE_PROBLEM, DUPLICATE_SAMPLE, Deduplicator

__all__ = [
    "DUPLICATE_PROBLEM",
    "DUPLICATE_SAMPLE",
    "Decontaminator",
    "Deduplicator",
    "Match",
    "default_row",
    "to_messages",
]
