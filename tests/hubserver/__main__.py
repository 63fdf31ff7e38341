"""Serve the stand-in Hugging Face Hub (huggingface.co) API in the foreground, for offline trials.

    python -m tests.hubserver --port 8080 --root /tmp/hub --token MYTOKEN

then ``HF_ENDPOINT=http://127.0.0.1:8080 HF_TOKEN=MYTOKEN`` for the clients. Only MYTOKEN may write;
the token may also come from the ``HUB_STANDIN_TOKEN`` environment variable. It is never printed.
"""

from __future__ import annotations

import argparse
import os
import sys

from .server import HubServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.hubserver",
        description="Stand-in for the Hugging Face Hub API (huggingface.co), backed by bare git repositories.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--root", required=True, help="folder holding the repositories (created if missing)")
    parser.add_argument("--token", default=os.environ.get("HUB_STANDIN_TOKEN"), help="the only write token")
    parser.add_argument("--user", default="standin-user", help="user name answered by whoami")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token (or HUB_STANDIN_TOKEN) is required")
    server = HubServer(args.root, args.token, host=args.host, port=args.port, user=args.user)
    print(f"Stand-in Hugging Face Hub serving at {server.url} (repositories in {server.root})", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
