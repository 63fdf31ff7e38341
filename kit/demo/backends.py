"""Where the arena's answers come from: a local transformers model, or an OpenAI-compatible endpoint.

A model is named the way `kit demo --left/--right` and the `ARENA_LEFT`/`ARENA_RIGHT` settings take it:

- a local model folder, or a Hub model id (`deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B`): loaded with
  transformers, on the GPU when there is one;
- an endpoint URL (`http://localhost:8000/v1`, `https://router.huggingface.co/v1`), optionally followed by
  `#MODEL` to pick the served model (without it, the first model the server lists): asked with the
  `openai` client, streaming. Works with `vllm serve`, SGLang, TGI and hosted providers.

Each backend's `stream(messages, ...)` yields `Piece`s: text, whether the server marked it as thinking,
and how many tokens it carries. Setting `stop` ends the generation early.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from kit.core.chat import REASONING_FIELDS, prompt_opener, reasoning_field
from kit.demo.stream import CLOSERS, OPENERS


class BackendError(Exception):
    """A model that cannot be loaded or asked; the message is shown on that model's side."""


@dataclass(frozen=True)
class ModelSpec:
    backend: Literal["transformers", "openai"]
    model: str  # folder or Hub id; for an endpoint the served model name ("" = the first one listed)
    base_url: str | None = None

    @property
    def label(self) -> str:
        if self.backend == "openai":
            return f"{self.model or 'served model'} @ {self.base_url}"
        return self.model


@dataclass(frozen=True)
class Piece:
    text: str
    thinking: bool = False  # the server sent it as reasoning (`reasoning_content`)
    tokens: int = 0
    opens_thinking: bool = False  # the chat template opened the thinking: what follows is thinking


def parse_model(text: str) -> ModelSpec:
    """The `ModelSpec` of a `--left/--right` value (see the module doc); ValueError when it names nothing."""
    from kit.hub.ids import is_repo_id

    text = text.strip()
    if text.startswith(("http://", "https://")):
        url, _, model = text.partition("#")
        return ModelSpec("openai", model.strip(), url.rstrip("/"))
    if Path(text).expanduser().is_dir():
        return ModelSpec("transformers", str(Path(text).expanduser()))
    if not is_repo_id(text, bare=True):
        raise ValueError(f"{text!r} is not a model folder, a Hub model id or an http(s) endpoint")
    return ModelSpec("transformers", text)


def api_key(spec: ModelSpec, side: str) -> str:
    """The key sent to an endpoint: `ARENA_<SIDE>_API_KEY`, else `ARENA_API_KEY`, else `HF_TOKEN` for
    Hugging Face's own hosts only (a token is never sent to a third party), else "EMPTY" (vLLM's default)."""
    for name in (f"ARENA_{side.upper()}_API_KEY", "ARENA_API_KEY"):
        if os.environ.get(name):
            return os.environ[name]
    host = urlsplit(spec.base_url or "").hostname or ""
    if os.environ.get("HF_TOKEN") and (host == "huggingface.co" or host.endswith(".huggingface.co")):
        return os.environ["HF_TOKEN"]
    return "EMPTY"


def make_backend(spec: ModelSpec, side: str) -> TransformersBackend | OpenAIBackend:
    if spec.backend == "openai":
        return OpenAIBackend(spec, api_key(spec, side))
    return TransformersBackend(spec)


# --------------------------------------------------------------------------------------------------
# transformers


