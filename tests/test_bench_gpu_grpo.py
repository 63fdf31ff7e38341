"""bench/gpu_grpo.py's CPU check: the GRPO table it prints on a GPU, for a 2-layer model on the CPU."""

from __future__ import annotations

import pytest

from bench.gpu_grpo import main


@pytest.mark.timeout(600)
def test_the_tiny_check_trains_and_plans_each_configuration(capsys):
    main(["--tiny", "--batches", "8", "--betas", "0,0.04", "--steps", "3"])
    out = capsys.readouterr().out
    table = out[out.index("tiny shape"):].splitlines()
    assert "generation: transformers" in table[0] and "plan GiB" in table[1]
    rows = [line.split() for line in table[2:] if line.strip()]
    assert [row[:3] for row in rows] == [["8", "16", "0"], ["8", "16", "0.04"]]
    for row in rows:  # tokens/s and seconds per step measured; no peak memory on the CPU; the plan's phase
        assert float(row[3].replace(",", "")) > 0 and float(row[4]) > 0
        assert row[5] == "-" and float(row[6]) > 0 and row[-1] in ("training", "generation")
