"""The arena's transformers backend (`kit.demo.backends.TransformersBackend`): what it costs per token.

No timing is asserted: the tests count what the backend does (decode calls, the grad mode and the dtype it
generates in). The model is a tiny random one loaded by the code under test; only a CUDA GPU, which this
machine lacks, is played by a stand-in (`stand_in_cuda_gpu`), named as such.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from kit.demo.backends import ModelSpec, TransformersBackend, _cuda_dtype

SAMPLE = Path(__file__).resolve().parent.parent / "kit/data/samples/quickstart.jsonl"
MESSAGES = [{"role": "user", "content": "What is 2 + 2?"}]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A random float32 checkpoint (what `kit train` writes for a model built from a config)."""
    from kit.train.tinymodel import make_tiny_model

    texts = [json.loads(line)["problem"] for line in SAMPLE.read_text().splitlines()]
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model", texts)


@pytest.fixture
def loaded(tiny_model, monkeypatch) -> tuple[TransformersBackend, Any, Any]:
    """The backend, its model and tokenizer; the model never stops early (no end-of-sequence token)."""
    backend = TransformersBackend(ModelSpec("transformers", str(tiny_model)))
    model, tokenizer, _, _ = backend.load()
    monkeypatch.setattr(model.generation_config, "eos_token_id", None)
    return backend, model, tokenizer


def spy_generate(model: Any, monkeypatch, gate: threading.Event | None = None) -> tuple[threading.Event, list[bool]]:
    """Calls the real `model.generate`; records whether it ran in inference mode, and when it returned. With
    `gate`, generation pauses after its first token until the gate opens."""
    import torch

    finished, inference_mode = threading.Event(), []
    generate = model.generate

    def spied(*args: Any, **kwargs: Any) -> Any:
        inference_mode.append(torch.is_inference_mode_enabled())
        if gate is not None:
            streamer, put, puts = kwargs["streamer"], kwargs["streamer"].put, []

            def put_then_wait(value: Any) -> None:
                put(value)
                puts.append(value)
                if len(puts) == 2:  # the prompt, then the first token
                    gate.wait(60)

            streamer.put = put_then_wait
        try:
            return generate(*args, **kwargs)
        finally:
            finished.set()

    monkeypatch.setattr(model, "generate", spied)
    return finished, inference_mode


def test_a_reader_that_fell_behind_catches_up_with_two_decodes(loaded, monkeypatch):
    backend, model, tokenizer = loaded
    gate = threading.Event()
    finished, _ = spy_generate(model, monkeypatch, gate)
    calls = []
    decode = tokenizer.decode
    monkeypatch.setattr(tokenizer, "decode", lambda ids, **kw: calls.append(len(ids)) or decode(ids, **kw))

    stream = backend.stream(MESSAGES, max_new_tokens=48, temperature=0.0, stop=threading.Event())
    first = next(stream)
    assert first.tokens == 1 and first.text
    gate.set()
    assert finished.wait(60)  # the reader is now behind: 47 tokens are waiting for it
    before = len(calls)
    rest = list(stream)

    assert sum(piece.tokens for piece in rest) == 47 and "".join(p.text for p in rest)
    # one look at the queue, one incremental decode (two calls), for all the tokens waiting - the reader
    # decoded twice per token before, holding the GIL the generating thread needs each time
    assert len(calls) - before == 2


def test_generation_runs_in_inference_mode_in_float32_on_the_cpu(loaded, monkeypatch):
    import torch

    backend, model, _ = loaded
    _, inference_mode = spy_generate(model, monkeypatch)
    pieces = list(backend.stream(MESSAGES, max_new_tokens=8, temperature=0.7, stop=threading.Event()))
    assert inference_mode == [True]  # no autograd bookkeeping per op in the generating thread
    assert sum(p.tokens for p in pieces) == 8 and model.dtype == torch.float32 and model.device.type == "cpu"