class _TokenQueue:
    """A transformers streamer (`put`/`end`) that hands the generated token ids to the reading thread.

    The reader takes every id that has arrived since it last looked, in one batch: a reader that fell behind
    (the GIL busy with the other side's generation, a slow consumer) catches up with one decode, instead of
    decoding, and holding the GIL, once per token while the generating thread waits for it.
    """

    def __init__(self) -> None:
        self._arrived = threading.Condition()
        self._ids: list[int] = []
        self._ended = False
        self._error: BaseException | None = None
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:  # generate() first puts the prompt
            self._prompt_seen = True
            return
        ids = value.reshape(-1).tolist()  # a CPU tensor: generate() hands the streamer its tokens on the host
        with self._arrived:
            self._ids.extend(ids)
            self._arrived.notify()

    def end(self, error: BaseException | None = None) -> None:
        with self._arrived:
            self._ended, self._error = True, error
            self._arrived.notify()

    def __iter__(self) -> Iterator[list[int]]:
        """The ids in batches: all that arrived since the previous batch (never an empty one)."""
        while True:
            with self._arrived:
                self._arrived.wait_for(lambda: self._ids or self._ended)
                batch, self._ids, ended, error = self._ids, [], self._ended, self._error
            if batch:
                yield batch
            if error is not None:
                raise BackendError(f"generation failed: {type(error).__name__}: {error}") from error
            if ended:
                return


_LOAD_LOCK = threading.Lock()  # one model loads at a time


