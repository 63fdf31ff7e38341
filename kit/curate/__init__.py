"""Curation stages that run on streamed rows: exact dedup, decontamination, SFT formatting."""

from kit.curate.decontaminate import Decontaminator, Match
from kit.curate.dedup import DUPLICATE_PROBLEM, DUPLICATE_SAMPLE, Deduplicator
from kit.curate.format import default_row, to_messages

__all__ = [
    "DUPLICATE_PROBLEM",
    "DUPLICATE_SAMPLE",
    "Decontaminator",
    "Deduplicator",
    "Match",
    "default_row",
    "to_messages",
]
