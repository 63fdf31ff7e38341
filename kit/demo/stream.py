"""Split a streamed reply into its thinking and its answer as the text arrives, and count each one's tokens.

The shapes are those of `kit.core.chat.split_reply`, seen one piece at a time:

- thinking sent apart from the answer (`reasoning_content` deltas of vLLM's reasoning parsers and hosted
  R1 providers): `feed(text, thinking=True)`;
- `<think>...</think>` at the start of the text, or Sky-T1's `<|begin_of_thought|>...<|end_of_thought|>`
  then `<|begin_of_solution|>...<|end_of_solution|>`;
- a chat template that opens the thinking itself (DeepSeek-R1-Distill's and QwQ's end the prompt with
  `<think>\\n`): call `open()` first. A closing tag that arrives while nothing was counted as thinking
  (a server that did the same without saying so) moves the text before it to the thinking.

A tag cut between two pieces is held back until it is complete. `thinking` and `answer` are the whole
texts so far, stripped; `thinking_tokens` and `answer_tokens` count the tokens the caller reports with each
piece (a tag's token counts as thinking).
"""

from __future__ import annotations

from kit.core.chat import CLOSERS, OPENERS, SOLUTION_MARKS

_TAGS = OPENERS + CLOSERS + SOLUTION_MARKS


class ThinkStream:
    """Incremental thinking/answer split of one reply (see the module doc)."""

    def __init__(self) -> None:
        self.state = "start"  # start -> thinking -> answer, or start -> answer
        self._thinking: list[str] = []
        self._answer: list[str] = []
        self._held = ""  # text that may be the beginning of a tag
        self._pending_tokens = 0  # tokens of leading whitespace, before the state is known
        self._thought = False  # the reply has had a thinking part (maybe empty)
        self._separate = False  # the thinking came apart from the answer (reasoning_content)
        self.thinking_tokens = 0
        self.answer_tokens = 0

    @property
    def thinking(self) -> str:
        return "".join(self._thinking).strip()

    @property
    def answer(self) -> str:
        return "".join(self._answer).strip()

    def feed(self, text: str, tokens: int = 0, *, thinking: bool = False) -> None:
        """Add the next piece of the reply; `thinking=True` for a piece the server marked as reasoning."""
        if thinking:
            self._flush_held()
            if self.state == "start":
                self.state = "thinking"
            self._thought = self._separate = True
            self._thinking.append(text)
            self.thinking_tokens += tokens + self._pending_tokens
            self._pending_tokens = 0
            return
        if self._separate and self.state == "thinking":  # the server's reasoning is over: this is the answer
            self.state = "answer"
        text = self._held + text
        self._held = ""
        closed = False
        while text:
            tag, at = _first_tag(text)
            if tag is None:
                keep = _partial_tag_length(text)
                self._emit(text[: len(text) - keep])
                self._held = text[len(text) - keep:]
                break
            self._emit(text[:at])
            closed |= self._on_tag(tag)
            text = text[at + len(tag):]
        self._count(tokens, closed)

    def open(self) -> None:
        """The prompt opened the thinking (its template ends with `<think>`): what comes is thinking."""
        if self.state == "start":
            self.state, self._thought = "thinking", True

    def finish(self) -> None:
        """The reply ended: text held back as a possible tag is plain text after all."""
        self._flush_held()
        if self._pending_tokens:
            self.answer_tokens += self._pending_tokens
            self._pending_tokens = 0

    def _flush_held(self) -> None:
        held, self._held = self._held, ""
        self._emit(held)

    def _emit(self, text: str) -> None:
        if not text:
            return
        if self.state == "start":
            if not text.strip():
                self._answer.append(text)  # leading whitespace; stripped from whichever side it ends on
                return
            self.state = "answer"
        (self._thinking if self.state == "thinking" else self._answer).append(text)

    def _on_tag(self, tag: str) -> bool:
        """Apply a tag; True when it closed the thinking."""
        if tag in OPENERS:
            if self.state == "start":
                self.state = "thinking"
                self._thought = True
                self._answer.clear()
            elif self.state == "thinking":
                self._thinking.append(tag)  # an opener inside the thinking is just text
            else:
                self._answer.append(tag)
            return False
        if tag in CLOSERS:
            if self.state == "thinking":
                self.state = "answer"
                return True
            if not self._thought:
                # the template opened the thinking without saying so: all so far was thinking
                self._thinking, self._answer = self._answer, []
                self.thinking_tokens, self.answer_tokens = self.thinking_tokens + self.answer_tokens, 0
                self.state, self._thought = "answer", True
                return True
            self._answer.append(tag)
            return False
        if self.state == "start":  # <|begin_of_solution|> with no thinking before it
            self.state = "answer"
        return False  # solution marks are dropped

    def _count(self, tokens: int, closed: bool) -> None:
        if self.state == "start":
            self._pending_tokens += tokens
            return
        tokens += self._pending_tokens
        self._pending_tokens = 0
        if closed or self.state == "thinking":
            self.thinking_tokens += tokens
        else:
            self.answer_tokens += tokens


def _first_tag(text: str) -> tuple[str | None, int]:
    """The first tag in `text` and where it starts; (None, -1) when there is none."""
    found: tuple[str | None, int] = (None, -1)
    for tag in _TAGS:
        at = text.find(tag)
        if at >= 0 and (found[0] is None or at < found[1]):
            found = (tag, at)
    return found


def _partial_tag_length(text: str) -> int:
    """How many characters at the end of `text` could begin a tag."""
    best = 0
    for tag in _TAGS:
        for n in range(min(len(tag) - 1, len(text)), best, -1):
            if tag.startswith(text[-n:]):
                best = n
                break
    return best
