"""The attention implementation a run trains with: `model.attn_implementation`, `auto` by default.

`auto` picks, in this order, the first that is installed and supports the run:

1. flash-attn 3 (`flash_attn_interface`, Hopper GPUs) or flash-attn 2 (the `flash-attn` package): varlen
   kernels, so padding-free packed rows cost no mask at all;
2. the same kernels from the Hub (transformers' `kernels` fallback, e.g. kernels-community/flash-attn2),
   when the `kernels` package is installed and the Hub can be reached;
3. `flex_attention` when the rows are packed without padding (TRL's `packing: true` with the bfd strategies,
   or `padding_free: true`): a block-sparse mask, compiled once when training starts (35-60 s on an H200);
4. `sdpa` - except for padding-free packing at a micro-batch above 1: TRL flattens the micro-batch into one
   row, for which sdpa gets a dense (batch x max_length)^2 mask in every layer (96 GiB at 4 x 8k on an H200,
   at half the speed), so `auto` turns packing off instead, and says so.

An explicit value is honoured and checked: a package that is missing is a one-line error naming the pip
command, and sdpa or eager with padding-free packing above a micro-batch of 1 is refused.
Training needs CUDA for everything but eager and sdpa (torch has no CPU backward for flex_attention).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kit.recipes import RecipeError

AUTO = "auto"
FLASH = ("flash_attention_3", "flash_attention_2")
BUILT_IN = ("eager", "sdpa", "flex_attention", *FLASH)
QUADRATIC = ("eager", "sdpa")  # a dense mask per layer for packed rows
INSTALL = {
    "flash_attention_2": "pip install flash-attn --no-build-isolation (or pip install kernels, for the Hub build)",
    "flash_attention_3": "build flash-attn 3 from flash-attention's hopper/ folder (or pip install kernels, for "
                         "the Hub build)",
    "kernels": "pip install kernels",
}


@dataclass(frozen=True)
class Attention:
    """The choice: the implementation the model is loaded with, why, and whether it turns padding-free packing
    off (`unpacked`: the run then sets `packing` and `padding_free` false)."""

    implementation: str
    reason: str
    unpacked: bool = False

    @property
    def line(self) -> str:
        return f"attention: {self.implementation} ({self.reason})"


def padding_free(sft: Mapping[str, Any]) -> bool:
    """Whether TRL flattens each micro-batch into one row of sequences (its padding-free mode)."""
    packed = bool(sft.get("packing")) and sft.get("packing_strategy", "bfd") in ("bfd", "bfd_split")
    return bool(sft.get("padding_free")) or packed


def _module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def installed(*, cuda: bool, hopper: bool = False, hub_kernels: Callable[[str], bool] | None = None) -> list[str]:
    """The fast implementations usable here, best first: the flash-attn packages, else the Hub's build of
    flash-attn (3 on Hopper, else 2) through `kernels`, then flex_attention. None without CUDA."""
    found: list[str] = []
    if cuda:
        if hopper and _module("flash_attn_interface"):
            found.append("flash_attention_3")
        if _module("flash_attn"):
            found.append("flash_attention_2")
        kernel = hub_kernel("flash_attention_3" if hopper else "flash_attention_2")
        if not found and (hub_kernels or _hub_kernel_loads)(kernel):
            found.append(kernel)
        found.append("flex_attention")
    return found


def hub_kernel(implementation: str) -> str:
    """The Hub repo transformers loads for `implementation` when the flash-attn package is missing."""
    from transformers.modeling_flash_attention_utils import FLASH_ATTN_KERNEL_FALLBACK

    return FLASH_ATTN_KERNEL_FALLBACK[implementation]


def hub_kernels_installed(kernel: str = "") -> bool:
    """`kernels` is installed and the Hub is not switched off (HF_HUB_OFFLINE): `kernel` (any: the plan's
    stand-in for `_hub_kernel_loads`, which fetches nothing) could be fetched."""
    return _module("kernels") and os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("1", "true", "yes", "on")


def _hub_kernel_loads(kernel: str) -> bool:
    """The Hub kernel loads here (fetched once, then from the cache)."""
    if not hub_kernels_installed():
        return False
    try:
        from kernels import get_kernel
        from transformers.integrations.hub_kernels import get_attn_kernel_version

        get_kernel(kernel, version=get_attn_kernel_version(kernel))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not usable here"
        return False


def choose(requested: str | None, sft: Mapping[str, Any], *, cuda: bool, available: list[str] | None = None,
           hopper: bool = False, here: bool = True) -> Attention:
    """Resolve `model.attn_implementation` for a run with these SFT settings; RecipeError on a forced choice
    that cannot work. `available` is what `installed()` finds (passed in by the plan and the tests); `here`
    False (the plan of a GPU run made elsewhere) checks an explicit value's name but not its packages."""
    requested = requested or AUTO
    packed_free = padding_free(sft)
    micro = int(sft.get("per_device_train_batch_size", 8))
    available = installed(cuda=cuda, hopper=hopper) if available is None else available
    if requested != AUTO:
        check(requested, cuda=cuda, packages=here)
        refused = refusal(requested, sft)
        if refused:
            raise RecipeError(refused)
        return Attention(requested, "set in the recipe")
    fast = [name for name in available if name != "flex_attention"]
    if fast:
        return Attention(fast[0], "auto: the fastest installed" if fast[0] in FLASH else
                         "auto: flash-attn from the Hub through the kernels package (flash-attn is not installed)")
    if packed_free and "flex_attention" in available:
        return Attention("flex_attention", "auto: padding-free packing and no flash-attn installed; "
                         "compiled when training starts")
    if packed_free and micro > 1:
        return Attention("sdpa", f"auto: packing turned off - sdpa would build a dense ({micro} x max_length)^2 "
                         "mask per layer for padding-free packed rows; install flash-attn or train on a GPU "
                         "(flex_attention) to pack", unpacked=True)
    return Attention("sdpa", "auto: no flash-attn installed" if cuda else "auto: no GPU here")


