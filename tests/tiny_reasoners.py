"""Tiny local reasoning models for the demo tests: real model folders that answer known problems; and a
tokenizer that speaks gpt-oss's harmony format (`gpt_oss_tokenizer`).

`make_reasoner(folder, replies)` builds a random Qwen2-style model with `kit.train.tinymodel` and trains it
(plain PyTorch, a few seconds on a CPU) until greedy decoding of each prompt gives its reply, thinking
included: `<think>...</think>` then the answer. The prompt is the one the arena sends
(`kit.demo.arena.prompt_messages`), rendered with the model's own chat template, so what the test types
reaches the model exactly as it was taught. Everything is loaded back through `AutoModelForCausalLM` /
`AutoTokenizer` by the code under test; nothing here stands in for anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def make_reasoner(folder: Path, replies: Mapping[str, str], *, steps: int = 400, seed: int = 0) -> Path:
    """A model folder that answers each problem of `replies` (problem -> full reply) with that reply."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from kit.demo.arena import prompt_messages
    from kit.train.tinymodel import make_tiny_model

    texts = [*replies, *replies.values()] * 4
    make_tiny_model(folder, texts, hidden_size=64, layers=2, heads=4, vocab_size=400, seed=seed)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    rows = []
    for problem, reply in replies.items():
        prompt = tokenizer.apply_chat_template(prompt_messages(problem, "math"), tokenize=False,
                                               add_generation_prompt=True)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        reply_ids = tokenizer(reply, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        rows.append((torch.tensor([prompt_ids + reply_ids]), torch.tensor([[-100] * len(prompt_ids) + reply_ids])))
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    model.train()
    for step in range(steps):
        ids, labels = rows[step % len(rows)]
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    for ids, labels in rows:  # taught: greedy decoding gives the reply
        start = int((labels[0] == -100).sum())
        out = model.generate(ids[:, :start], max_new_tokens=ids.shape[1] - start + 4, do_sample=False)
        if out[0, start:].tolist()[: ids.shape[1] - start] != ids[0, start:].tolist():
            raise RuntimeError(f"the tiny model did not learn its reply in {steps} steps (loss {loss.item():.3f})")
    model.save_pretrained(folder)
    return folder


# The problem the arena tests ask (the first example of the arena, from the kit's sample), and what each tiny
# model was taught to reply: the left one right, the right one wrong.
def arena_problem() -> tuple[str, str]:
    """(problem, reference answer) of the arena's first example."""
    from kit.demo.arena import examples

    problem, gold, _ = examples()[0]
    return problem, gold


RIGHT_THINKING = "The width is w and w(w+3)=88, so w=8 and the length is 11."
RIGHT_ANSWER = "The perimeter is $2(8+11)=\\boxed{38}$."
WRONG_THINKING = "Area 88, so guess sides 10 and 10."
WRONG_ANSWER = "The perimeter is $\\boxed{40}$."


def reply(thinking: str, answer: str) -> str:
    return f"<think>\n{thinking}\n</think>\n\n{answer}"


HARMONY = ("<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|return|>", "<|call|>", "<|constrain|>")


def gpt_oss_tokenizer(template: str = "trl") -> Any:
    """A byte-level tokenizer with gpt-oss's special tokens and its chat template (the one TRL keeps,
    `trl.chat_template_utils.gptoss_chat_template`). `template="own"`: a chat template TRL does not know, and the
    tokenizer's own `response_template` (as a repo ships it in tokenizer_config.json) instead."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import PreTrainedTokenizerFast
    from trl.chat_template_utils import gptoss_chat_template, gptoss_template

    tok = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(sorted(ByteLevel.alphabet()))}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok)
    fast.add_special_tokens({"eos_token": "<|return|>", "pad_token": "<|endoftext|>",
                             "additional_special_tokens": list(HARMONY)})
    fast.chat_template = gptoss_chat_template
    if template == "own":
        fast.chat_template = gptoss_chat_template + "{#- a fine-tune's copy #}"
        fast.response_template = gptoss_template
    return fast
