"""The distilabel LLMs of the generating teachers (see kit.generation.teachers): one seeded request per sample, the
server's `reasoning_content` kept, and a request that fails for good returned as `error`, not raised."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from distilabel.models.llms import OpenAILLM, TransformersLLM, vLLM
from pydantic import PrivateAttr, SecretStr

from kit.core.chat import reasoning_field
from kit.recipes import LLMConfig, RecipeError

Reply = dict[str, Any]
Request = tuple[list[dict[str, str]], int]  # (chat messages, seed)


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
        return self.event_loop.run_until_complete(
            asyncio.gather(*(self._reply(m, s, sampling, json_schema) for m, s in requests)))

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
            return {"error": f"{self.model} answered HTTP {exc.status_code}: {_server_message(exc)}"}
        except openai.APIError as exc:  # connection refused, reset or timed out, after the client's retries
            return {"error": f"the server of {self.model} at {client.base_url} is unreachable ({type(exc).__name__})"}
        choice = completion.choices[0]
        message = choice.message
        extra = message.model_extra or {}
        return {"content": message.content, "reasoning_content": reasoning_field(extra),
                "finish_reason": choice.finish_reason,
                "output_tokens": completion.usage.completion_tokens if completion.usage else None, "error": None}


def _server_message(exc: Any) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    return str((error or {}).get("message") or exc.message)[:200]


class KitTransformersLLM(TransformersLLM):
    """A local model through transformers (small models, CPU, tests); one seeded sample per request.

    `device: cuda` means what it means to torch: the current CUDA device (`cuda:0` unless the process chose
    another), among those CUDA_VISIBLE_DEVICES leaves visible. distilabel's TransformersLLM would instead hand
    `cuda` to its whole-host GPU placement (`CudaDevicePlacementMixin`): it needs `pynvml`, picks a GPU by
    NVML's physical index and writes it to CUDA_VISIBLE_DEVICES (overriding the user's), keeps a per-host
    claim file in the temp folder, and logs through `self._logger` before `LLM.load` has set it - so it
    crashed (`'NoneType' object has no attribute 'info'`). The kit names the device instead, so that
    placement never runs.
    """

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
        out = []
        for messages, seed in requests:
            torch.manual_seed(seed)
            ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                return_dict=True)
            ids = {k: v.to(model.device) for k, v in ids.items()}
            sample = sampling["temperature"] > 0
            generated = model.generate(**ids, max_new_tokens=sampling["max_new_tokens"], do_sample=sample,
                                       temperature=sampling["temperature"] if sample else None,
                                       top_p=sampling["top_p"] if sample else None,
                                       pad_token_id=tokenizer.pad_token_id)
            new = generated[0, ids["input_ids"].shape[1]:]
            ended = tokenizer.eos_token_id is not None and bool((new == tokenizer.eos_token_id).any())
            out.append({"content": tokenizer.decode(new, skip_special_tokens=True), "reasoning_content": None,
                        "finish_reason": "stop" if ended or len(new) < sampling["max_new_tokens"] else "length",
                        "output_tokens": int(len(new)), "error": None})
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
    """distilabel's in-process vLLM with per-request seeds (GPU machines, `pip install .[vllm]`)."""

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
        prompts = [tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=False) for m, _ in requests]
        params = [SamplingParams(n=1, seed=seed, max_tokens=sampling["max_new_tokens"],
                                 temperature=sampling["temperature"], top_p=sampling["top_p"], **structured)
                  for _, seed in requests]
        results = self._model.generate(prompts, sampling_params=params, use_tqdm=False)
        return [{"content": r.outputs[0].text, "reasoning_content": None, "finish_reason": r.outputs[0].finish_reason,
                 "output_tokens": len(r.outputs[0].token_ids), "error": None} for r in results]


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
