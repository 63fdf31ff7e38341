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
from pathlib import Path

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


def test_compare_in_a_real_browser(reasoners, start_arena, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    executable = browser_path()
    url = start_arena(str(reasoners["right"]), str(reasoners["wrong"]), max_new_tokens=96)
    problem, gold = arena_problem()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(url)
            page.locator("#problem textarea").press_sequentially(problem)
            page.locator("#reference input, #reference textarea").first.press_sequentially(gold)
            page.get_by_role("button", name="Compare").click()

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
            shot = tmp_path / "reasoning-arena.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")
