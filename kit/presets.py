"""Presets for well-known public datasets: `sources[].preset: NAME` (project issue 16).

A preset fills the source fields a recipe leaves unset - the Hub id (`path`), `config`, `split`, the column
map (`columns`), `where`, `name`, `domain`, `license`, `citation` - so a recipe can say just

    sources:
      - preset: taco
        limit: 2000

Every key the recipe sets itself wins over the preset's; `columns` and `where` merge key by key (the
recipe's entries win). Columns the kit reads under their own name (`starter_code`, `ground_truth_solution`,
`domain`, `source`, `finish_reason`, a `messages` or `conversations` chat) need no mapping and are not
listed.

Each schema below was taken from the dataset's card (the `dataset_info` features of its README) or its
loading script; a column that could not be confirmed there is named in the preset's comment.
"""

from __future__ import annotations

import copy
from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # codeparrot/apps card: problem_id, question, solutions (JSON list), input_output (JSON: inputs, outputs,
    # optional fn_name), difficulty, url, starter_code. Splits train/test. The Hub repo is read through a
    # loading script (apps.py), which recent `datasets` releases no longer run: a parquet copy of it works
    # with the same preset and `path:` set to the copy.
    "apps": {
        "description": "APPS code problems (question, input_output tests with optional fn_name, starter_code).",
        "path": "codeparrot/apps", "split": "train", "domain": "code", "name": "apps", "license": "mit",
        # APPS's integer problem_id would stand in for the kit's (a hash of the problem text): kept aside
        "columns": {"problem": "question", "test_cases": "input_output", "apps_problem_id": "problem_id"},
    },
    # BAAI/TACO card: config ALL (parquet), splits train/test; question, solutions, starter_code,
    # input_output (APPS form: inputs, outputs, optional fn_name), difficulty, raw_tags, name, source, tags,
    # skill_types, url, Expected Auxiliary Space, time_limit, date, picture_num, memory_limit,
    # Expected Time Complexity.
    "taco": {
        "description": "TACO code problems (APPS-style input_output tests with optional fn_name, starter_code).",
        "path": "BAAI/TACO", "config": "ALL", "split": "train", "domain": "code", "name": "taco",
        "license": "apache-2.0",
        "columns": {"problem": "question", "test_cases": "input_output"},
    },
    # AI-MO/NuminaMath-CoT card: source (the subset: amc_aime, math, olympiads, cn_k12, aops_forum, ...),
    # problem, solution (CoT ending in \boxed{}), messages. Splits train/test. Filter subsets with
    # `where: {source: [...]}`. Its `messages` column is a user/assistant chat of the reference solution:
    # with `teacher.backend: dataset` it would be read as the trace, so use this preset with a generating
    # teacher.
    "numinamath-cot": {
        "description": "NuminaMath-CoT math problems; its solution is the reference (filter with where: {source: ...}).",
        "path": "AI-MO/NuminaMath-CoT", "split": "train", "domain": "math", "name": "numinamath",
        "license": "apache-2.0",
        "columns": {"ground_truth_solution": "solution"},
    },
    # open-thoughts/OpenThoughts-114k, config `metadata` (card, as in its 1k sample
    # ryanmarten/OpenThoughts-1k-sample): problem, deepseek_reasoning, deepseek_solution,
    # ground_truth_solution, domain, source, test_cases, starter_code. Not confirmed: the values of `domain`
    # (rows whose domain is not math/code/science/puzzle are rejected as unsupported_domain; set `domain:` or
    # `where: {domain: ...}`) and that every code row's test_cases is in a form kit.verify.code accepts.
    "openthoughts-114k": {
        "description": "OpenThoughts-114k `metadata` config: DeepSeek-R1 reasoning + solution with references and tests "
                       "(teacher.backend: dataset).",
        "path": "open-thoughts/OpenThoughts-114k", "config": "metadata", "split": "train", "name": "openthoughts",
        "license": "apache-2.0",
        "columns": {"reasoning": "deepseek_reasoning", "solution": "deepseek_solution"},
    },
    # open-thoughts/OpenThoughts-114k, config `default` (card): system, conversations (ShareGPT from/value;
    # the gpt turn holds <|begin_of_thought|> ... <|begin_of_solution|> ...). The rows carry no domain and no
    # reference: set `domain:`; verification needs references, which only the `metadata` config has.
    "openthoughts-114k-chat": {
        "description": "OpenThoughts-114k `default` config: system + ShareGPT conversations (traces only, no "
                       "references; teacher.backend: dataset).",
        "path": "open-thoughts/OpenThoughts-114k", "split": "train", "name": "openthoughts",
        "license": "apache-2.0",
        "columns": {"system_prompt": "system"},
    },
    # bespokelabs/Bespoke-Stratos-17k: system, conversations (ShareGPT from/value) - the columns named in
    # huggingface/open-r1#340 and axolotl-ai-cloud/axolotl#2397 (its card has no dataset_info block). The
    # rows carry no domain and no reference: set `domain:`.
    "bespoke-stratos-17k": {
        "description": "Bespoke-Stratos-17k: system + ShareGPT conversations with Sky-T1-style R1 traces (traces only, "
                       "no references; teacher.backend: dataset).",
        "path": "bespokelabs/Bespoke-Stratos-17k", "split": "train", "name": "bespoke-stratos",
        "license": "apache-2.0",
        "columns": {"system_prompt": "system"},
    },
    # open-r1/OpenR1-Math-220k card: configs default/extended (split train) and all; problem, solution
    # (NuminaMath 1.5's), answer, problem_type, question_type, source, uuid, is_reasoning_complete (list),
    # generations (list of R1 replies), correctness_math_verify (list), correctness_llama (list),
    # finish_reasons (list), correctness_count, messages (user/assistant chat: one of the generations). The
    # kit reads one trace per row, from `messages`; the other `generations` are not expanded.
    "openr1-math-220k": {
        "description": "OpenR1-Math-220k: R1 traces (the messages chat) of NuminaMath 1.5 problems, with the reference "
                       "answer (teacher.backend: dataset).",
        "path": "open-r1/OpenR1-Math-220k", "config": "default", "split": "train", "domain": "math",
        "name": "openr1-math", "license": "apache-2.0",
        "columns": {"ground_truth_solution": "solution", "ground_truth_answer": "answer"},
    },
    # open-r1/codeforces-cots card: configs solutions, solutions_py, solutions_w_editorials(_py), ... (split
    # train); id, aliases, contest_id, contest_name, contest_type, contest_start, contest_start_year, index,
    # time_limit, memory_limit, title, description, input_format, output_format, examples (list of
    # input/output), note, editorial, prompt (what R1 was asked), generation (R1's reply), finish_reason,
    # api_metadata, messages. Its tests (`examples`, a list of {input, output}) are not in a form
    # kit.verify.code reads, so code rows need `test_cases` from elsewhere to pass verification.
    "codeforces-cots": {
        "description": "open-r1/codeforces-cots `solutions_py`: R1 replies to CodeForces problems (teacher.backend: "
                       "dataset; its examples are not a kit test form).",
        "path": "open-r1/codeforces-cots", "config": "solutions_py", "split": "train", "domain": "code",
        "name": "codeforces-cots", "license": "cc-by-4.0",
        "columns": {"problem": "prompt", "reply": "generation"},
    },
}

_MERGED = ("columns", "where")  # mappings merged key by key


def preset_names() -> list[str]:
    return sorted(PRESETS)


def expand_preset(data: dict[str, Any]) -> dict[str, Any]:
    """A source mapping with its preset's fields filled in where the mapping leaves them unset; ValueError
    (one line, naming the presets) for an unknown preset."""
    name = data.get("preset")
    if name is None:
        return data
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r} (presets: {', '.join(preset_names())})")
    preset = copy.deepcopy({k: v for k, v in PRESETS[name].items() if k != "description"})
    out = dict(data)
    for key, value in preset.items():
        if key in _MERGED and isinstance(out.get(key), dict):
            out[key] = {**value, **out[key]}
        elif out.get(key) is None:
            out[key] = value
    return out


def presets_table() -> str:
    """One line per preset: name, Hub id (config), description."""
    lines = []
    for name in preset_names():
        p = PRESETS[name]
        hub = p["path"] + (f" ({p['config']})" if p.get("config") else "")
        lines.append(f"{name}: {hub} - {p['description']}")
    return "\n".join(lines)
