"""The Reasoning Arena: two models think about the same problem side by side (a Gradio app).

Each side streams its thinking into a collapsible "Thinking" message (open while the model thinks, closed
once it answers) and its answer below; under it, time to first token, thinking and answer tokens and the
total time. With a reference answer (the examples carry theirs), each math answer gets a verified / not
verified badge from the kit's Math-Verify verifier. The two sides run in their own threads: an error on one
side is shown on that side and the other goes on. Stop ends both generations.

Settings (environment variables, or a Space's variables and secrets; `kit demo` options override them):

- `ARENA_LEFT`, `ARENA_RIGHT`: the models (see `kit.demo.backends`: a folder, a Hub id, or an endpoint URL
  with an optional `#MODEL`);
- `ARENA_LEFT_API_KEY`, `ARENA_RIGHT_API_KEY`, `ARENA_API_KEY`: endpoint keys (Space secrets);
- `ARENA_MAX_NEW_TOKENS` (default 2048), `ARENA_TEMPERATURE` (0.6): the defaults of the settings panel;
- `ARENA_CONCURRENCY` (2): comparisons run at once; the others wait in the queue (`ARENA_QUEUE_SIZE`, 16).

`build_app(settings)` returns the `gr.Blocks`; its API endpoint `/compare` takes (problem, reference
answer, domain, max new tokens, temperature) and streams both panels.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from kit.demo.backends import BackendError, ModelSpec, make_backend, parse_model
from kit.demo.stream import ThinkStream

DEFAULT_LEFT = "Qwen/Qwen2.5-1.5B-Instruct"
DEFAULT_RIGHT = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"
DOMAINS = ("math", "code", "other")
SIDES = ("left", "right")
RENDER_EVERY_S = 0.05  # at most 20 screen updates a second
MAX_EXAMPLES = 8


@dataclass
class ArenaSettings:
    left: str = DEFAULT_LEFT
    right: str = DEFAULT_RIGHT
    max_new_tokens: int = 2048
    temperature: float = 0.6
    concurrency: int = 2
    queue_size: int = 16

    @classmethod
    def from_env(cls, **overrides: Any) -> ArenaSettings:
        """Settings from the `ARENA_*` variables; `overrides` that are not None win."""
        def number(name: str, kind: type, default: float) -> Any:
            value = os.environ.get(name) or default
            try:
                return kind(value)
            except ValueError:
                raise ValueError(f"{name}={value!r} is not a number") from None

        values: dict[str, Any] = {
            "left": os.environ.get("ARENA_LEFT") or DEFAULT_LEFT,
            "right": os.environ.get("ARENA_RIGHT") or DEFAULT_RIGHT,
            "max_new_tokens": number("ARENA_MAX_NEW_TOKENS", int, 2048),
            "temperature": number("ARENA_TEMPERATURE", float, 0.6),
            "concurrency": number("ARENA_CONCURRENCY", int, 2),
            "queue_size": number("ARENA_QUEUE_SIZE", int, 16),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def prompt_messages(problem: str, domain: str = "math") -> list[dict[str, str]]:
    """What both models are asked: the user turn the kit's SFT data uses (problem + the domain's format
    instruction), so a model trained on `kit curate` output sees the prompt it was trained on."""
    from kit.core.chat import prompt_messages as sft_prompt
    from kit.recipes import FormatConfig

    return sft_prompt({"problem": problem, "domain": domain}, FormatConfig())


@functools.cache
def examples() -> list[list[str]]:
    """Math problems of the bundled sample with their gold answers: [problem, answer, "math"]."""
    from kit.core.schema import problem_id
    from kit.core.sources import iter_rows
    from kit.verify.math import gold_answer

    seen: set[str] = set()
    rows: list[list[str]] = []
    for row in iter_rows("kit:samples/quickstart.jsonl"):
        gold = gold_answer(row)
        pid = problem_id(row["problem"])
        if row.get("domain") == "math" and gold and pid not in seen and len(rows) < MAX_EXAMPLES:
            seen.add(pid)
            rows.append([row["problem"], gold, "math"])
    return rows


# --------------------------------------------------------------------------------------------------
# One side of one comparison


_VERIFY_LOCK = threading.Lock()


@functools.cache
def _verifier() -> Any:
    """One Math-Verify worker process for the app (its time limit needs a process's main thread)."""
    from kit.verify.math import MathVerifier

    return MathVerifier(workers=1, timeout_s=5.0)


def verify(answer: str, gold: str) -> Any:
    """The kit's Math-Verify verdict of `answer` against `gold`: the same rule as curation and `kit eval`
    (`kit.verify.math.verify_answer`: its last `\\boxed{}`, else Math-Verify's extraction of its final answer)."""
    with _VERIFY_LOCK:
        return next(_verifier().verify([{"ground_truth_answer": gold, "solution": answer}]))


@dataclass
class Run:
    """One model answering one problem: filled in by its thread, read by the renderer."""

    label: str
    stream: ThinkStream = field(default_factory=ThinkStream)
    started: float = field(default_factory=time.monotonic)
    first_token_s: float | None = None
    thinking_s: float | None = None
    total_s: float | None = None
    error: str | None = None
    stopped: bool = False
    verdict: Any = None
    done: bool = False

    def execute(self, backend: Any, messages: list[dict[str, str]], gold: str | None, *, max_new_tokens: int,
                temperature: float, stop: threading.Event) -> None:
        try:
            for piece in backend.stream(messages, max_new_tokens=max_new_tokens, temperature=temperature, stop=stop):
                if self.first_token_s is None and piece.text.strip():
                    self.first_token_s = time.monotonic() - self.started
                if piece.opens_thinking:
                    self.stream.open()
                self.stream.feed(piece.text, piece.tokens, thinking=piece.thinking)
                if self.thinking_s is None and self.stream.state == "answer" and self.stream.thinking:
                    self.thinking_s = time.monotonic() - self.started
            self.stream.finish()
            self.stopped = stop.is_set()
        except BackendError as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - one side's failure never stops the other
            self.error = f"{type(exc).__name__}: {exc}"
        if self.done:  # halted meanwhile: what it shows stays as it was
            return
        self.total_s = time.monotonic() - self.started
        if gold and not self.error and not self.stopped:
            try:
                self.verdict = verify(self.stream.answer, gold)
            except Exception as exc:  # noqa: BLE001
                self.error = f"verification failed: {type(exc).__name__}: {exc}"
        self.done = True

    def halt(self) -> None:
        """Stopped before it finished (its thread ends on its own once its server answers)."""
        if not self.done:
            self.stopped, self.total_s, self.done = True, time.monotonic() - self.started, True

    # rendering ---------------------------------------------------------------------------------------

    def messages(self) -> list[dict[str, Any]]:
        """The side's chat: the Thinking message (collapsible), the answer, an error."""
        out: list[dict[str, Any]] = []
        stream = self.stream
        thinking_now = stream.state == "thinking" and not self.done
        if stream.thinking or thinking_now:
            metadata: dict[str, Any] = {"title": "Thinking", "status": "pending" if thinking_now else "done"}
            duration = self.thinking_s if self.thinking_s is not None else (self.total_s if self.done else None)
            if duration is not None:
                metadata["duration"] = round(duration, 2)
            out.append({"role": "assistant", "content": stream.thinking or "...", "metadata": metadata})
        if stream.answer:
            out.append({"role": "assistant", "content": stream.answer})
        if self.error:
            out.append({"role": "assistant", "content": f"**Error:** {self.error}"})
        elif self.stopped:
            out.append({"role": "assistant", "content": "*Stopped.*"})
        return out

    def stats(self) -> str:
        def seconds(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f} s"

        total = self.total_s if self.done else time.monotonic() - self.started
        state = "failed" if self.error else "stopped" if self.stopped else "done" if self.done else "running"
        return (f"**{state}** | time to first token {seconds(self.first_token_s)} | thinking "
                f"{self.stream.thinking_tokens} tokens | answer {self.stream.answer_tokens} tokens | "
                f"total {seconds(total)}")

    def badge(self) -> str:
        if self.verdict is None:
            return ""
        detail = self.verdict.detail
        if self.verdict.passed:
            return f"✓ **verified**: {detail.get('predicted')} matches the reference answer {detail.get('gold')}"
        got = detail.get("predicted") or "no final answer found"
        return f"✗ **not verified** ({self.verdict.reason}): {got}; reference answer {detail.get('gold')}"


# --------------------------------------------------------------------------------------------------
# The app


class Arena:
    """The two backends and the comparisons running now (by browser session, for the Stop button)."""

    def __init__(self, settings: ArenaSettings) -> None:
        self.settings = settings
        self.specs: dict[str, ModelSpec] = {side: parse_model(getattr(settings, side)) for side in SIDES}
        self.backends = {side: make_backend(spec, side) for side, spec in self.specs.items()}
        self._stops: dict[str, threading.Event] = {}

    def preload(self) -> None:
        """Load both models in the background, so the first comparison does not wait (errors wait for it)."""
        for backend in self.backends.values():
            threading.Thread(target=_quietly, args=(backend.load,), daemon=True, name="arena-load").start()

    async def compare(self, problem: str, reference: str, domain: str, max_new_tokens: float, temperature: float,
                      request: gr.Request) -> Any:
        """Stream both sides: yields (left chat, left stats, left badge, right chat, right stats, right badge)."""
        if not (problem or "").strip():
            raise gr.Error("Type a problem first (or pick an example).")
        messages = prompt_messages(problem.strip(), domain)
        gold = (reference or "").strip() if domain == "math" else ""
        session = getattr(request, "session_hash", None) or str(id(request))
        if session in self._stops:
            self._stops[session].set()  # a new comparison ends this browser's previous one
        stop = self._stops[session] = threading.Event()
        runs = {side: Run(self.specs[side].label) for side in SIDES}
        for side, run in runs.items():
            threading.Thread(target=run.execute, args=(self.backends[side], messages, gold or None), daemon=True,
                             kwargs={"max_new_tokens": int(max_new_tokens), "temperature": float(temperature),
                                     "stop": stop}, name=f"arena-{side}").start()
        try:
            while True:
                finished = all(run.done for run in runs.values())
                if stop.is_set() and not finished:  # Stop: a side still waiting on its server ends here too
                    for run in runs.values():
                        run.halt()
                    finished = True
                yield render(runs)
                if finished:
                    return
                await asyncio.sleep(RENDER_EVERY_S)
        finally:
            stop.set()  # Stop, a closed tab or a cancelled request: no generation outlives its comparison
            if self._stops.get(session) is stop:
                del self._stops[session]

    def stop(self, request: gr.Request) -> None:
        session = getattr(request, "session_hash", None)
        if session in self._stops:
            self._stops[session].set()


def render(runs: dict[str, Run]) -> tuple[Any, ...]:
    return tuple(part for side in SIDES for part in (runs[side].messages(), runs[side].stats(), runs[side].badge()))


def _quietly(fn: Any) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - reported on that side when a comparison asks for it
        pass


LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False},
         {"left": "\\(", "right": "\\)", "display": False}, {"left": "\\[", "right": "\\]", "display": True}]
