"""The Reasoning Arena in a real browser: Debian's chromium, driven by Playwright for Python.

The app runs on 127.0.0.1 with two tiny local models built by the test (`reasoners`); the test types the
problem and its reference answer, clicks Compare, and checks what a person would see on both panels. A
screenshot is saved in the test's own folder (`tmp_path`, kept by pytest under its basetemp).

The browser is `KIT_BROWSER` or /usr/bin/chromium (no browser is downloaded). Without one the test is
skipped, except where `KIT_REQUIRE_BROWSER=1` (CI), where a missing browser fails it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.tiny_reasoners import RIGHT_THINKING, WRONG_THINKING, arena_problem

# The flags this workplace's machines need: root, no GPU, a closed network (see the env notes).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def browser_path() -> str:
    path = os.environ.get("KIT_BROWSER") or shutil.which("chromium") or "/usr/bin/chromium"
    required = os.environ.get("KIT_REQUIRE_BROWSER") == "1"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if required:
            pytest.fail("Playwright for Python is not installed (pip install -e '.[dev]')")
        pytest.skip("Playwright for Python is not installed")
    if not Path(path).is_file():
        if required:
            pytest.fail(f"no browser at {path}: install Debian's chromium (apt-get install chromium)")
        pytest.skip(f"no browser at {path} (apt-get install chromium, or set KIT_BROWSER)")
    return path


@contextmanager
def browser_page() -> Iterator[Any]:
    """A page of a fresh headless browser. Start it after the app: the app forks its verifier's worker when
    it is built, and a fork made while Playwright runs would keep the driver's pipe open (the driver then
    never exits)."""
    from playwright.sync_api import sync_playwright

    executable = browser_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1100})
        finally:
            browser.close()


def ask(page, url: str, problem: str, gold: str) -> None:
    """Open the arena, type the problem and its reference answer, press Compare."""
    page.goto(url)
    page.locator("#problem textarea").press_sequentially(problem)
    page.locator("#reference input, #reference textarea").first.press_sequentially(gold)
    page.get_by_role("button", name="Compare").click()


def test_compare_in_a_real_browser(reasoners, start_arena, tmp_path):
    url = start_arena(str(reasoners["right"]), str(reasoners["wrong"]), max_new_tokens=96)
    with browser_page() as page:
        check_compare(page, url, tmp_path / "reasoning-arena.png")


def check_compare(page: Any, url: str, shot: Path) -> None:
    from playwright.sync_api import expect

    problem, gold = arena_problem()
    ask(page, url, problem, gold)
    for side in ("left", "right"):
        expect(page.locator(f"#{side}-stats")).to_contain_text("done", timeout=60_000)
    for side, thinking, answer, badge in (("left", RIGHT_THINKING, "38", r"verified: 38 matches"),
                                          ("right", WRONG_THINKING, "40", r"not verified \(wrong_answer\)")):
        chat = page.locator(f"#{side}-chat")
        title = chat.locator(".thought-group .title")
        expect(title).to_have_count(1)
        expect(title).to_contain_text("Thinking")
        # collapsible: closed once the answer came, opened by a click, with the whole reasoning inside
        expect(chat.get_by_text(thinking)).to_have_count(0)
        title.click()
        expect(chat.get_by_text(thinking)).to_be_visible()
        # the answer, rendered (KaTeX draws the box), below the thinking
        answer_message = chat.locator('[data-testid="bot"]').filter(has_text="The perimeter is").last
        expect(answer_message).to_be_visible()
        expect(answer_message.locator(".katex")).to_contain_text(answer)
        stats = page.locator(f"#{side}-stats").inner_text()
        assert re.fullmatch(r"done \| time to first token [\d.]+ s \| thinking [1-9]\d* tokens \| "
                            r"answer [1-9]\d* tokens \| total [\d.]+ s", stats.strip()), stats
        expect(page.locator(f"#{side}-badge")).to_have_text(re.compile(badge))
    page.wait_for_timeout(500)  # the opened Thinking sections finish their animation
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")


def test_the_thinking_is_open_while_it_streams_and_folds_when_the_answer_comes(reasoners, start_arena, teacher,
                                                                                monkeypatch, tmp_path):
    """The right side is an OpenAI-compatible endpoint (the stand-in) streaming its reasoning slowly: while
    it thinks, its Thinking section is open and grows; once it answers, the section is folded. The left side
    (a local model) finishes meanwhile, untouched by the right one still running."""
    problem, _ = arena_problem()
    thinking = " ".join(f"Step {i}: the width w satisfies w(w + 3) = 88." for i in range(1, 9))
    teacher.add_recording(problem, [{"reasoning_content": thinking, "content": "The perimeter is \\boxed{38}."}])
    teacher.app.chunk_delay = 0.3  # about 4 s of thinking, 32 characters at a time
    monkeypatch.setenv("ARENA_RIGHT_API_KEY", teacher.api_key)
    url = start_arena(str(reasoners["right"]), f"{teacher.base_url}#{teacher.model}", max_new_tokens=400)
    with browser_page() as page:
        check_streaming(page, url, tmp_path / "reasoning-arena-thinking.png")


def check_streaming(page: Any, url: str, shot: Path) -> None:
    from playwright.sync_api import expect

    problem, gold = arena_problem()
    ask(page, url, problem, gold)

    right = page.locator("#right-chat")
    expect(right.get_by_text("Step 1:", exact=False)).to_be_visible(timeout=30_000)  # open, without a click
    expect(right.get_by_text("Step 3:", exact=False)).to_be_visible()  # and growing as the reasoning streams
    expect(page.locator("#right-stats")).to_contain_text("running")
    expect(page.locator("#left-stats")).to_contain_text("done", timeout=30_000)  # the other side completes
    page.screenshot(path=str(shot), full_page=True)

    expect(page.locator("#right-stats")).to_contain_text("done", timeout=60_000)
    expect(right.get_by_text("Step 1:", exact=False)).to_have_count(0)  # folded once the answer came
    expect(right.locator('[data-testid="bot"]').filter(has_text="The perimeter is").last).to_be_visible()
    expect(page.locator("#right-badge")).to_have_text(re.compile("verified: 38 matches"))
