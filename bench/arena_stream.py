"""The Reasoning Arena's transformers backend against a plain `model.generate` of the same tokens.

Both run in this process on the same loaded model (the backend's: on CUDA in bf16 when the GPU has it), with the
same prompt and exactly `--tokens` new tokens (eos disabled), alternating, `--rounds` times each after one
warm-up of each. Prints both tokens/s, the device and dtype, and the ratio backend/plain (goal: >= 0.9; the
backend streams each token to another thread and detokenizes incrementally).

    PYTHONPATH=. python bench/arena_stream.py                      # a tiny random model built here (CPU or GPU)
    PYTHONPATH=. python bench/arena_stream.py --model out/tiny-cpu --tokens 256
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    import torch

    from kit.demo.backends import ModelSpec, TransformersBackend

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a model folder (default: a tiny random model built here)")
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per generation")
    parser.add_argument("--rounds", type=int, default=10, help="timed generations of each side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model
        if model_dir is None:
            from kit.train.tinymodel import make_tiny_model

            texts = [f"<think>\n{a} times {b} is {a * b}\n</think>\n\n{a * b}" for a in range(30) for b in range(30)]
            model_dir = str(make_tiny_model(Path(tmp) / "tiny", texts, hidden_size=256, layers=4, heads=4))
        backend = TransformersBackend(ModelSpec("transformers", model_dir))
        model, tokenizer = backend.load()[:2]
        model.generation_config.eos_token_id = None  # every generation makes exactly --tokens tokens
        messages = [{"role": "user", "content": "What is 6 times 7? Think step by step."}]
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)

        def streamed() -> float:
            started, n = time.perf_counter(), 0
            for piece in backend.stream(messages, max_new_tokens=args.tokens, temperature=0.0,
                                        stop=threading.Event()):
                n += piece.tokens
            return n / (time.perf_counter() - started)

        def plain() -> float:
            started = time.perf_counter()
            with torch.inference_mode():
                out = model.generate(**inputs, max_new_tokens=args.tokens, do_sample=False, temperature=None,
                                     top_p=None, top_k=None, pad_token_id=tokenizer.pad_token_id)
            return (out.shape[1] - inputs["input_ids"].shape[1]) / (time.perf_counter() - started)

        streamed(), plain()  # warm-up: kernels, caches
        results: dict[str, list[float]] = {"backend": [], "plain": []}
        for r in range(args.rounds):
            for name, side in ((("backend", streamed), ("plain", plain)) if r % 2 == 0 else
                               (("plain", plain), ("backend", streamed))):
                results[name].append(side())
    ratios = [a / b for a, b in zip(results["backend"], results["plain"], strict=True)]
    print(f"torch {torch.__version__}, {model.device}, {model.dtype}, {args.tokens} tokens x {args.rounds} rounds")
    print(f"  arena backend (TransformersBackend.stream): {statistics.median(results['backend']):8.1f} tokens/s")
    print(f"  plain model.generate (inference mode):      {statistics.median(results['plain']):8.1f} tokens/s")
    print(f"  ratio backend/plain {statistics.median(ratios):.3f} (median of paired rounds); goal >= 0.9")


if __name__ == "__main__":
    main()
