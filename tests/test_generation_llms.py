"""`model.device: cuda` for the transformers backend (`kit eval`, curation), on a CPU-only machine.

distilabel's `TransformersLLM.load` hands a `device: cuda` LLM to its CUDA device placement
(`CudaDevicePlacementMixin`) before `LLM.load` has given the LLM its logger, so the placement's first log line
crashed (`'NoneType' object has no attribute 'info'`) on a GPU machine. That placement asks NVML (`pynvml`)
for the GPUs, so here a stand-in module plays NVML's part, and the few `torch.cuda` answers the kit asks for
stand in for the one GPU; the model itself is built on the CPU (nothing here can hold it on a GPU).
"""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parent.parent / "kit/data/samples/quickstart.jsonl"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from kit.train.tinymodel import make_tiny_model

    texts = [json.loads(line)["problem"] for line in SAMPLE.read_text().splitlines()]
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model", texts)


@pytest.fixture
def placement_file(tmp_path, monkeypatch) -> Path:
    """distilabel's per-host file of which LLM holds which GPU, moved out of the shared temp folder."""
    from distilabel.models.mixins import cuda_device_placement

    path = tmp_path / "distilabel_cuda_device_placement_mixin.json"
    monkeypatch.setattr(cuda_device_placement, "_CUDA_DEVICE_PLACEMENT_MIXIN_FILE", path)
    return path


def stand_in_nvml(device_count: int) -> types.ModuleType:
    """A stand-in for `pynvml` (NVIDIA's NVML bindings): no NVIDIA driver here; it reports `device_count` GPUs."""
    module = types.ModuleType("pynvml", "Test stand-in for NVIDIA's NVML bindings (pynvml): no GPU driver here.")
    module.nvmlInit = lambda: None
    module.nvmlDeviceGetCount = lambda: device_count
    return module


def test_device_cuda_loads_on_the_current_gpu_without_distilabels_placement(tiny_model, placement_file, monkeypatch):
    import torch
    import transformers

    from kit.generation.llms import make_llm
    from kit.recipes import LLMConfig

    monkeypatch.setitem(sys.modules, "pynvml", stand_in_nvml(device_count=4))
    # Stand-in for one visible GPU: the user picked physical GPU 3, torch sees it as its current device 0.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    asked: list[object] = []
    build = transformers.pipeline

    def pipeline_on_the_cpu(*args, device=None, **kwargs):
        """Stand-in for placing the model on the GPU: records the device asked for, builds on the CPU."""
        asked.append(device)
        return build(*args, device="cpu", **kwargs)

    monkeypatch.setattr(transformers, "pipeline", pipeline_on_the_cpu)

    llm = make_llm(LLMConfig(backend="transformers", model=str(tiny_model), device="cuda"))
    llm.load()  # crashed here: AttributeError: 'NoneType' object has no attribute 'info'

    assert asked == ["cuda:0"]  # what torch means by "cuda": the current device, by its index
    assert llm.device == "cuda"  # the recipe's value is kept as written
    # distilabel's whole-host placement did not run: the GPU the user made visible is still the one used
    # (distilabel would have set CUDA_VISIBLE_DEVICES=0, NVML's physical GPU 0) and no GPU is claimed in its file
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3" and not placement_file.exists()
    [reply] = llm.replies([([{"role": "user", "content": "What is 2 + 2?"}], 7)], max_new_tokens=4,
                          temperature=0.0, top_p=1.0)
    assert reply["error"] is None and 0 < reply["output_tokens"] <= 4
    llm.unload()


def test_device_cuda_without_a_gpu_is_one_clear_error(tiny_model, placement_file):
    import torch

    from kit.generation.llms import make_llm
    from kit.recipes import LLMConfig, RecipeError

    assert not torch.cuda.is_available()  # this test is about a machine without one
    llm = make_llm(LLMConfig(backend="transformers", model=str(tiny_model), device="cuda"))
    # in a curation pipeline distilabel names the LLM, and unloads the step when its load fails; a run killed
    # earlier left this name's claim in the placement file
    llm._llm_identifier = "generate_samples-replica-0"
    placement_file.write_text(json.dumps({"generate_samples-replica-0": [0]}))
    with pytest.raises(RecipeError, match=r"device 'cuda' \(model .*\): torch finds no CUDA device"):
        llm.load()
    llm.unload()  # logs the stale claim's removal (it crashed too without a logger), the load error stays the one
    assert json.loads(placement_file.read_text()) == {}


@pytest.mark.parametrize("device", ["cpu", None])
def test_other_devices_load_as_written(tiny_model, device):
    from kit.generation.llms import make_llm
    from kit.recipes import LLMConfig

    llm = make_llm(LLMConfig(backend="transformers", model=str(tiny_model), device=device))
    llm.load()
    assert str(llm._pipeline.model.device) == "cpu" and llm.device == device
    llm.unload()


def test_the_vllm_backend_where_it_cannot_run_is_one_line_with_the_fix(monkeypatch):
    """In-process vLLM needs the vllm package and a CUDA GPU; without them distilabel failed deep in its own code (a
    traceback about pynvml). Here vllm is not installed; with a stand-in for it, torch still finds no GPU."""
    import importlib.util

    from kit.generation.llms import make_llm
    from kit.recipes import LLMConfig, RecipeError

    cfg = LLMConfig(backend="vllm", model="some/model")
    if importlib.util.find_spec("vllm") is None:
        with pytest.raises(RecipeError, match=r"needs the vllm package.*reasoning-hub-kit\[vllm\].*backend=transformers"):
            make_llm(cfg)
        monkeypatch.setitem(sys.modules, "vllm", types.ModuleType("vllm"))
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "vllm" else real(name, *a))
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RecipeError, match="needs a CUDA GPU and torch finds none; use the transformers backend"):
        make_llm(cfg)
