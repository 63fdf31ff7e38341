"""Serve the stand-in teacher (an OpenAI-compatible chat-completions server) in the foreground.

    TEACHER_KEY=sk-anything python -m tests.teacherserver --port 8000 --api-key-env TEACHER_KEY

then point an OpenAI client at ``base_url=http://127.0.0.1:8000/v1`` with that key and the model id
(``--model``, default ``standin/reasoner``, or one a recording names). The key is read from the
environment variable named by ``--api-key-env``, never from the command line, and it is never printed.
Serves until killed.
"""

from __future__ import annotations

import argparse
import os
import sys

from .app import DEFAULT_MODEL, DEFAULT_RECORDINGS
from .server import TeacherServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.teacherserver",
        description="Stand-in for an OpenAI-compatible chat-completions server (vLLM, SGLang, hosted "
        "providers) that replays recorded reasoning completions.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--recordings", default=str(DEFAULT_RECORDINGS), help="JSONL of recordings")
    parser.add_argument(
        "--api-key-env", required=True, help="name of the environment variable holding the API key"
    )
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help="the default model id (of recordings that name no model)"
    )
    args = parser.parse_args(argv)
    api_key = os.environ.get(args.api_key_env)
    if not api_key:
        parser.error(f"the environment variable {args.api_key_env} (--api-key-env) is unset or empty")
    server = TeacherServer(args.recordings, api_key, model=args.model, host=args.host, port=args.port)
    print(f"Stand-in teacher serving {server.model} at {server.base_url}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