@pytest.fixture
def stand_in_cuda_gpu(monkeypatch) -> None:
    """Stand-in for one CUDA GPU with bf16 (no GPU here): torch.cuda says it is there, and moving a module
    to it leaves the module on the CPU, where the dtype it was loaded in can be seen and run."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    to = torch.nn.Module.to

    def to_stays_on_the_cpu(self: Any, *args: Any, **kwargs: Any) -> Any:
        args = tuple(torch.device("cpu") if isinstance(a, (str, torch.device)) and torch.device(a).type == "cuda"
                     else a for a in args)
        return to(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "to", to_stays_on_the_cpu)


def test_on_a_cuda_gpu_a_float32_checkpoint_runs_in_bf16(tiny_model, stand_in_cuda_gpu):
    import torch

    backend = TransformersBackend(ModelSpec("transformers", str(tiny_model)))
    model, _, _, _ = backend.load()
    assert model.dtype == torch.bfloat16  # was the checkpoint's float32: twice the bytes per token
    pieces = list(backend.stream(MESSAGES, max_new_tokens=4, temperature=0.0, stop=threading.Event()))
    assert sum(p.tokens for p in pieces) >= 1


@pytest.mark.parametrize(("saved", "bf16", "expected"), [
    ("float32", True, "bfloat16"), ("float32", False, "float16"), (None, True, "bfloat16"),
    ("bfloat16", True, "bfloat16"), ("bfloat16", False, "float16"), ("float16", True, "float16"),
])
def test_the_cuda_dtype_keeps_a_half_precision_checkpoint_and_halves_a_float32_one(saved, bf16, expected):
    import torch

    assert _cuda_dtype(saved, bf16) == getattr(torch, expected)
    assert _cuda_dtype(getattr(torch, saved) if saved else None, bf16) == getattr(torch, expected)


def test_tokens_that_arrive_together_are_still_split_at_the_end_of_the_thinking(reasoners, monkeypatch):
    """A reader that fell behind gets `</think>` and the answer in one batch: the answer's tokens still count
    as the answer's, as when they arrive one by one."""
    from kit.demo.arena import prompt_messages
    from kit.demo.stream import ThinkStream
    from tests.tiny_reasoners import arena_problem

    backend = TransformersBackend(ModelSpec("transformers", str(reasoners["right"])))
    model, tokenizer, _, _ = backend.load()
    messages = prompt_messages(arena_problem()[0], "math")
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    generated = model.generate(**inputs, max_new_tokens=96, do_sample=False)[0, inputs["input_ids"].shape[1]:].tolist()
    closer = tokenizer.convert_tokens_to_ids("</think>")
    thinking = generated.index(closer) + 1  # the tags count as thinking

    gate = threading.Event()
    finished, _ = spy_generate(model, monkeypatch, gate)
    stream, pieces = ThinkStream(), backend.stream(messages, max_new_tokens=96, temperature=0.0, stop=threading.Event())
    first = next(pieces)
    assert first.text == "<think>" and first.tokens == 1
    stream.feed(first.text, first.tokens)
    gate.set()
    assert finished.wait(60)  # everything else is waiting for the reader, </think> and the answer with it
    for piece in pieces:
        stream.feed(piece.text, piece.tokens)
    stream.finish()
    assert (stream.thinking_tokens, stream.answer_tokens) == (thinking, len(generated) - thinking)
    assert stream.answer.endswith("\\boxed{38}$.")


@pytest.mark.parametrize("template", ["trl", "own"])
@pytest.mark.parametrize("step", [1, 5, 1000])  # tokens per batch the reader gets (1000: the whole reply at once)
def test_a_harmony_reply_streams_its_analysis_as_thinking_and_its_final_channel_as_the_answer(
        tiny_model, tmp_path, monkeypatch, template, step):
    """gpt-oss marks its reasoning and its answer with special tokens, which the arena hides: its reply showed as
    one answer, "analysis2 and 2 make 4.assistantfinalThe answer is 4.". Once a hidden token is followed by more of
    the reply, the arena reads it with the tokenizer's response template (the tokenizer folder's own, or TRL's for
    gpt-oss's chat template), streaming, so the analysis channel shows as thinking and the final one as the answer.
    The model is a stand-in (its `generate` streams a harmony reply's token ids): nothing here can run gpt-oss; the
    tokenizer is loaded from its folder by the code under test."""
    import shutil

    import torch

    from kit.demo.stream import ThinkStream
    from tests.tiny_reasoners import gpt_oss_tokenizer

    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        (folder / name).unlink(missing_ok=True)
    gpt_oss_tokenizer(template).save_pretrained(folder)
    backend = TransformersBackend(ModelSpec("transformers", str(folder)))
    model, tokenizer, _, _ = backend.load()
    thinking = tokenizer.encode("<|channel|>analysis<|message|>2 and 2 make 4.<|end|><|start|>assistant<|channel|>"
                                "final<|message|>", add_special_tokens=False)  # the markers count as thinking
    reply = thinking + tokenizer.encode("The answer is $\\boxed{4}$.<|return|>", add_special_tokens=False)

    def stand_in_generate(input_ids: Any, streamer: Any, **kwargs: Any) -> None:
        """Stands in for gpt-oss's `generate`: streams the harmony reply, `step` tokens at a time."""
        streamer.put(input_ids)
        for start in range(0, len(reply), step):
            streamer.put(torch.tensor(reply[start:start + step]))
        streamer.end()

    monkeypatch.setattr(model, "generate", stand_in_generate)
    stream = ThinkStream()
    for piece in backend.stream(MESSAGES, max_new_tokens=64, temperature=0.0, stop=threading.Event()):
        stream.feed(piece.text, piece.tokens, thinking=piece.thinking)
    stream.finish()
    assert (stream.thinking, stream.answer) == ("2 and 2 make 4.", "The answer is $\\boxed{4}$.")
    assert (stream.thinking_tokens, stream.answer_tokens) == (len(thinking), len(reply) - len(thinking))


def test_a_hub_model_out_of_reach_is_said_on_its_side_at_once(monkeypatch, tmp_path):
    """Offline, a Hub model not in the cache is one line on its side of the arena, naming the fix, before
    transformers retries each file."""
    from huggingface_hub import constants

    from kit.demo.backends import BackendError

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    backend = TransformersBackend(ModelSpec("transformers", "someorg/no-such-model"))
    with pytest.raises(BackendError, match=r"^someorg/no-such-model: no such folder, and no Hub model "
                                           r"someorg/no-such-model could be reached \(OfflineModeIsEnabled: .* - reach "
                                           r"the Hub \(HF_HUB_OFFLINE unset"):
        backend.load()
