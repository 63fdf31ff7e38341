"""The generating backends (kit.generation.llms): how each reads what its model answers, and how it asks.

`model.device: cuda` for the transformers backend (`kit eval`, curation), on a CPU-only machine.

distilabel's `TransformersLLM.load` hands a `device: cuda` LLM to its CUDA device placement
(`CudaDevicePlacementMixin`) before `LLM.load` has given the LLM its logger, so the placement's first log line
crashed (`'NoneType' object has no attribute 'info'`) on a GPU machine. That placement asks NVML (`pynvml`)
for the GPUs, so here a stand-in module plays NVML's part, and the few `torch.cuda` answers the kit asks for
stand in for the one GPU; the model itself is built on the CPU (nothing here can hold it on a GPU).

What OpenAI-compatible servers answer (a body of no reply, content chunks, finish reasons of a failure, a prompt
too long for the context), each read one reply at a time; and the prompt the in-process backends give their model.
"""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SAMPLE = Path(__file__).resolve().parent.parent / "kit/data/samples/quickstart.jsonl"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from kit.train.tinymodel import make_tiny_model

    texts = [json.loads(line)["problem"] for line in SAMPLE.read_text().splitlines()]
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model", texts)


@pytest.fixture
def placement_file(tmp_path, monkeypatch) -> Path:
    """distilabel's per-host file of which LLM holds which GPU, moved out of the shared temp folder."""
    from distilabel.models.mixins import cuda_device_placement

    path = tmp_path / "distilabel_cuda_device_placement_mixin.json"
    monkeypatch.setattr(cuda_device_placement, "_CUDA_DEVICE_PLACEMENT_MIXIN_FILE", path)
    return path


def stand_in_nvml(device_count: int) -> types.ModuleType:
    """A stand-in for `pynvml` (NVIDIA's NVML bindings): no NVIDIA driver here; it reports `device_count` GPUs."""
    module = types.ModuleType("pynvml", "Test stand-in for NVIDIA's NVML bindings (pynvml): no GPU driver here.")
    module.nvmlInit = lambda: None
    module.nvmlDeviceGetCount = lambda: device_count
    return module


def test_device_cuda_loads_on_the_current_gpu_without_distilabels_placement(tiny_model, placement_file, monkeypatch):
    import torch
    import transformers

    from kit.generation.llms import make_llm
    from kit.recipes import LLMConfig

    monkeypatch.setitem(sys.modules, "pynvml", stand_in_nvml(device_count=4))
    # Stand-in for one visible GPU: the user picked physical GPU 3, torch sees it as its current device 0.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    asked: list[object] = []
    build = transformers.pipeline

    def pipeline_on_the_cpu(*args, device=None, **kwargs):
        """Stand-in for placing the model on the GPU: records the device asked for, builds on the CPU."""
        asked.append(device)
        return build(*args, device="cpu", **kwargs)

    monkeypatch.setattr(transformers, "pipeline", pipeline_on_the_cpu)

    llm = make_llm(LLMConfig(backend="transformers", model=str(tiny_model), device="cuda"))
    llm.load()  # crashed here: AttributeError: 'NoneType' object has no attribute 'info'

    assert asked == ["cuda:0"]  # what torch means by "cuda": the current device, by its index
    assert llm.device == "cuda"  # the recipe's value is kept as written
    # distilabel's whole-host placement did not run: the GPU the user made visible is still the one used
    # (distilabel would have set CUDA_VISIBLE_DEVICES=0, NVML's physical GPU 0) and no GPU is claimed in its file
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3" and not placement_file.exists()
    [reply] = llm.replies([([{"role": "user", "content": "What is 2 + 2?"}], 7)], max_new_tokens=4,
                          temperature=0.0, top_p=1.0)
    assert reply["error"] is None and 0 < reply["output_tokens"] <= 4
    llm.unload()