def refusal(requested: str | None, sft: Mapping[str, Any]) -> str | None:
    """Why a forced implementation is refused for these SFT settings (a dense mask per layer), or None."""
    micro = int(sft.get("per_device_train_batch_size", 8))
    if requested in QUADRATIC and padding_free(sft) and micro > 1:
        return (f"model.attn_implementation: {requested} with padding-free packing at per_device_train_batch_size "
                f"{micro} gets a dense ({micro} x max_length)^2 mask in every layer; use auto, flex_attention or "
                "flash_attention_2, or set sft.per_device_train_batch_size: 1 or sft.packing: false")
    return None


def check(name: str, *, cuda: bool, packages: bool = True) -> None:
    """A one-line RecipeError when `name` cannot run here (`packages` False: only that it is a valid name)."""
    if "/" in name:  # a Hub kernel, e.g. kernels-community/flash-attn3
        if packages and not _module("kernels"):
            raise RecipeError(f"model.attn_implementation: {name} is a Hub kernel and needs the kernels package: "
                              f"{INSTALL['kernels']}")
    elif name not in BUILT_IN:
        raise RecipeError(f"model.attn_implementation: {name!r} is not one of auto, {', '.join(BUILT_IN)} or a Hub "
                          "kernel (org/name)")
    if name in QUADRATIC or not packages:
        return
    if not cuda:
        raise RecipeError(f"model.attn_implementation: {name} trains on CUDA GPUs only and this machine has none; "
                          "use auto (sdpa here)")
    package = {"flash_attention_2": "flash_attn", "flash_attention_3": "flash_attn_interface"}.get(name)
    if package and not _module(package) and not _module("kernels"):
        raise RecipeError(f"model.attn_implementation: {name} needs the {package} package: {INSTALL[name]}")
