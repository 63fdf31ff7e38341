"""Recipe YAML: booleans follow YAML 1.2 (only true/false), in recipe files and in `--set` overrides alike, and
`dump_recipe` output reads back exactly as written.

PyYAML's safe loader follows YAML 1.1, where `no` is False: `--set sft.save_strategy=no` reached TRL's
SFTConfig as False and was refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kit import recipes
from kit.recipes import dump_recipe
from kit.recipes.train import load_train_recipe
from kit.train.run import trl_config

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "recipes/sft/tiny-cpu.yaml"
YAML11_WORDS = ["no", "No", "NO", "yes", "Yes", "on", "On", "off", "OFF", "y", "n"]


def test_set_save_strategy_no_is_the_string_and_builds_sft_config() -> None:
    recipe = load_train_recipe(TINY, ["sft.save_strategy=no"])
    assert recipe.sft["save_strategy"] == "no"
    args = trl_config(recipe, log=print)
    assert args.save_strategy == "no"


def test_recipe_file_with_save_strategy_no(tmp_path: Path) -> None:
    text = TINY.read_text(encoding="utf-8")
    assert "  save_strategy: steps\n" in text
    recipe_file = tmp_path / "tiny-no-save.yaml"
    recipe_file.write_text(text.replace("  save_strategy: steps\n", "  save_strategy: no\n"), encoding="utf-8")
    recipe = load_train_recipe(recipe_file)
    assert recipe.sft["save_strategy"] == "no"
    assert trl_config(recipe, log=print).save_strategy == "no"


@pytest.mark.parametrize("word", YAML11_WORDS)
def test_yaml11_boolean_words_stay_strings(word: str) -> None:
    recipe = load_train_recipe(TINY, [f"description={word}", f"card.tags=[{word}, x]"])
    assert recipe.description == word
    assert recipe.card.tags == [word, "x"]
    assert recipes.parse_yaml(f"key: {word}\nlist: [{word}]\n") == {"key": word, "list": [word]}


@pytest.mark.parametrize(("word", "value"), [("true", True), ("True", True), ("TRUE", True), ("tRuE", True),
                                             ("false", False), ("False", False), ("FALSE", False)])
def test_true_false_are_booleans_in_any_case(word: str, value: bool) -> None:
    recipe = load_train_recipe(TINY, [f"sft.packing={word}"])
    assert recipe.sft["packing"] is value
    assert recipes.parse_yaml(f"packing: {word}") == {"packing": value}


def test_numbers_and_null_unchanged() -> None:
    assert recipes.parse_yaml("a: 3.0e-3\nb: 10\nc: null\nd: ~\ne: '1'\n") == {"a": 0.003, "b": 10, "c": None, "d": None,
                                                                     "e": "1"}


@pytest.mark.parametrize("word", [*YAML11_WORDS, "true", "False", "tRuE", "null", "~", "1", "3.0e-3", "="])
def test_dump_recipe_round_trip(tmp_path: Path, word: str) -> None:
    recipe = load_train_recipe(TINY, ["sft.save_strategy=no", f"description={word!r}", f"card.tags=[{word!r}]"])
    assert recipe.description == word and recipe.card.tags == [word]
    text = dump_recipe(recipe)
    dumped = tmp_path / "recipe.yaml"
    dumped.write_text(text, encoding="utf-8")
    again = load_train_recipe(dumped)
    assert again == recipe
    assert again.sft["save_strategy"] == "no" and again.description == word
    # Readable by any YAML 1.1 reader too (the dumped recipe.yaml is read by other tools).
    assert yaml.safe_load(text)["sft"]["save_strategy"] == "no"
    assert yaml.safe_load(text)["description"] == word
