"""The Reasoning Arena Space: two models think about the same problem side by side.

The app is `kit.demo.arena` (the same one `kit demo` runs); this file only builds it from the Space's
settings (variables `ARENA_LEFT`, `ARENA_RIGHT`, ...; secrets `ARENA_API_KEY`, ...: see README.md).
"""

from kit.demo.arena import build_app, launch

demo = build_app()

if __name__ == "__main__":
    launch(demo)
