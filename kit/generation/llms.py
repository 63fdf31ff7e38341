"""The distilabel LLMs of the generating teachers (see kit.generation.teachers): one seeded request per sample, the
server's `reasoning_content` kept, and a request that fails for good returned as `error`, not raised.

A reply is `{content, reasoning_content, finish_reason, output_tokens, error}`, one per request, in order. `error`
(a text) means no answer this time: the caller keeps nothing and asks again on its next run. It is what a request
gets when the server fails (an HTTP error, a connection lost, a finish reason of `kit.core.chat.FAILED_FINISHES`),
and when the kit cannot read the reply (then the message says why), one reply at a time: the others of the batch
are kept. A request the server refuses for good, because its prompt and `max_new_tokens` do not fit the model's
context, gets `reject: "context_exceeded"` beside its `error`: the generation steps record the sample as rejected
(kit.generation.steps); any other caller sees an `error`.

The in-process backends (transformers, vLLM) decode their model's tokens; a reply whose parts are marked by special
tokens (gpt-oss's harmony channels) is read by the tokenizer's response template instead (`parsed_reply`), so its
reasoning comes apart from its answer, as a server with a reasoning parser returns them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import types
from collections.abc import Mapping
from typing import Any

from distilabel.models.llms import OpenAILLM, TransformersLLM, vLLM
from pydantic import Field, PrivateAttr, SecretStr

from kit.core.chat import FAILED_FINISHES, content_chunks, prompt_opener, reasoning_field, reopened
from kit.core.sources import not_found
from kit.hub.ids import unloadable_model
from kit.recipes import LLMConfig, RecipeError

Reply = dict[str, Any]
Request = tuple[list[dict[str, str]], int]  # (chat messages, seed)


def answered(model: str, content: str | None, reasoning: str | None, finish_reason: str | None,
             output_tokens: int | None) -> Reply:
    """The reply of a backend that answered: an `error` when its finish reason says the server failed mid-reply
    (`FAILED_FINISHES`: asked again on the next run), else the reply as it came."""
    if finish_reason in FAILED_FINISHES:
        return {"error": f"{model} stopped mid-reply: the server failed (finish_reason {finish_reason})"}
    return {"content": content, "reasoning_content": reasoning, "finish_reason": finish_reason,
            "output_tokens": output_tokens, "error": None}


def unreadable(model: str, exc: BaseException) -> Reply:
    """The reply of a request whose answer the kit could not read (one reply, not the batch)."""
    return {"error": f"the reply of {model} could not be read ({type(exc).__name__}: {str(exc)[:200]})"}


def encode_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], str | None]:
    """The prompt of the in-process backends as token ids, and the reasoning opener it ends with (`<think>` when the
    template opens the reasoning, `kit.core.chat.prompt_opener`; None otherwise), which the backend puts back before
    the reply (`kit.core.chat.reopened`): a reply that stops before `</think>` is then reasoning that never closed,
    not an answer.

    The chat template is rendered and tokenized in one call, which adds no special token of the tokenizer's own
    (transformers' `apply_chat_template` tokenizes with `add_special_tokens=False`), so the template's
    `{{ bos_token }}` is the prompt's only BOS. A text prompt would get a second one from vLLM, which tokenizes text
    with the tokenizer's special tokens (vllm#27486, #16976; DeepSeek-R1-Distill-Llama's and Llama 3's templates
    write `{{ bos_token }}`, their tokenizers add it too)."""
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
    ids = list(ids["input_ids"] if isinstance(ids, Mapping) else ids)  # (vLLM's Mistral tokenizer: a list)
    return ids, prompt_opener(tokenizer.decode(ids[-32:]))


def special_ids(tokenizer: Any) -> set[int]:
    """The ids of a tokenizer's special tokens: its named ones and every added token marked special (gpt-oss's
    `<|channel|>`, `<|message|>`), which decoding with `skip_special_tokens` drops."""
    added = getattr(tokenizer, "added_tokens_decoder", None) or {}
    return set(tokenizer.all_special_ids) | {i for i, token in added.items() if getattr(token, "special", False)}


def response_template(tokenizer: Any) -> dict[str, Any] | None:
    """How a model's reply reads back into a message (transformers' response parsing): the tokenizer's own
    `response_template` (from tokenizer_config.json), else the one TRL keeps for a chat template it knows
    (`trl.chat_template_utils.add_response_schema`: gpt-oss, Qwen3, Llama 3, GLM-4.5, Gemma 4, ...); None when
    neither is known (or TRL, of the `train` extra, is not installed)."""
    own = getattr(tokenizer, "response_template", None)
    if own or not isinstance(getattr(tokenizer, "chat_template", None), str):
        return own or None
    try:
        from trl.chat_template_utils import add_response_schema
    except ImportError:
        return None
    known = types.SimpleNamespace(chat_template=tokenizer.chat_template)
    try:
        add_response_schema(known)
    except ValueError:  # a chat template TRL does not know
        return None
    return getattr(known, "response_template", None)


_WARNED: set[str] = set()  # the models whose structured replies were said to be read as text


def parsed_reply(tokenizer: Any, prompt: list[int], reply: list[int],
                 special: set[int]) -> tuple[str | None, str | None] | None:
    """An in-process reply whose structure is in special tokens, read by its tokenizer's response template
    (`response_template`) into (answer, reasoning), as a server's reasoning parser returns them; None for any
    other reply, which the backend decodes.

    Decoding drops the special tokens, and with them the structure of a reply that marks its parts with them:
    gpt-oss's harmony format writes `<|channel|>analysis<|message|>...<|end|><|start|>assistant<|channel|>final
    <|message|>...`, which decodes to one text, `analysis...assistantfinal...`, read whole as the answer. A reply
    holds such structure when a special token comes before its last ordinary token (the tokens that end a reply,
    EOS or `<|return|>`, do not count; `special`: the tokenizer's `special_ids`). Where no response template is
    known (said once, as a warning), or it reads nothing, the reply is decoded as before."""
    body = list(reply)
    while body and body[-1] in special:
        body.pop()
    if not any(i in special for i in body):
        return None
    template = response_template(tokenizer)
    if template is None:
        name = getattr(tokenizer, "name_or_path", "") or "the model"
        if name not in _WARNED:
            _WARNED.add(name)
            logging.getLogger(__name__).warning(
                "the replies of %s mark their parts with special tokens, which decoding drops; its tokenizer has no "
                "response template (`response_template` in tokenizer_config.json) and TRL (`pip install trl`) knows "
                "none for its chat template, so each reply is read as its decoded text", name)
        return None
    try:
        message = tokenizer.parse_response(list(reply), schema=template, prefix=list(prompt))
    except Exception:  # noqa: BLE001 - a reply the template cannot read (a malformed tool call): decoded instead
        return None
    content = message.get("content") if isinstance(message.get("content"), str) else None
    reasoning = reasoning_field(message)
    if not (content or "").strip() and not (isinstance(reasoning, str) and reasoning.strip()):
        return None
    return content, reasoning if isinstance(reasoning, str) else None


def missing_key(cfg: LLMConfig, where: str) -> str | None:
    """Why a recipe's model (`where`: its place in the recipe) cannot be asked, in one line: backend openai with
    no API key in the environment variable it names (read when the model loads, so better said first); else None."""
    if cfg.backend == "openai" and not os.environ.get(cfg.api_key_env):
        return (f"the environment variable {cfg.api_key_env} ({where}.api_key_env) holds no API key: export "
                f"{cfg.api_key_env}=... first (any value for a server that checks none; a key never goes in a recipe)")
    return None


def unreachable_model(cfg: LLMConfig, where: str) -> str | None:
    """Why a recipe's in-process model (backend transformers or vllm) cannot load, in one line with the fix, said
    before the pipeline starts (`kit.hub.ids.unloadable_model`: a Hub id out of reach and not in the cache);
    else None. Offline, distilabel logged the step's failure in tens of lines before the kit's own, which did not
    say why."""
    if cfg.backend not in ("transformers", "vllm") or (error := unloadable_model(cfg.model, cfg.revision)) is None:
        return None
    return f"{where}.model {not_found(cfg.model, 'model', error)}"


class KitOpenAILLM(OpenAILLM):
    """Any OpenAI-compatible server (vLLM serve, SGLang, TGI, hosted providers).

    The API key is read from the environment variable named by `api_key_env` when the step loads, so it is
    in no recipe, no pipeline.yaml and no log. `base_url` may list several servers of the same model,
    comma-separated (one vLLM server per node): each request goes to one of them, picked by its seed.
    """

    api_key_env: str = "OPENAI_API_KEY"  # (distilabel leaves `api_key` out of pipeline.yaml)
    _clients: list[Any] = PrivateAttr(default_factory=list)

    def load(self) -> None:
        from openai import AsyncOpenAI

        key = os.environ.get(self.api_key_env)
        if not key:
            raise ValueError(f"the environment variable {self.api_key_env} holds no API key")
        self.api_key = SecretStr(key)
        urls = [u.strip() for u in (self.base_url or "").split(",") if u.strip()]
        listed, self.base_url = self.base_url, urls[0] if urls else self.base_url
        try:
            super().load()
        finally:
            self.base_url = listed
        self._clients = [self._aclient, *(AsyncOpenAI(base_url=url, api_key=key, max_retries=self.max_retries,
                                                      timeout=self.timeout, default_headers=self.default_headers)
                                          for url in urls[1:])]

    def replies(self, requests: list[Request], json_schema: dict[str, Any] | None = None,
                **sampling: Any) -> list[Reply]:
        """`json_schema`: the reply must be a JSON object of that schema (structured outputs, strict)."""
        replies = self.event_loop.run_until_complete(asyncio.gather(
            *(self._reply(m, s, sampling, json_schema) for m, s in requests), return_exceptions=True))
        for reply in replies:
            if isinstance(reply, BaseException) and not isinstance(reply, Exception):
                raise reply  # a cancellation or an interrupt stops the batch
        return [unreadable(self.model, r) if isinstance(r, BaseException) else r for r in replies]

    async def _reply(self, messages: list[dict[str, str]], seed: int, sampling: dict[str, Any],
                     json_schema: dict[str, Any] | None = None) -> Reply:
        import openai

        extra: dict[str, Any] = {}
        if json_schema is not None:
            extra["response_format"] = {"type": "json_schema", "json_schema": {
                "name": str(json_schema.get("title") or "reply"), "schema": json_schema, "strict": True}}
        try:
            client = self._clients[seed % len(self._clients)]
            completion = await client.chat.completions.create(
                model=self.model, messages=messages, n=1, seed=seed, max_tokens=sampling["max_new_tokens"],
                temperature=sampling["temperature"], top_p=sampling["top_p"], **extra)
        except openai.APIStatusError as exc:
            message = _server_message(exc)
            reply = {"error": f"{self.model} answered HTTP {exc.status_code}: {message[:200]}"}
            if exc.status_code in (400, 413, 422) and _context_exceeded(message, sampling["max_new_tokens"]):
                reply["reject"] = "context_exceeded"
            return reply
        except openai.APIError as exc:  # connection refused, reset or timed out, after the client's retries
            return {"error": f"the server of {self.model} at {client.base_url} is unreachable ({type(exc).__name__})"}
        try:
            return self._read(completion)
        except Exception as exc:  # a reply of a shape no server was seen to send: this sample's error
            return unreadable(self.model, exc)

    def _read(self, completion: Any) -> Reply:
        """The reply in a completion. OpenRouter answers an upstream provider's failure with HTTP 200 and a body
        of `"choices": null` and an `error` object (UKGovernmentBEIS/inspect_ai#1534,
        openai/openai-agents-python#2850): an `error` with its message. The Mistral API sends a reasoning model's
        `content` as a list of chunks (`kit.core.chat.content_chunks`)."""
        if not completion.choices:
            problem = (completion.model_extra or {}).get("error")
            return {"error": f"{self.model} answered with no reply: {_error_text(problem) or 'no choices'}"[:300]}
        choice = completion.choices[0]
        message = choice.message
        content, thinking = content_chunks(message.content)
        return answered(self.model, content, reasoning_field(message.model_extra or {}) or thinking,
                        choice.finish_reason, completion.usage.completion_tokens if completion.usage else None)


def _error_text(error: Any) -> str:
    """The message of a server's error object (`{"message": ..., "code": ...}`), or the text it is."""
    if isinstance(error, Mapping):
        code = f" (code {error['code']})" if error.get("code") is not None else ""
        return f"{error.get('message') or ''}{code}".strip()
    return str(error or "")


def _server_message(exc: Any) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    return str((error or {}).get("message") or exc.message)


# What a server answers (HTTP 400) for a prompt that, with max_tokens, does not fit the model's context - vLLM:
# "'max_tokens' or 'max_completion_tokens' is too large: 8000. This model's maximum context length is 4096 tokens
# and your request has 2778 input tokens", or "This model's maximum context length is 16384 tokens. However, you
# requested 19591 tokens (9591 in the messages, 10000 in the completion)" (vllm#20409; OpenAI and DeepSeek say the
# same, evalstate/fast-agent#621); SGLang: "The input (61709 tokens) is longer than the model's context length
# (40960 tokens)" (QwenLM/Qwen3#1321); OpenAI's code `context_length_exceeded`.
_CONTEXT_EXCEEDED = re.compile(r"maximum context length is (\d+)|longer than the model's context length \((\d+)"
                               r"|context_length_exceeded", re.IGNORECASE)


def _context_exceeded(message: str, max_new_tokens: int) -> bool:
    """Whether the server refused this request because its prompt is too long for the context: asking again
    can never succeed. Not when the context cannot hold `max_new_tokens` at all: then every request fails and the
    recipe's `max_new_tokens` is what to change (an `error`, which says so)."""
    match = _CONTEXT_EXCEEDED.search(message)
    if not match:
        return False
    context = match.group(1) or match.group(2)
    return context is None or int(context) > max_new_tokens


class KitTransformersLLM(TransformersLLM):
    """A local model through transformers (small models, CPU, tests); one seeded sample per request.

    No `token`: distilabel's TransformersLLM reads HF_TOKEN into one by default, and its serializer keeps every
    field but `api_key`, so the token was written in clear in pipeline.yaml (which `kit publish` uploads).
    transformers finds the token itself, through huggingface_hub (HF_TOKEN or the saved login).

    `device: cuda` means what it means to torch: the current CUDA device (`cuda:0` unless the process chose
    another), among those CUDA_VISIBLE_DEVICES leaves visible. distilabel's TransformersLLM would instead hand
    `cuda` to its whole-host GPU placement (`CudaDevicePlacementMixin`): it needs `pynvml`, picks a GPU by
    NVML's physical index and writes it to CUDA_VISIBLE_DEVICES (overriding the user's), keeps a per-host
    claim file in the temp folder, and logs through `self._logger` before `LLM.load` has set it - so it
    crashed (`'NoneType' object has no attribute 'info'`). The kit names the device instead, so that
    placement never runs.
    """

    token: SecretStr | None = Field(default=None, exclude=True)

    def load(self) -> None:
        if self._logger is None:  # what LLM.load sets, needed by distilabel code that may run before it
            self._logger = logging.getLogger(f"distilabel.llm.{self.model_name}")
        written, self.device = self.device, _torch_device(self.device, self.model)
        try:
            super().load()
        finally:
            self.device = written  # the recipe's value (pipeline.yaml shows it); the model's own is on the model

    def replies(self, requests: list[Request], json_schema: dict[str, Any] | None = None,
                **sampling: Any) -> list[Reply]:
        """`json_schema` is ignored (no constrained decoding here): the prompt has to ask for the JSON."""
        import torch

        tokenizer, model = self._pipeline.tokenizer, self._pipeline.model
        special = special_ids(tokenizer)
        out = []
        for messages, seed in requests:
            torch.manual_seed(seed)
            prompt, opener = encode_prompt(tokenizer, messages)
            ids = torch.tensor([prompt], device=model.device)
            sample = sampling["temperature"] > 0
            generated = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                       max_new_tokens=sampling["max_new_tokens"], do_sample=sample,
                                       temperature=sampling["temperature"] if sample else None,
                                       top_p=sampling["top_p"] if sample else None,
                                       pad_token_id=tokenizer.pad_token_id)
            new = generated[0, ids.shape[1]:]
            ended = tokenizer.eos_token_id is not None and bool((new == tokenizer.eos_token_id).any())
            content, reasoning = parsed_reply(tokenizer, prompt, new.tolist(), special) or (
                reopened(tokenizer.decode(new, skip_special_tokens=True), opener), None)
            out.append(answered(self.model, content, reasoning,
                                "stop" if ended or len(new) < sampling["max_new_tokens"] else "length",
                                int(len(new))))
        return out


def _torch_device(device: str | int | None, model: str) -> str | int | None:
    """`cuda` named as the device torch means by it (`cuda:N`, the current one); anything else as written."""
    if device != "cuda":
        return device
    import torch

    if not torch.cuda.is_available():
        raise RecipeError(f"device 'cuda' (model {model}): torch finds no CUDA device (torch {torch.__version__}, "
                          f"CUDA {torch.version.cuda or 'not built in'}); use device cpu, or check the driver "
                          "and CUDA_VISIBLE_DEVICES")
    return f"cuda:{torch.cuda.current_device()}"


class KitVLLM(vLLM):
    """distilabel's in-process vLLM with per-request seeds (GPU machines, `pip install .[vllm]`). The prompts go to
    `LLM.generate` as token ids (`{"prompt_token_ids": ...}`, vLLM's TokensPrompt), built as the transformers
    backend builds them (`encode_prompt`): a text prompt would start with two BOS tokens.

    A prompt that leaves no room for a reply token in the model's context (`max_model_len`) is not sent: vLLM
    raises for it (`The decoder prompt (length N) plus the number of requested output tokens (at least 1) is longer
    than the maximum model length`, its input processor's check), which failed the whole batch. It gets the
    `context_exceeded` rejection an OpenAI-compatible server's HTTP 400 gets; a prompt that fits but leaves less
    than `max_new_tokens` is generated, and vLLM ends its reply at the context (`length`: truncated)."""

    def replies(self, requests: list[Request], json_schema: dict[str, Any] | None = None,
                **sampling: Any) -> list[Reply]:
        """`json_schema`: the reply is constrained to a JSON object of that schema (structured outputs)."""
        from vllm import SamplingParams

        structured: dict[str, Any] = {}
        if json_schema is not None:
            try:  # vLLM >= 0.11
                from vllm.sampling_params import StructuredOutputsParams
                structured["structured_outputs"] = StructuredOutputsParams(json=json_schema)
            except ImportError:  # older vLLM: guided decoding
                from vllm.sampling_params import GuidedDecodingParams
                structured["guided_decoding"] = GuidedDecodingParams(json=json_schema)
        tokenizer = self._model.get_tokenizer()
        special = special_ids(tokenizer)
        encoded = [encode_prompt(tokenizer, m) for m, _ in requests]
        context = self._context()
        out: list[Reply | None] = [None] * len(requests)
        asked = []
        for i, (ids, _) in enumerate(encoded):
            if context is not None and len(ids) >= context:
                out[i] = {"error": f"the prompt ({len(ids)} tokens) leaves no room for a reply in the context of "
                                   f"{self.model} (max_model_len {context})", "reject": "context_exceeded"}
            else:
                asked.append(i)
        params = [SamplingParams(n=1, seed=requests[i][1], max_tokens=sampling["max_new_tokens"],
                                 temperature=sampling["temperature"], top_p=sampling["top_p"], **structured)
                  for i in asked]
        results = self._model.generate([{"prompt_token_ids": encoded[i][0]} for i in asked], sampling_params=params,
                                       use_tqdm=False) if asked else []
        for i, result in zip(asked, results, strict=True):
            reply = result.outputs[0]
            content, reasoning = parsed_reply(tokenizer, encoded[i][0], list(reply.token_ids), special) or (
                reopened(reply.text, encoded[i][1]), None)
            out[i] = answered(self.model, content, reasoning, reply.finish_reason, len(reply.token_ids))
        return out  # type: ignore[return-value]

    def _context(self) -> int | None:
        """The model's context as the engine set it (`max_model_len`: the recipe's, else the model config's), or
        the recipe's value when the engine does not say; None when neither is known (vLLM then checks)."""
        config = getattr(getattr(self._model, "llm_engine", None), "model_config", None)
        known = getattr(config, "max_model_len", None) or (self.extra_kwargs or {}).get("max_model_len")
        return int(known) if known else None


def _check_vllm(model: str) -> None:
    """RecipeError (one line, with the fix) where in-process vLLM cannot run: without the vllm package or a CUDA GPU
    (distilabel would fail deep in its own code, with a traceback about pynvml)."""
    import importlib.util

    fix = ("use the transformers backend here (--set model.backend=transformers, or teacher.backend in a data "
           "recipe), or an OpenAI-compatible server")
    if importlib.util.find_spec("vllm") is None:
        raise RecipeError(f"backend vllm (model {model}) needs the vllm package, which is not installed: on a GPU "
                          f"machine pip install \"reasoning-hub-kit[vllm]\"; else {fix}")
    import torch

    if not torch.cuda.is_available():
        raise RecipeError(f"backend vllm (model {model}) needs a CUDA GPU and torch finds none; {fix}")


def make_llm(cfg: LLMConfig) -> Any:
    """The distilabel LLM of a model the pipeline asks (teacher, reformatter, judge)."""
    if cfg.backend == "openai":
        kwargs = {"base_url": cfg.base_url} if cfg.base_url else {}
        return KitOpenAILLM(model=cfg.model, api_key_env=cfg.api_key_env, max_retries=cfg.max_retries,
                            timeout=int(cfg.timeout_s), **kwargs)
    if cfg.backend == "transformers":
        return KitTransformersLLM(model=cfg.model, device=cfg.device, revision=cfg.revision or "main")
    if cfg.backend == "vllm":
        _check_vllm(cfg.model)
        return KitVLLM(model=cfg.model, revision=cfg.revision,
                       extra_kwargs={"tensor_parallel_size": cfg.tensor_parallel_size, "max_model_len": cfg.max_model_len})
    raise ValueError(f"backend {cfg.backend!r} is not a model")