class TransformersBackend:
    """A causal LM loaded with transformers (a folder or a Hub id), on CUDA when available."""

    def __init__(self, spec: ModelSpec) -> None:
        # transformers resolves its classes lazily, and not safely from two threads at once: resolve them
        # here, in the thread that builds the app, before any loading thread starts.
        from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria  # noqa: F401

        self.spec = spec
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any, set[int], set[int]] | None = None
        self._error: BackendError | None = None

    def load(self) -> tuple[Any, Any, set[int], set[int]]:
        """Model, tokenizer, the token ids not to show and those of the thinking tags; loaded once (a failure
        is remembered)."""
        with self._lock:
            if self._loaded is None and self._error is None:
                try:
                    with _LOAD_LOCK:
                        self._loaded = self._load()
                except BackendError as exc:  # said in the kit's words
                    self._error = exc
                except Exception as exc:  # noqa: BLE001 - shown on this side, never raised into the app
                    self._error = BackendError(f"could not load {self.spec.model}: {type(exc).__name__}: {exc}")
            if self._error is not None:
                raise self._error
            assert self._loaded is not None
            return self._loaded

    def _load(self) -> tuple[Any, Any, set[int], set[int]]:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        from kit.core.sources import not_found
        from kit.generation.llms import special_ids
        from kit.hub.ids import unloadable_model

        if (error := unloadable_model(self.spec.model)) is not None:  # offline: said at once, not after the retries
            raise BackendError(not_found(self.spec.model, "model", error))
        tokenizer = AutoTokenizer.from_pretrained(self.spec.model)
        config = AutoConfig.from_pretrained(self.spec.model)
        if torch.cuda.is_available():
            device = torch.device("cuda", torch.cuda.current_device())
            dtype = _cuda_dtype(getattr(config, "dtype", None), torch.cuda.is_bf16_supported())
        else:
            device, dtype = torch.device("cpu"), torch.float32
        model = AutoModelForCausalLM.from_pretrained(self.spec.model, config=config, dtype=dtype)
        model.to(device).eval()
        vocab = tokenizer.get_vocab()
        shown = {vocab[tag] for tag in (*OPENERS, *CLOSERS) if tag in vocab}
        return model, tokenizer, special_ids(tokenizer) - shown, shown

    def stream(self, messages: list[dict[str, str]], *, max_new_tokens: int, temperature: float,
               stop: threading.Event) -> Iterator[Piece]:
        from transformers import StoppingCriteria, StoppingCriteriaList

        model, tokenizer, hidden, tags = self.load()

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stop.is_set()

        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        if prompt_opener(prompt):  # the template opened the thinking (R1-Distill, QwQ)
            yield Piece("", opens_thinking=True)
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
        streamer = _TokenQueue()
        sampling = {"do_sample": True, "temperature": temperature, "top_p": 0.95} if temperature > 0 else {
            "do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        kwargs = {**inputs, **sampling, "max_new_tokens": max_new_tokens, "streamer": streamer,
                  "stopping_criteria": StoppingCriteriaList([_Stop()]), "pad_token_id": tokenizer.pad_token_id}

        def generate() -> None:
            import torch

            try:
                with torch.inference_mode():  # grad mode is per thread: generate()'s no_grad still tracks versions
                    model.generate(**kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                streamer.end(exc)

        threading.Thread(target=generate, daemon=True, name="arena-generate").start()
        ids: list[int] = []
        prefix, read, waiting = 0, 0, 0  # incremental detokenization (as TGI and vLLM do it)
        channels = _Channels(tokenizer, inputs["input_ids"][0].tolist(), hidden)
        for batch in streamer:  # all the tokens that arrived since the last look: two decodes, however many
            pieces = channels.read(batch, shown=bool(ids))
            if pieces is not None:  # a reply whose parts are marked by special tokens (gpt-oss): read from its start
                yield from pieces
                waiting = 0
                continue
            # ... except that a piece ends at a thinking tag's token, so that the tokens after `</think>` are
            # counted as the answer's even when they arrive with it
            ends = [i + 1 for i, token_id in enumerate(batch[:-1]) if token_id in tags] + [len(batch)]
            for start, end in zip([0, *ends[:-1]], ends, strict=True):
                waiting += end - start
                shown = [token_id for token_id in batch[start:end] if token_id not in hidden]
                if not shown:
                    continue
                ids.extend(shown)
                before = tokenizer.decode(ids[prefix:read], skip_special_tokens=False)
                text = tokenizer.decode(ids[prefix:], skip_special_tokens=False)
                if len(text) > len(before) and not text.endswith("\ufffd"):  # not in the middle of a character
                    yield Piece(text[len(before):], tokens=waiting)
                    prefix, read, waiting = read, len(ids), 0
        yield from channels.finish()
        if waiting:
            yield Piece("", tokens=waiting)


class _Channels:
    """The arena's reading of a reply whose parts are marked by special tokens, which decoding drops: gpt-oss's
    harmony format (`<|channel|>analysis<|message|>...<|end|><|start|>assistant<|channel|>final<|message|>...`)
    would show as one answer, "analysis...assistantfinal...". When a hidden special token is followed by more of
    the reply before any text was shown, the reply is read from its start by the tokenizer's response template
    (`kit.generation.llms.response_template`), one token at a time, its reasoning shown as thinking. The tokens
    that show no text (the markers) count with the text they follow, as a `</think>` counts as thinking. A reply
    whose only hidden token ends it (EOS), or a model with no response template, is shown as before."""

    def __init__(self, tokenizer: Any, prompt: list[int], hidden: set[int]) -> None:
        self.tokenizer, self.prompt, self.hidden = tokenizer, prompt, hidden
        self.ids: list[int] = []
        self.parser: Any = None
        self.off = False  # shown as before, to the end
        self.pending = 0  # tokens not yet counted in a piece
        self.last: bool | None = None  # whether the last piece was thinking

    def read(self, batch: list[int], shown: bool) -> list[Piece] | None:
        """The pieces of the next tokens, or None while the reply is shown as before (`shown`: it showed text)."""
        if self.parser is None:
            if self.off:
                return None
            structured = any(t in self.hidden for t in [*self.ids[-1:], *batch[:-1]])
            self.ids.extend(batch)
            if not structured:
                return None
            self.off = shown or not self._start()
            if self.off:
                return None
            batch = self.ids
        pieces: list[Piece] = []
        for token in batch:
            self.pending += 1
            for piece in self._pieces(self.parser.feed([token])):
                if pieces and pieces[-1].thinking == piece.thinking:  # one piece per part of the batch
                    last = pieces.pop()
                    piece = Piece(last.text + piece.text, piece.thinking, last.tokens + piece.tokens)
                pieces.append(piece)
        return pieces

    def finish(self) -> list[Piece]:
        """The pieces the end of the reply gives (text the parser held back, the tokens that end it)."""
        if self.parser is None:
            return []
        pieces = list(self._pieces(self.parser.finalize()[1]))
        if self.pending:
            pieces.append(Piece("", thinking=bool(self.last), tokens=self.pending))
        return pieces

    def _start(self) -> bool:
        from kit.generation.llms import response_template

        template = response_template(self.tokenizer)
        if template is None:
            return False
        try:
            self.parser = self.tokenizer.get_response_parser(template, prefix=self.prompt, token_ids=True)
        except Exception:  # noqa: BLE001 - a tokenizer that cannot parse token ids (a slow one): shown as before
            return False
        return True

    def _pieces(self, events: list[dict[str, Any]]) -> Iterator[Piece]:
        for event in events:
            if event["type"] != "region_chunk" or not event.get("text") or not (
                    event["field"] == "content" or event["field"] in REASONING_FIELDS):
                continue
            thinking = event["field"] != "content"
            if self.last and not thinking and self.pending > 1:  # the markers between reasoning and answer
                yield Piece("", thinking=True, tokens=self.pending - 1)
                self.pending = 1
            yield Piece(event["text"], thinking=thinking, tokens=self.pending)
            self.pending, self.last = 0, thinking


def _cuda_dtype(saved: Any, bf16: bool) -> Any:
    """The weights' dtype on a CUDA GPU: the checkpoint's own when it is half precision the GPU runs, else bf16
    (fp16 on GPUs without bf16). A float32 checkpoint (what training in mixed precision saves) is never run in
    float32: twice the bytes read per token, and no flash attention."""
    import torch

    if isinstance(saved, str):
        saved = getattr(torch, saved, None)
    if saved == torch.float16 or (saved == torch.bfloat16 and bf16):
        return saved
    return torch.bfloat16 if bf16 else torch.float16


# --------------------------------------------------------------------------------------------------
# OpenAI-compatible endpoints


class OpenAIBackend:
    """An OpenAI-compatible chat-completions endpoint, streamed; reasoning from `reasoning_content` (or
    `reasoning`: `kit.core.chat.REASONING_FIELDS`) deltas, or inline in the content. One token is counted per
    streamed delta."""

    def __init__(self, spec: ModelSpec, key: str) -> None:
        import openai

        self.spec = spec
        self.client = openai.OpenAI(base_url=spec.base_url, api_key=key, max_retries=1, timeout=60.0)

    def load(self) -> str:
        """The model to ask: the one named, else the first one the server lists."""
        if self.spec.model:
            return self.spec.model
        try:
            models = self.client.models.list().data
        except Exception as exc:  # noqa: BLE001 - shown on this side
            raise BackendError(f"{self.spec.base_url}: {_describe(exc)}") from None
        if not models:
            raise BackendError(f"{self.spec.base_url} serves no model")
        return models[0].id

    def stream(self, messages: list[dict[str, str]], *, max_new_tokens: int, temperature: float,
               stop: threading.Event) -> Iterator[Piece]:
        model = self.load()
        try:
            response = self.client.chat.completions.create(
                model=model, messages=messages, stream=True, max_tokens=max_new_tokens, temperature=temperature)
            with response:
                for chunk in response:
                    if stop.is_set():
                        return
                    for choice in chunk.choices:
                        delta = choice.delta
                        reasoning = reasoning_field(delta.model_extra or {})
                        if reasoning:
                            yield Piece(reasoning, thinking=True, tokens=1)
                        if delta.content:
                            yield Piece(delta.content, tokens=1)
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - shown on this side
            raise BackendError(f"{self.spec.base_url}: {_describe(exc)}") from None


def _describe(exc: Exception) -> str:
    """One line for an endpoint failure, without the request (headers hold the key)."""
    import openai

    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        return f"cannot reach the endpoint ({type(cause).__name__ if cause else 'connection error'})"
    if isinstance(exc, openai.APIStatusError):
        message = exc.message if isinstance(exc.message, str) else str(exc.message)
        return f"HTTP {exc.status_code}: {message[:300]}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"
