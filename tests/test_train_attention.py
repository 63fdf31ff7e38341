"""kit.train.attention: which attention implementation a run uses, and proof that padding-free packing is exact.

The packing test runs every implementation that works on the CPU (eager, sdpa, and flex_attention forward:
torch has no CPU backward for it) on a batch collated by TRL's own padding-free collator, against the same
sequences run one by one: the per-token logits, the loss and (eager, sdpa) the gradients agree, so no token
attends across a sequence boundary.
"""

from __future__ import annotations

import pytest
import torch

from kit.recipes import RecipeError
from kit.train.attention import Attention, check, choose, installed, padding_free

PACKED = {"packing": True, "packing_strategy": "bfd", "per_device_train_batch_size": 4}
PADDED = {"packing": False, "per_device_train_batch_size": 4}


def test_padding_free_follows_trl():
    assert padding_free(PACKED) and padding_free({**PACKED, "packing_strategy": "bfd_split"})
    assert not padding_free({**PACKED, "packing_strategy": "wrapped"})  # full rows, no per-sequence positions
    assert not padding_free(PADDED) and padding_free({**PADDED, "padding_free": True})


@pytest.mark.parametrize("available, sft, expected", [
    (["flash_attention_3", "flash_attention_2", "flex_attention"], PACKED, Attention("flash_attention_3", "")),
    (["flash_attention_2", "flex_attention"], PADDED, Attention("flash_attention_2", "")),
    (["kernels-community/flash-attn2", "flex_attention"], PACKED, Attention("kernels-community/flash-attn2", "")),
    (["flex_attention"], PACKED, Attention("flex_attention", "")),
    (["flex_attention"], PADDED, Attention("sdpa", "")),  # flex only pays for packed rows
    ([], PADDED, Attention("sdpa", "")),
    ([], {**PACKED, "per_device_train_batch_size": 1}, Attention("sdpa", "")),  # one row: the mask is small
    ([], PACKED, Attention("sdpa", "", unpacked=True)),  # packing off rather than a (4 x L)^2 mask per layer
    ([], {**PADDED, "padding_free": True}, Attention("sdpa", "", unpacked=True)),
])
def test_auto_picks_the_first_installed_that_supports_the_run(available, sft, expected):
    chosen = choose("auto", sft, cuda=True, available=available)
    assert (chosen.implementation, chosen.unpacked) == (expected.implementation, expected.unpacked)
    assert chosen.line.startswith(f"attention: {expected.implementation} (auto")


def test_auto_says_why_packing_was_turned_off():
    chosen = choose("auto", PACKED, cuda=False, available=[])
    assert chosen.unpacked and "packing turned off" in chosen.reason and "mask" in chosen.reason


def test_installed_finds_nothing_fast_without_cuda():
    assert installed(cuda=False) == []
    assert installed(cuda=True, hub_kernels=lambda kernel: False)[-1] == "flex_attention"
    hub = installed(cuda=True, hopper=True, hub_kernels=lambda kernel: True)
    assert hub[-1] == "flex_attention"
    if "flash_attention_2" not in hub:  # no flash-attn package here: the Hub's build of it, FA3 on Hopper
        assert hub[0].startswith("kernels-community/") and "3" in hub[0]


def test_an_explicit_choice_is_honoured_and_checked():
    assert choose("eager", PADDED, cuda=False, available=[]).implementation == "eager"
    assert choose("sdpa", {**PACKED, "per_device_train_batch_size": 1}, cuda=False).implementation == "sdpa"
    with pytest.raises(RecipeError, match=r"sdpa with padding-free packing at per_device_train_batch_size 4"):
        choose("sdpa", PACKED, cuda=True, available=["flex_attention"])
    with pytest.raises(RecipeError, match="not one of auto"):
        choose("flash_attention_9", PADDED, cuda=True, available=[])
    with pytest.raises(RecipeError, match="CUDA GPUs only"):
        choose("flex_attention", PACKED, cuda=False, available=[])
    # the plan of a GPU run made on a machine without the package checks the name only
    assert choose("flash_attention_2", PACKED, cuda=True, available=[], here=False).implementation == \
        "flash_attention_2"


def test_a_missing_package_names_the_pip_command(monkeypatch):
    import kit.train.attention as attention

    monkeypatch.setattr(attention, "_module", lambda name: False)
    with pytest.raises(RecipeError, match="pip install flash-attn --no-build-isolation"):
        check("flash_attention_2", cuda=True)
    with pytest.raises(RecipeError, match="pip install kernels"):
        check("kernels-community/flash-attn3", cuda=True)


# -- padding-free packing is exact --------------------------------------------------------------------------

LENGTHS = (9, 17, 4, 12)


def _model(implementation: str):
    from transformers import AutoModelForCausalLM, Qwen2Config

    config = Qwen2Config(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(config, attn_implementation=implementation, dtype=torch.float32)


def _sequences() -> list[list[int]]:
    generator = torch.Generator().manual_seed(1)
    return [torch.randint(0, 97, (n,), generator=generator).tolist() for n in LENGTHS]


@pytest.mark.parametrize("implementation", ["eager", "sdpa", "flex_attention"])
def test_a_padding_free_packed_batch_equals_the_sequences_one_by_one(implementation):
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    model = _model(implementation)
    sequences = _sequences()
    batch = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)(
        [{"input_ids": ids} for ids in sequences])
    assert batch["input_ids"].shape == (1, sum(LENGTHS)) and "attention_mask" not in batch
    grad = implementation != "flex_attention"  # torch: "FlexAttention does not support backward on CPU"
    inputs = {"input_ids": batch["input_ids"], "position_ids": batch["position_ids"], "labels": batch["labels"]}
    with torch.set_grad_enabled(grad):
        packed = model(**inputs, use_cache=False)  # as in training: no cache, so transformers reads the positions
        if grad:
            packed.loss.backward()
    packed_grads = [p.grad.clone() for p in model.parameters()] if grad else []
    model.zero_grad()

    logits, total, count = [], 0.0, 0
    with torch.set_grad_enabled(grad):
        for ids in sequences:
            one = torch.tensor([ids])
            out = model(input_ids=one, labels=one, use_cache=False)
            logits.append(out.logits[0])
            n = len(ids) - 1  # predicted tokens of this sequence
            total, count = total + out.loss * n, count + n
        loss = total / count
        if grad:
            loss.backward()
    torch.testing.assert_close(packed.logits[0], torch.cat(logits), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(packed.loss, loss, rtol=1e-5, atol=1e-6)
    if grad:
        for a, p in zip(packed_grads, model.parameters(), strict=True):
            torch.testing.assert_close(a, p.grad, rtol=1e-4, atol=1e-6)


def test_the_check_can_fail_without_sequence_boundaries():
    # The same packed row read as ONE sequence (positions 0..N-1) lets tokens attend across boundaries.
    model = _model("sdpa")
    sequences = _sequences()
    ids = torch.tensor([sum(sequences, [])])
    with torch.no_grad():
        joined = model(input_ids=ids, position_ids=torch.arange(ids.shape[1])[None], use_cache=False).logits[0]
        alone = torch.cat([model(input_ids=torch.tensor([s]), use_cache=False).logits[0] for s in sequences])
    assert not torch.allclose(joined, alone, atol=1e-3)