CSS = ".arena-stats p { font-size: 0.85em; margin: 0; } .arena-badge p { margin: 0.25em 0 0 0; }"


def build_app(settings: ArenaSettings | None = None, *, preload: bool = True) -> Any:
    """The arena as a `gr.Blocks` (queued, `settings.concurrency` comparisons at once)."""
    settings = settings or ArenaSettings.from_env()
    arena = Arena(settings)
    # The verifier's worker is forked now, before the server and the models open files and pipes: a fork
    # made later would hold copies of them (a pipe another program waits to see closed, say).
    _verifier()
    if preload:
        arena.preload()
    with gr.Blocks(title="Reasoning Arena") as app:
        gr.Markdown("# Reasoning Arena\nTwo models think about the same problem side by side. Each one's "
                    "thinking streams into a collapsible section, its answer below; with a reference answer, "
                    "math answers are checked with Math-Verify.")
        with gr.Row():
            with gr.Column(scale=4):
                problem = gr.Textbox(label="Problem", lines=3, placeholder="Type a problem, or pick an example below",
                                     elem_id="problem")
            with gr.Column(scale=1, min_width=200):
                reference = gr.Textbox(label="Reference answer (optional)", elem_id="reference")
                domain = gr.Radio(list(DOMAINS), value="math", label="Domain", elem_id="domain")
        with gr.Row():
            submit = gr.Button("Compare", variant="primary", elem_id="compare")
            stop_button = gr.Button("Stop", variant="stop", elem_id="stop")
        with gr.Accordion("Generation settings", open=False):
            max_new_tokens = gr.Slider(16, 32768, value=settings.max_new_tokens, step=16, label="Max new tokens")
            temperature = gr.Slider(0.0, 1.5, value=settings.temperature, step=0.05,
                                    label="Temperature (0: greedy)")
        outputs: list[Any] = []
        with gr.Row(equal_height=False):
            for side in SIDES:
                with gr.Column(elem_id=f"{side}-panel"):
                    outputs.append(gr.Chatbot(label=arena.specs[side].label, elem_id=f"{side}-chat", height=480,
                                              latex_delimiters=LATEX, buttons=["copy"], placeholder="Waiting..."))
                    outputs.append(gr.Markdown(label=f"{side} stats", elem_id=f"{side}-stats", elem_classes="arena-stats"))
                    outputs.append(gr.Markdown(label=f"{side} verdict", elem_id=f"{side}-badge", elem_classes="arena-badge"))
        gr.Examples(examples(), inputs=[problem, reference, domain], label="Examples from the kit's sample")
        inputs = [problem, reference, domain, max_new_tokens, temperature]
        gr.on([submit.click, problem.submit], arena.compare, inputs, outputs, api_name="compare",
              concurrency_limit=settings.concurrency)
        stop_button.click(arena.stop, None, None, queue=False, api_name="stop")
    app.queue(max_size=settings.queue_size, default_concurrency_limit=settings.concurrency)
    app.arena = arena  # type: ignore[attr-defined]
    return app


def launch(app: Any, *, host: str | None = None, port: int | None = None, **kwargs: Any) -> Any:
    """Serve the app with its style (`kit demo`, and the Space's app.py, where Spaces set the address)."""
    return app.launch(server_name=host, server_port=port, css=CSS, **kwargs)
