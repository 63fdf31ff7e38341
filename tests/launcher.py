"""`kit train` run as a user runs it under `accelerate launch`: a child process (the launcher and its ranks in
their own session), with none of this process's rank variables, offline."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# In each rank, the last thing before the interpreter goes: whether the run left its process group open. A rank
# that exits with it open can abort in gloo's threads at interpreter exit (SIGABRT, "terminate called without
# an active exception"), and only now and then, so the test checks the cause, not the crash.
EXIT_CHECK = '''
import atexit
import os
import sys


def _report_process_group():
    torch = sys.modules.get("torch")
    open_ = bool(torch is not None and torch.distributed.is_available() and torch.distributed.is_initialized())
    print(f"rank {os.environ['RANK']} exits with its process group {'open' if open_ else 'closed'}",
          file=sys.stderr, flush=True)


if "LOCAL_RANK" in os.environ:
    atexit.register(_report_process_group)  # registered first, so it runs last
'''


def train_under_launcher(recipe: Path | str, out: Path, sets: list[str], *, timeout: float, ranks: int,
                         site: str = "", env: dict[str, str] | None = None) -> str:
    """Run `kit train RECIPE --out OUT --set ... --no-push`; assert it went through the launcher, succeeded, and
    that each of the `ranks` processes closed its process group before exiting; return its output. `site`: more
    code for the ranks' sitecustomize."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
             and not k.startswith(("ACCELERATE_", "FSDP_"))}
    command = [sys.executable, "-m", "kit.cli", "train", str(recipe), "--out", str(out),
               *(arg for s in sets for arg in ("--set", s)), "--no-push"]
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "sitecustomize.py").write_text(EXIT_CHECK + site)
        pythonpath = os.pathsep.join(p for p in (folder, clean.get("PYTHONPATH")) if p)
        child = subprocess.Popen(command, cwd=ROOT, env={**clean, "HF_HUB_OFFLINE": "1", "PYTHONPATH": pythonpath,
                                                         **(env or {})},
                                 text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            output, _ = child.communicate(timeout=timeout)
        finally:
            if child.poll() is None:  # the launcher and its ranks
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
    assert child.returncode == 0, output[-6000:]
    assert "accelerate.commands.launch" in output  # it went through the launcher, not one in-process run
    exits = dict(re.findall(r"^rank (\d+) exits with its process group (\w+)$", output, re.MULTILINE))
    assert exits == {str(rank): "closed" for rank in range(ranks)}, output[-3000:]
    return output