def test_device_cuda_without_a_gpu_is_one_clear_error(tiny_model, placement_file):
    import torch

    from kit.generation.llms import make_llm
    from kit.recipes import LLMConfig, RecipeError

    assert not torch.cuda.is_available()  # this test is about a machine without one
    llm = make_llm(LLMConfig(backend="transformers", model=str(tiny_model), device="cuda"))
    # in a curation pipeline distilabel names the LLM, and unloads the step when its load fails; a run killed
    # earlier left this name's claim in the placement file
    llm._llm_identifier = "generate_samples-replica-0"
    placement_file.write_text(json.dumps({"generate_samples-replica-0": [0]}))
    with pytest.raises(RecipeError, match=r"device 'cuda' \(model .*\): torch finds no CUDA device"):
        llm.load()
    llm.unload()  # logs the stale claim's removal (it crashed too without a logger), the load error stays the one
    assert json.loads(placement_file.read_text()) == {}


@pytest.mark.parametrize("device", ["cpu", None])
def test_other_devices_load_as_written(tiny_model, device):
    from kit.generation.llms import make_llm
    from kit.recipes import LLMConfig

    llm = make_llm(LLMConfig(backend="transformers", model=str(tiny_model), device=device))
    llm.load()
    assert str(llm._pipeline.model.device) == "cpu" and llm.device == device
    llm.unload()


def test_the_vllm_backend_where_it_cannot_run_is_one_line_with_the_fix(monkeypatch):
    """In-process vLLM needs the vllm package and a CUDA GPU; without them distilabel failed deep in its own code (a
    traceback about pynvml). Here vllm is not installed; with a stand-in for it, torch still finds no GPU."""
    import importlib.util

    from kit.generation.llms import make_llm
    from kit.recipes import LLMConfig, RecipeError

    cfg = LLMConfig(backend="vllm", model="some/model")
    if importlib.util.find_spec("vllm") is None:
        with pytest.raises(RecipeError, match=r"needs the vllm package.*reasoning-hub-kit\[vllm\].*backend=transformers"):
            make_llm(cfg)
        monkeypatch.setitem(sys.modules, "vllm", types.ModuleType("vllm"))
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "vllm" else real(name, *a))
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RecipeError, match="needs a CUDA GPU and torch finds none; use the transformers backend"):
        make_llm(cfg)


# --------------------------------------------------------------------------------------------------
# Reading what a server answers (KitOpenAILLM), one reply at a time

def stand_in_server(answer: Callable[[dict], tuple[int, dict]]) -> Any:
    """KitOpenAILLM asking a stand-in for an OpenAI-compatible server: `answer(request body)` gives the HTTP status
    and JSON body, handed to the real openai client through httpx's MockTransport (so each body is parsed as the
    client parses a real server's)."""
    import httpx
    from openai import AsyncOpenAI

    from kit.generation.llms import KitOpenAILLM

    def handler(request: httpx.Request) -> httpx.Response:
        status, body = answer(json.loads(request.content))
        return httpx.Response(status, json=body)

    llm = KitOpenAILLM(model="teacher", base_url="http://stand-in/v1", max_retries=0)
    llm._clients = [AsyncOpenAI(base_url="http://stand-in/v1", api_key="k", max_retries=0,
                                http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))]
    return llm


