"""`kit train` run as a user runs it under `accelerate launch`: a child process (the launcher and its ranks in
their own session), with none of this process's rank variables, offline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def train_under_launcher(recipe: Path | str, out: Path, sets: list[str], *, timeout: float,
                         env: dict[str, str] | None = None) -> str:
    """Run `kit train RECIPE --out OUT --set ... --no-push`; assert it went through the launcher and succeeded;
    return its output."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
             and not k.startswith(("ACCELERATE_", "FSDP_"))}
    command = [sys.executable, "-m", "kit.cli", "train", str(recipe), "--out", str(out),
               *(arg for s in sets for arg in ("--set", s)), "--no-push"]
    child = subprocess.Popen(command, cwd=ROOT, env={**clean, "HF_HUB_OFFLINE": "1", **(env or {})}, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = child.communicate(timeout=timeout)
    finally:
        if child.poll() is None:  # the launcher and its ranks
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == 0, output[-6000:]
    assert "accelerate.commands.launch" in output  # it went through the launcher, not one in-process run
    return output
