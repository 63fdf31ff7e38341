"""The chat template a run trains with, checked to keep `<think>...</think>` in every assistant turn.

A known pitfall: several model templates (DeepSeek-R1-Distill, Qwen3 for past turns) drop the reasoning of
assistant turns when rendering, so a model "trained on reasoning" would never see it. The kit renders a
probe conversation with the final template and refuses one that loses it.

- `model`: the tokenizer's own template; with assistant-only loss and no `{% generation %}` markers, TRL's
  training version of it (TRL ships them for known families).
- `kit`: ChatML (`<|im_start|>role ... <|im_end|>`, the Qwen2 format) with generation markers around each
  assistant reply; tokens it needs and the tokenizer lacks are added (the embeddings grow to match).
- a `.jinja` file.

A GRPO run's template renders only prompts, so the reasoning check does not apply there; what matters is whether its
generation prompt opens the reasoning itself (`generation_opener`), which the rewards then read completions with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kit.core.chat import THINK_CLOSE, THINK_OPEN, THINK_TEMPLATE, prompt_opener
from kit.recipes import RecipeError

KIT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- generation -%}{{- message['content'] + '<|im_end|>' -}}{%- endgeneration -%}"
    "{{- '\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
KIT_TOKENS = ["<|im_start|>", "<|im_end|>"]
PROBE = [  # two turns of the kit's SFT conversation (kit.core.chat), each with its reasoning to find again
    {"role": "user", "content": "first question"},
    {"role": "assistant", "content": THINK_TEMPLATE.format(reasoning="first-reasoning-probe", solution="first answer")},
    {"role": "user", "content": "second question"},
    {"role": "assistant", "content": THINK_TEMPLATE.format(reasoning="second-reasoning-probe",
                                                           solution="second answer")},
]


def apply_template(choice: str, tokenizer: Any, assistant_only_loss: bool, prompts_only: bool = False) -> list[str]:
    """Set `tokenizer.chat_template` for `choice`; return the special tokens added to the tokenizer. `prompts_only`: the
    template renders only prompts (GRPO), never an assistant turn to train on, so whether it keeps their reasoning is
    not checked (DeepSeek-R1-Distill's own template, which drops it, is the usual one to run GRPO from that model)."""
    added: list[str] = []
    if choice == "kit":
        vocab = tokenizer.get_vocab()
        added = [t for t in KIT_TOKENS if t not in vocab]
        if added:
            tokenizer.add_special_tokens({"additional_special_tokens": added})
        tokenizer.chat_template = KIT_TEMPLATE
        tokenizer.eos_token = "<|im_end|>"
    elif choice != "model":
        tokenizer.chat_template = Path(choice).read_text(encoding="utf-8")
    if not tokenizer.chat_template:
        raise RecipeError("chat_template: model: the tokenizer has no chat template; use chat_template: kit")
    if assistant_only_loss:
        _with_generation_markers(tokenizer)
    if not prompts_only:
        check_keeps_reasoning(tokenizer, choice)
    return added


def generation_opener(tokenizer: Any) -> str | None:
    """The reasoning opener (`kit.core.chat.OPENERS`) the template ends a generation prompt with - DeepSeek-R1-Distill's
    and Qwen3's thinking templates end it with `<think>\\n` -, or None: a completion then holds only the reasoning's
    close (`kit.train.rewards.with_opener`)."""
    text = tokenizer.apply_chat_template([{"role": "user", "content": "probe"}], add_generation_prompt=True,
                                         tokenize=False)
    return prompt_opener(str(text))


def _with_generation_markers(tokenizer: Any) -> None:
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    if has_generation_markers(tokenizer.chat_template):
        return
    try:
        tokenizer.chat_template = get_training_chat_template(tokenizer)
    except Exception as exc:  # TRL raises for template families it has no training version of
        raise RecipeError("chat_template: the template has no {% generation %} markers, which assistant-only loss "
                          f"needs, and TRL has no training version of it ({exc}); use chat_template: kit") from None


def check_keeps_reasoning(tokenizer: Any, choice: str) -> None:
    """Raise RecipeError when rendering a two-turn probe loses an assistant turn's reasoning."""
    text = tokenizer.apply_chat_template(PROBE, tokenize=False)
    lost = [turn for turn in ("first", "second")
            if f"{THINK_OPEN}\n{turn}-reasoning-probe\n{THINK_CLOSE}" not in text]
    if lost:
        raise RecipeError(f"chat_template: {choice}: the template drops <think>...</think> from the {lost[0]} "
                          "assistant turn, so the model would not learn to reason; use chat_template: kit "
                          "(or a .jinja file that keeps it)")