def completion(message: dict, finish_reason: str = "stop") -> dict:
    return {"id": "c", "object": "chat.completion", "created": 0, "model": "teacher",
            "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}


SAMPLING = {"max_new_tokens": 100, "temperature": 0.6, "top_p": 0.95}


def ask(llm: Any, *prompts: str) -> list[dict]:
    return llm.replies([([{"role": "user", "content": p}], seed) for seed, p in enumerate(prompts)], **SAMPLING)


# What real servers answer with HTTP 200 besides a plain reply:
BODIES = {
    # OpenRouter, an upstream provider's failure: no choices, an error object (UKGovernmentBEIS/inspect_ai#1534)
    "openrouter": {"id": None, "choices": None, "user_id": "u", "error": {
        "message": "Provider returned error", "code": 429,
        "metadata": {"raw": "Too Many Requests", "provider_name": "Hyperbolic"}}},
    # the Mistral API, a Magistral model: content as chunks, thinking first (spring-projects/spring-ai#5020)
    "magistral": completion({"content": [
        {"type": "thinking", "thinking": [{"type": "text", "text": "2+2 is 4."}]},
        {"type": "text", "text": "The answer is $\\boxed{4}$."}]}),
    "plain": completion({"content": "The answer is 4.", "reasoning": "2+2=4"}),
    "odd": {"id": "c", "object": "chat.completion", "created": 0, "model": "teacher",
            "choices": [{"index": 0, "finish_reason": "stop"}]},  # no message at all
}


def test_a_reply_the_kit_cannot_use_is_that_samples_error_and_content_chunks_are_read():
    """Before, `choices: null` raised TypeError out of `asyncio.gather`, and list content AttributeError in the
    splitter: the whole batch was lost (distilabel filled every column with None), the good replies too."""
    llm = stand_in_server(lambda body: (200, BODIES[body["messages"][-1]["content"]]))
    openrouter, magistral, plain, odd = ask(llm, "openrouter", "magistral", "plain", "odd")
    assert openrouter == {"error": "teacher answered with no reply: Provider returned error (code 429)"}
    assert (magistral["content"], magistral["reasoning_content"], magistral["error"]) == \
           ("The answer is $\\boxed{4}$.", "2+2 is 4.", None)
    assert (plain["content"], plain["reasoning_content"], plain["output_tokens"]) == \
           ("The answer is 4.", "2+2=4", 7)
    assert odd["error"].startswith("the reply of teacher could not be read (AttributeError: ")


@pytest.mark.parametrize("finish", ["abort", "error", "insufficient_system_resource"])
def test_a_reply_the_server_stopped_by_failing_is_an_error_asked_again(finish):
    """vLLM's and SGLang's `abort`, vLLM's and OpenRouter's `error`, DeepSeek's `insufficient_system_resource`: the
    reply was cut by a failure of the server, so it is not kept (it was stored as a usable or a rejected trace)."""
    llm = stand_in_server(lambda body: (200, completion({"content": "So the sum is $\\boxed{1", "reasoning": "r"},
                                                        finish)))
    [reply] = ask(llm, "q")
    assert reply == {"error": f"teacher stopped mid-reply: the server failed (finish_reason {finish})"}


VLLM_400 = ("'max_tokens' or 'max_completion_tokens' is too large: {max_tokens}. This model's maximum context "
            "length is {context} tokens and your request has 2778 input tokens")


@pytest.mark.parametrize(("status", "message", "context", "rejected"), [
    (400, VLLM_400, 4096, True),  # vLLM: this prompt is too long
    (400, "This model's maximum context length is {context} tokens. However, you requested 19591 tokens (9591 in "
          "the messages, {max_tokens} in the completion). Please reduce the length of the messages or completion.",
     16384, True),  # vLLM before, OpenAI, DeepSeek (vllm#20409)
    (400, "The input (61709 tokens) is longer than the model's context length ({context} tokens).", 40960, True),
    (400, VLLM_400, 64, False),  # the context cannot hold max_tokens at all: the recipe's to change, every request
    (400, "temperature must be non-negative", 4096, False),
    (500, VLLM_400, 4096, False),
])
def test_a_prompt_too_long_for_the_context_is_a_rejection_not_an_error_of_every_run(status, message, context,
                                                                                      rejected):
    """Before, HTTP 400 "prompt + max_tokens exceed the context" was a transient `error`: not stored, and every run
    asked it again and failed again."""
    def answer(body: dict) -> tuple[int, dict]:
        text = message.format(max_tokens=body["max_tokens"], context=context)
        return status, {"object": "error", "type": "BadRequestError", "param": None, "code": status,
                        "message": text}

    [reply] = ask(stand_in_server(answer), "a long problem")
    assert reply["error"].startswith(f"teacher answered HTTP {status}: ")
    assert reply.get("reject") == ("context_exceeded" if rejected else None)


# --------------------------------------------------------------------------------------------------
# The prompt of the in-process backends

BOS, USER, ASSISTANT = "<｜begin▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"
# DeepSeek-R1-Distill's template (shortened): it writes {{ bos_token }} itself
R1_DISTILL_TEMPLATE = ("{{ bos_token }}{% for m in messages %}" + USER + "{{ m.content }}{% endfor %}"
                       "{% if add_generation_prompt %}" + ASSISTANT + "<think>\n{% endif %}")


def r1_distill_llama_tokenizer() -> Any:
    """A byte-level tokenizer that, like DeepSeek-R1-Distill-Llama's (a Llama 3 tokenizer), adds BOS to any text
    it encodes with its special tokens, and has R1-Distill's chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from tokenizers.pre_tokenizers import ByteLevel
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(sorted(ByteLevel.alphabet()))}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok)
    fast.add_special_tokens({"bos_token": BOS, "eos_token": "<｜end▁of▁sentence｜>",
                             "pad_token": "<｜end▁of▁sentence｜>", "additional_special_tokens": [USER, ASSISTANT]})
    fast._tokenizer.post_processor = TemplateProcessing(single=f"{BOS} $A",
                                                        special_tokens=[(BOS, fast.convert_tokens_to_ids(BOS))])
    fast.chat_template = R1_DISTILL_TEMPLATE
    return fast


def test_in_process_vllm_gets_the_prompt_as_token_ids_with_one_bos(monkeypatch):
    """vLLM tokenizes a text prompt with the tokenizer's special tokens, so the rendered template (which starts
    with BOS) got a second BOS (vllm#27486). The kit now gives `LLM.generate` the token ids the transformers
    backend generates from: the template's BOS, once. (`kit eval` draws its samples through the same KitVLLM.)"""
    import torch

    from kit.generation.llms import KitTransformersLLM, KitVLLM

    fast = r1_distill_llama_tokenizer()
    bos = fast.convert_tokens_to_ids(BOS)
    assert fast.encode("x")[0] == bos  # the tokenizer does add BOS to a text
    messages = [{"role": "user", "content": "What is 2+2?"}]
    asked: dict[str, list] = {"vllm": [], "given": [], "transformers": []}

    class StandInLLM:
        """Stands in for vLLM's LLM.generate (`vllm.LLM`): records the token ids of each prompt it is given, as
        vLLM makes them - a text prompt tokenized with the tokenizer's special tokens (`add_special_tokens=True`,
        BOS added), a TokensPrompt (`{"prompt_token_ids": ...}`) taken as it is - and answers."""

        def get_tokenizer(self) -> Any:
            return fast

        def generate(self, prompts: list, sampling_params: list, use_tqdm: bool) -> list:
            asked["vllm"].extend(fast.encode(p) if isinstance(p, str) else p["prompt_token_ids"] for p in prompts)
            asked["given"].extend(prompts)
            out = types.SimpleNamespace(text="4</think>The answer is 4.", finish_reason="stop",
                                        token_ids=[1, 2, 3])
            return [types.SimpleNamespace(outputs=[out]) for _ in prompts]

    stand_in_vllm(monkeypatch)
    llm = KitVLLM(model="deepseek-ai/DeepSeek-R1-Distill-Llama-8B")
    llm._model = StandInLLM()
    [reply] = llm.replies([(messages, 1)], **SAMPLING)
    assert reply["content"] == "<think>\n4</think>The answer is 4." and reply["error"] is None  # the opener back

    class StandInModel:
        """Stands in for a transformers model: `generate` records the prompt ids and answers one token."""
        device = "cpu"

        def generate(self, input_ids: Any, attention_mask: Any, **kwargs: Any) -> Any:
            asked["transformers"].append(input_ids[0].tolist())
            return torch.cat([input_ids, torch.tensor([[fast.eos_token_id]])], dim=1)

    local = KitTransformersLLM(model="deepseek-ai/DeepSeek-R1-Distill-Llama-8B")
    local._pipeline = types.SimpleNamespace(tokenizer=fast, model=StandInModel())
    local.replies([(messages, 1)], **SAMPLING)

    [ids] = asked["vllm"]
    assert ids.count(bos) == 1 and ids[0] == bos  # was two: the template's and the tokenizer's
    assert ids == asked["transformers"][0]
    assert asked["given"] == [{"prompt_token_ids": ids}]  # was the rendered text
    assert fast.decode(ids) == f"{BOS}{USER}What is 2+2?{ASSISTANT}<think>\n"


def stand_in_vllm(monkeypatch) -> None:
    """Installs a stand-in `vllm` module (the package is not installed here): SamplingParams keeps its kwargs."""
    vllm = types.ModuleType("vllm", "Test stand-in for the vllm package (not installed here): SamplingParams.")
    vllm.SamplingParams = lambda **kwargs: kwargs
    monkeypatch.setitem(sys.modules, "vllm", vllm)


@pytest.mark.parametrize("backend", ["transformers", "vllm"])
@pytest.mark.parametrize("text, finish, expected", [
    # R1-Distill's template opened <think>: a reply that stops before closing it never gave an answer
    ("Let me add 2 and 2, that gives", "stop", ("unclosed_think", "")),
    ("2 and 2 make 4.</think>The answer is \\boxed{4}.", "stop", (None, "The answer is \\boxed{4}.")),
    ("<think>I open it myself.</think>4", "stop", (None, "4")),  # a model that writes the opener is left as is
])
def test_a_reply_after_a_template_opened_think_reads_with_the_opener(monkeypatch, backend, text, finish, expected):
    """DeepSeek-R1-Distill's (and QwQ's, Qwen3-Thinking's) template ends the generation prompt with `<think>\\n`, so
    the model writes only `</think>`. A reply that stopped before it (an EOS inside the reasoning) was read as the
    answer: the reasoning itself scored and trained on as a solution. The in-process backends now put the opener back,
    as the GRPO rewards do (`kit.core.chat.reopened`)."""
    import torch

    from kit.core.chat import split_reply
    from kit.generation.llms import KitTransformersLLM, KitVLLM

    fast = r1_distill_llama_tokenizer()
    messages = [{"role": "user", "content": "What is 2+2?"}]
    if backend == "vllm":
        class StandInLLM:
            """Stands in for vLLM's LLM.generate (`vllm.LLM`): answers every prompt with `text`."""

            def get_tokenizer(self) -> Any:
                return fast

            def generate(self, prompts: list, sampling_params: list, use_tqdm: bool) -> list:
                out = types.SimpleNamespace(text=text, finish_reason=finish, token_ids=[1, 2, 3])
                return [types.SimpleNamespace(outputs=[out]) for _ in prompts]

        stand_in_vllm(monkeypatch)
        llm = KitVLLM(model="deepseek-ai/DeepSeek-R1-Distill-Llama-8B")
        llm._model = StandInLLM()
    else:
        class StandInModel:
            """Stands in for a transformers model: `generate` answers `text`, then EOS when the reply stopped."""
            device = "cpu"

            def generate(self, input_ids: Any, attention_mask: Any, **kwargs: Any) -> Any:
                reply = fast.encode(text, add_special_tokens=False)
                if finish == "stop":
                    reply.append(fast.eos_token_id)
                return torch.cat([input_ids, torch.tensor([reply])], dim=1)

        llm = KitTransformersLLM(model="deepseek-ai/DeepSeek-R1-Distill-Llama-8B")
        llm._pipeline = types.SimpleNamespace(tokenizer=fast, model=StandInModel())
    sampling = {**SAMPLING, "max_new_tokens": len(fast.encode(text, add_special_tokens=False)) + (finish == "stop")}
    [reply] = llm.replies([(messages, 1)], **sampling)
    assert reply["finish_reason"] == finish
    split = split_reply(reply["content"], reply["reasoning_content"], reply["finish_reason"])
    assert (split.reject, split.solution) == expected
    if expected[0] == "unclosed_think":
        assert split.reasoning == f"<think>\n{text}".strip()  # nothing of the reasoning is lost


def test_in_process_vllm_rejects_a_prompt_too_long_for_the_context_and_answers_the_rest(monkeypatch):
    """vLLM's LLM.generate raises for the whole call when one prompt leaves no room for a reply token in the
    context (its input processor's check), so one long problem lost its batch on every run. That prompt now gets
    the `context_exceeded` rejection a server's HTTP 400 gets (stored, not asked again); the others are answered."""
    from kit.generation.llms import KitVLLM

    fast = r1_distill_llama_tokenizer()
    asked: list[int] = []

    class StandInLLM:
        """Stands in for vLLM's LLM (`vllm.LLM`) with `max_model_len` 64: `generate` raises as vLLM's input
        processor does when a prompt plus one output token exceeds the context, else answers each prompt."""
        llm_engine = types.SimpleNamespace(model_config=types.SimpleNamespace(max_model_len=64))

        def get_tokenizer(self) -> Any:
            return fast

        def generate(self, prompts: list, sampling_params: list, use_tqdm: bool) -> list:
            for prompt in prompts:
                if len(prompt["prompt_token_ids"]) + 1 > 64:
                    raise ValueError(f"The decoder prompt (length {len(prompt['prompt_token_ids'])}) plus the number "
                                     "of requested output tokens (at least 1) is longer than the maximum model length")
            asked.extend(p["seed"] for p in sampling_params)
            out = types.SimpleNamespace(text="4</think>4", finish_reason="stop", token_ids=[1, 2])
            return [types.SimpleNamespace(outputs=[out]) for _ in prompts]

    stand_in_vllm(monkeypatch)
    llm = KitVLLM(model="deepseek-ai/DeepSeek-R1-Distill-Llama-8B")
    llm._model = StandInLLM()
    requests = [([{"role": "user", "content": content}], seed)
                for seed, content in enumerate(["2+2?", "x" * 100, "3+3?"])]
    replies = llm.replies(requests, **SAMPLING)  # raised ValueError: the whole batch was lost
    assert [r["error"] is None for r in replies] == [True, False, True] and asked == [0, 2]
    assert replies[1]["reject"] == "context_exceeded" and "max_model_len 64" in replies[1]["error"]
    assert replies[0]["content"] == replies[2]["content"] == "<think>\n4</think>4"


# --------------------------------------------------------------------------------------------------
# A reply whose parts are marked by special tokens (gpt-oss's harmony format)

def in_process(monkeypatch, backend: str, fast: Any, reply: list[int], finish: str) -> Any:
    """The in-process backend `backend`, its model standing in: it answers every prompt with the token ids `reply`
    (transformers: then EOS when `finish` is stop; vLLM: its text decoded as vLLM decodes it, special tokens
    skipped)."""
    import torch

    from kit.generation.llms import KitTransformersLLM, KitVLLM

    if backend == "vllm":
        class StandInLLM:
            """Stands in for vLLM's LLM.generate (`vllm.LLM`): a CompletionOutput of `reply`."""

            def get_tokenizer(self) -> Any:
                return fast

            def generate(self, prompts: list, sampling_params: list, use_tqdm: bool) -> list:
                ids = reply + ([fast.eos_token_id] if finish == "stop" else [])
                out = types.SimpleNamespace(text=fast.decode(ids, skip_special_tokens=True), finish_reason=finish,
                                            token_ids=ids)
                return [types.SimpleNamespace(outputs=[out]) for _ in prompts]

        stand_in_vllm(monkeypatch)
        llm = KitVLLM(model="openai/gpt-oss-20b")
        llm._model = StandInLLM()
        return llm

    class StandInModel:
        """Stands in for a transformers model: `generate` answers `reply`, then EOS when the reply stopped."""
        device = "cpu"

        def generate(self, input_ids: Any, attention_mask: Any, **kwargs: Any) -> Any:
            ids = reply + ([fast.eos_token_id] if finish == "stop" else [])
            return torch.cat([input_ids, torch.tensor([ids])], dim=1)

    llm = KitTransformersLLM(model="openai/gpt-oss-20b")
    llm._pipeline = types.SimpleNamespace(tokenizer=fast, model=StandInModel())
    return llm


ANALYSIS = "<|channel|>analysis<|message|>2 and 2 make 4."
FINAL = "<|start|>assistant<|channel|>final<|message|>The answer is \\boxed{4}."


@pytest.mark.parametrize("backend", ["transformers", "vllm"])
@pytest.mark.parametrize("template", ["trl", "own"])
@pytest.mark.parametrize("text, finish, expected", [
    (f"{ANALYSIS}<|end|>{FINAL}", "stop", ("2 and 2 make 4.", "The answer is \\boxed{4}.", None)),
    (f"{ANALYSIS}<|end|>", "stop", ("2 and 2 make 4.", "", "no_answer")),  # it never wrote the final channel
    ("<|channel|>analysis<|message|>2 and 2", "length", ("2 and 2", "", "truncated")),
    ("The answer is \\boxed{4}.", "stop", ("", "The answer is \\boxed{4}.", None)),  # no channels: decoded
])
def test_a_harmony_reply_of_an_in_process_backend_reads_as_reasoning_and_answer(monkeypatch, backend, template,
                                                                                text, finish, expected):
    """gpt-oss marks its reasoning and its answer with special tokens (`<|channel|>analysis<|message|>...<|end|>`,
    then `<|start|>assistant<|channel|>final<|message|>...`). Decoding drops them, so the in-process backends
    (curation and `kit eval` with transformers or vLLM) read the whole reply, "analysis2 and 2 make
    4.assistantfinalThe answer is ...", as the answer: the reasoning scored with it and kept as the solution. Such a
    reply is now read by the tokenizer's response template (its own, else TRL's for gpt-oss's chat template), the
    reasoning apart from the answer, as vLLM's server returns them."""
    from kit.core.chat import split_reply
    from tests.tiny_reasoners import gpt_oss_tokenizer

    fast = gpt_oss_tokenizer(template)
    llm = in_process(monkeypatch, backend, fast, fast.encode(text, add_special_tokens=False), finish)
    [reply] = llm.replies([([{"role": "user", "content": "What is 2+2?"}], 1)],
                          **{**SAMPLING, "max_new_tokens": len(fast.encode(text)) + (finish == "stop")})
    assert reply["error"] is None and reply["finish_reason"] == finish
    split = split_reply(reply["content"], reply["reasoning_content"], reply["finish_reason"])
    assert (split.reasoning, split.solution, split.reject) == expected


def test_a_reply_with_special_tokens_and_no_response_template_is_decoded_as_before(monkeypatch, caplog):
    """A model whose tokenizer has no response template (its own or TRL's) is read as before: decoded, its special
    tokens dropped, and a warning says so; the tokens that end a reply (EOS) alone never send it to the parser."""
    from kit.generation.llms import parsed_reply, response_template, special_ids
    from tests.tiny_reasoners import gpt_oss_tokenizer

    fast = gpt_oss_tokenizer("trl")
    fast.chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}"
    assert response_template(fast) is None
    text = f"{ANALYSIS}<|end|>{FINAL}"
    llm = in_process(monkeypatch, "transformers", fast, fast.encode(text, add_special_tokens=False), "stop")
    [reply] = llm.replies([([{"role": "user", "content": "2+2?"}], 1)], **SAMPLING)
    assert reply["content"] == "analysis2 and 2 make 4.assistantfinalThe answer is \\boxed{4}."
    assert reply["reasoning_content"] is None
    assert "no response template" in caplog.text
    ending = fast.encode("4<|return|><|endoftext|>", add_special_tokens=False)
    harmony = gpt_oss_tokenizer("trl")  # with a template: only the ending tokens are special, so it is not asked
    assert parsed_reply(harmony, [], ending, special_ids(harmony)) is None
