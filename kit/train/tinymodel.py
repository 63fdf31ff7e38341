"""Tiny random models with a tokenizer trained here: for tests, CI and trying the kit on a laptop.

Nothing is downloaded: a byte-level BPE tokenizer is trained with `tokenizers` on the given texts, given
a ChatML chat template (the Qwen2 format, `<|im_start|>role ... <|im_end|>`), and a model of the chosen
architecture is initialised at random from a small config. The result is a normal Hugging Face model
folder that `AutoModelForCausalLM` / `AutoTokenizer` (and so distilabel and TRL) load.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from kit.core.chat import THINK_CLOSE, THINK_OPEN

CHATML = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", THINK_OPEN, THINK_CLOSE]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 512):
    """A byte-level BPE `PreTrainedTokenizerFast` trained on `texts`, with the ChatML template."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    # Qwen2's own pipeline: transformers 5 rebuilds a qwen2 model's tokenizer with it on loading (it does not
    # trust the saved class), so any other pipeline would split text differently once reloaded.
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    # The reasoning markers stay whole tokens but are not "special", as in real reasoning models (Qwen3,
    # DeepSeek-R1): a decode that skips special tokens (TRL's GRPO completions, generation) keeps them.
    data = json.loads(tokenizer.to_str())
    for token in data["added_tokens"]:
        token["special"] = token["content"] not in (THINK_OPEN, THINK_CLOSE)
    tokenizer = Tokenizer.from_str(json.dumps(data))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token=None, unk_token=None)
    fast.chat_template = CHATML
    return fast


def make_tiny_model(out_dir: str | Path, texts: Iterable[str], *, hidden_size: int = 32, layers: int = 2,
                    heads: int = 4, vocab_size: int = 512, seed: int = 0) -> Path:
    """Write a random Qwen2-style causal LM and its tokenizer to `out_dir`; return the folder."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    out = Path(out_dir)
    tokenizer = train_tokenizer(texts, vocab_size)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=max(1, heads // 2),
                         max_position_embeddings=4096, tie_word_embeddings=True,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
