"""`kit train` on the CPU: the tiny-cpu recipe on the quickstart output of `kit curate`.

What is trained on is checked in-process (the rendered text keeps <think>, the loss covers only the assistant
reply, a template that drops the reasoning is refused, the warmup-stable-decay schedule); whole runs go
through the CLI in child processes: one pushes to the Hub stand-in and the pushed model is loaded back over
HTTP, one is killed with SIGKILL mid-way and resumes from its checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import trl
from huggingface_hub import ModelCard

from kit.hub.cards import check_card
from kit.hub.publish import publish
from kit.recipes import RecipeError
from kit.recipes.train import load_train_recipe
from kit.train.chat import apply_template
from kit.train.data import load_mixture
from kit.train.run import load_model, load_tokenizer, make_trainer, trl_config
from kit.train.tinymodel import make_tiny_model
from tests.test_hub_publish import api, hub_env, over_http

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "recipes/sft/tiny-cpu.yaml"


def tiny(quickstart: Path, out: Path, *sets: str):
    return load_train_recipe(TINY, [f"data.mixture.0.path={quickstart}", f"output.dir={out}", *sets])


def trainer_for(recipe):
    dataset, _ = load_mixture(recipe.data, log=lambda _: None)
    args = trl_config(recipe, log=lambda _: None)
    tokenizer = load_tokenizer(recipe.model, dataset)
    added = apply_template(recipe.chat_template, tokenizer, args.assistant_only_loss)
    model = load_model(recipe.model, tokenizer, added, seed=args.seed)
    return make_trainer(recipe, model, args, dataset, tokenizer), dataset, tokenizer


def train_cli(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "kit.cli", "train", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                            **kwargs)


def kill_after_checkpoint(run: subprocess.Popen[str], checkpoint: Path, timeout: float = 300) -> int:
    """SIGKILL `run` (and its children) once `checkpoint` is complete; the step of the last complete checkpoint."""
    deadline = time.monotonic() + timeout
    while not (checkpoint / "kit_elapsed.json").exists():
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()[0]
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)
    run.communicate()
    return max(int(p.parent.name.split("-")[1]) for p in checkpoint.parent.glob("checkpoint-*/kit_elapsed.json"))


def losses(checkpoints: Path) -> list[float]:
    last = max(checkpoints.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    state = json.loads((last / "trainer_state.json").read_text())
    return [entry["loss"] for entry in state["log_history"] if "loss" in entry]


def test_training_text_keeps_think_and_the_loss_covers_only_the_assistant_reply(quickstart, tmp_path):
    trainer, dataset, tokenizer = trainer_for(tiny(quickstart, tmp_path / "out"))
    for i in range(4):
        messages = dataset[i]["messages"]
        assert messages[-1]["role"] == "assistant" and messages[-1]["content"].startswith("<think>\n")
        batch = trainer.data_collator([trainer.train_dataset[i]])
        ids, labels = batch["input_ids"][0], batch["labels"][0]
        text = tokenizer.decode(ids)
        assert text == tokenizer.apply_chat_template(messages, tokenize=False)  # nothing cut, nothing added
        assert "<think>\n" in text and "\n</think>\n\n" in text
        trained = tokenizer.decode(ids[labels != -100])
        assert trained == messages[-1]["content"] + "<|im_end|>"  # the whole reply and its end, nothing else
        for turn in messages[:-1]:
            assert turn["content"] not in trained


def test_a_template_that_drops_the_reasoning_is_refused(quickstart, tmp_path):
    # DeepSeek-R1-Distill's own template renders assistant turns without their <think> block.
    drops = Path(trl.__file__).parent / "chat_templates" / "deepseek_r1_distill.jinja"
    recipe = tiny(quickstart, tmp_path / "out", f"chat_template={drops}", "sft.assistant_only_loss=false")
    with pytest.raises(RecipeError, match="drops <think>"):
        trainer_for(recipe)


def test_grpo_takes_a_template_that_opens_the_reasoning_and_its_rewards_know_it():
    """GRPO renders only prompts: DeepSeek-R1-Distill's own template (which drops past reasoning, and ends the
    generation prompt with `<think>`) is taken, and the opener it ends with is what the rewards read completions
    with; ChatML opens nothing."""
    from kit.train.chat import generation_opener
    from kit.train.tinymodel import train_tokenizer

    distill = str(Path(trl.__file__).parent / "chat_templates" / "deepseek_r1_distill.jinja")
    with pytest.raises(RecipeError, match="drops <think>"):
        apply_template(distill, train_tokenizer(["a b c"]), False)
    tokenizer = train_tokenizer(["a b c"])
    apply_template(distill, tokenizer, False, prompts_only=True)
    assert generation_opener(tokenizer) == "<think>"
    tokenizer = train_tokenizer(["a b c"])
    apply_template("kit", tokenizer, False, prompts_only=True)
    assert generation_opener(tokenizer) is None


def test_the_open_r1_template_adds_its_system_prompt_keeps_the_reasoning_and_trains_on_it_all(quickstart, tmp_path):
    """recipes/sft/openr1-distill-7b.jinja, as open-r1's OpenR1-Distill-7B run trained: ChatML, the Open-R1 system
    prompt where a conversation has none, and (no assistant-only loss) the loss on every token."""
    recipe = load_train_recipe(ROOT / "recipes/sft/openr1-distill-7b.yaml")
    template = Path(recipe.chat_template)
    assert template.name == "openr1-distill-7b.jinja" and recipe.sft["assistant_only_loss"] is False
    trainer, dataset, tokenizer = trainer_for(tiny(quickstart, tmp_path / "out", f"chat_template={template}",
                                                   "sft.assistant_only_loss=false"))
    messages = dataset[0]["messages"]
    batch = trainer.data_collator([trainer.train_dataset[0]])
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    text = tokenizer.decode(ids)
    assert messages[0]["role"] == "system" and text.startswith(f"<|im_start|>system\n{messages[0]['content']}<|im_end|>")
    assert text.endswith(f"<|im_start|>assistant\n{messages[-1]['content']}<|im_end|>\n")
    assert "<think>\n" in text and "\n</think>\n\n" in text
    assert bool((labels != -100).all())
    # a conversation without a system turn (Mixture-of-Thoughts') gets the Open-R1 system prompt
    alone = tokenizer.apply_chat_template(messages[1:], tokenize=False)
    assert alone.startswith("<|im_start|>system\nYou are Open-R1, a language model trained by Hugging Face")
    assert alone.endswith(text[text.index("<|im_start|>user"):])


def test_warmup_stable_decay_holds_the_rate_then_decays_over_decay_ratio(quickstart, tmp_path):
    recipe = tiny(quickstart, tmp_path / "out", "sft.max_steps=8", "sft.save_strategy='no'", "sft.warmup_steps=0",
                  "sft.lr_scheduler_type=warmup_stable_decay", "sft.learning_rate=0.001",
                  "sft.lr_scheduler_kwargs={decay_ratio: 0.5, decay_type: linear}")
    trainer, _, _ = trainer_for(recipe)
    trainer.train()
    rates = [e["learning_rate"] for e in trainer.state.log_history if "learning_rate" in e]
    assert len(rates) == 8
    assert rates[:5] == [pytest.approx(1e-3)] * 5  # stable for the first half (+ the step where decay starts)
    assert all(a > b for a, b in zip(rates[4:], rates[5:], strict=False))
    assert rates[-1] < 0.3e-3


def test_dry_run_prints_the_plan_from_the_real_tokenizer(quickstart, tmp_path):
    proc = train_cli(str(TINY), "--dry-run", "--set", f"data.mixture.0.path={quickstart}",
                     "--set", "sft.max_steps=-1", "--set", "sft.num_train_epochs=2",
                     "--out", str(tmp_path / "out"), env={**os.environ, "COLUMNS": "200"})
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    recipe = tiny(quickstart, tmp_path / "out")
    rows = len(load_mixture(recipe.data, log=lambda _: None)[0])
    batch = recipe.sft["per_device_train_batch_size"]
    assert f"samples         │ {rows}" in out
    assert f"steps           │ {2 * -(-rows // batch)} ({-(-rows // batch)} per epoch)" in out
    assert "memory per GPU" in out and "parameters" in out
    assert not (tmp_path / "out").exists()


def test_a_base_model_out_of_reach_is_one_line_before_it_loads(quickstart, tmp_path):
    """Offline, a Hub base model not in the cache made huggingface_hub retry each file for half a minute, in tens
    of log lines, before the kit's line, whose fix did not say to reach the Hub. It is one line, said at once."""
    proc = train_cli(str(TINY), "--dry-run", "--set", f"data.mixture.0.path={quickstart}",
                     "--set", "model.init=pretrained", "--set", "model.tokenizer=null",
                     "--set", "model.name_or_path=someorg/no-such-base",
                     env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 2, out
    assert out.strip().splitlines()[-1].startswith(
        "error: model.name_or_path: someorg/no-such-base: no such folder, and no Hub model someorg/no-such-base "
        "could be reached (OfflineModeIsEnabled: ")
    assert out.strip().endswith("- reach the Hub (HF_HUB_OFFLINE unset, the network, HF_ENDPOINT), or make it with "
                                "kit train RECIPE") and "Retrying" not in out


def test_tiny_cpu_trains_a_hub_model_on_a_hub_dataset_and_pushes_a_loadable_model(hub, quickstart, tmp_path):
    texts = [m["content"] for row in load_mixture(tiny(quickstart, tmp_path).data, log=lambda _: None)[0]
             for m in row["messages"]]
    base = make_tiny_model(tmp_path / "base", texts, hidden_size=64, layers=2, heads=4)
    publish(base, "standin-org/tiny-qwen2", repo_type="model", api=api(hub), log=lambda _: None)
    dataset = publish(quickstart, "standin-org/quickstart", repo_type="dataset", api=api(hub), log=lambda _: None)
    out = tmp_path / "out"
    proc = train_cli(str(TINY), "--out", str(out), "--set", "model.init=pretrained",
                     "--set", "model.name_or_path=standin-org/tiny-qwen2", "--set", "model.tokenizer=null",
                     "--set", "data.mixture.0.path=standin-org/quickstart", "--set", "hub.repo=standin-org/tiny-sft",
                     "--set", "sft.max_steps=15", "--set", "sft.save_steps=15", env=hub_env(hub, tmp_path))
    log, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, log
    assert hub.token not in log
    for file in [*out.rglob("*"), *Path(f"{out}.checkpoints").rglob("*")]:  # nor in anything written or pushed
        assert not file.is_file() or hub.token.encode() not in file.read_bytes(), file

    trained = losses(Path(f"{out}.checkpoints"))
    assert sum(trained[-3:]) / 3 < sum(trained[:3]) / 3 - 0.5, trained  # the loss goes down

    card_text = (out / "README.md").read_text()
    check_card(card_text, "model")
    card = ModelCard(card_text)
    assert card.data.base_model == "standin-org/tiny-qwen2"
    assert card.data.datasets == ["standin-org/quickstart"]
    results = json.loads((out / "train_results.json").read_text())
    assert results["datasets"][0]["revision"] == dataset.commit  # the exact commit read
    assert dataset.commit[:7] in card_text
    assert results["metrics"]["global_step"] == 15

    got = over_http(hub, tmp_path, "import json, torch; from transformers import AutoModelForCausalLM, AutoTokenizer; "
                    "m = AutoModelForCausalLM.from_pretrained('standin-org/tiny-sft'); "
                    "t = AutoTokenizer.from_pretrained('standin-org/tiny-sft'); "
                    "ids = t.apply_chat_template([{'role': 'user', 'content': 'What is 2+2?'}], "
                    "add_generation_prompt=True, return_tensors='pt', return_dict=True)['input_ids']; "
                    "print(json.dumps(m(ids).logits[0, -1].tolist()))")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    local, tokenizer = AutoModelForCausalLM.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    ids = tokenizer.apply_chat_template([{"role": "user", "content": "What is 2+2?"}], add_generation_prompt=True,
                                       return_tensors="pt", return_dict=True)["input_ids"]
    assert torch.allclose(torch.tensor(got), local(ids).logits[0, -1].detach(), atol=1e-5)


def test_a_run_killed_mid_way_resumes_from_its_last_checkpoint(quickstart, tmp_path):
    out = tmp_path / "out"
    args = (str(TINY), "--out", str(out), "--set", f"data.mixture.0.path={quickstart}", "--set", "sft.max_steps=12",
            "--set", "sft.save_steps=4")
    checkpoints = Path(f"{out}.checkpoints")
    last = kill_after_checkpoint(train_cli(*args), checkpoints / "checkpoint-4")
    assert not (out / "train_results.json").exists()
    before = json.loads((checkpoints / f"checkpoint-{last}" / "kit_elapsed.json").read_text())["seconds"]

    second = train_cli(*args)
    log, _ = second.communicate(timeout=600)
    assert second.returncode == 0, log
    assert f"resuming from {checkpoints}/checkpoint-{last}" in log
    state = json.loads((checkpoints / "checkpoint-12" / "trainer_state.json").read_text())
    steps = [e["step"] for e in state["log_history"] if "loss" in e]
    assert steps == list(range(1, 13))  # one history: steps before the kill, then the rest
    results = json.loads((out / "train_results.json").read_text())
    assert results["metrics"]["global_step"] == 12
    assert results["compute"]["hours"] * 3600 > before  # the hours count the run before the kill too
    # and so do the mean loss and the runtime the card shows (the Trainer's cover the part after the checkpoint)
    losses = [e["loss"] for e in state["log_history"] if "loss" in e]
    assert results["metrics"]["train_loss"] == pytest.approx(sum(losses) / len(losses))
    assert results["metrics"]["train_runtime"] > before

    again = train_cli(*args)
    log, _ = again.communicate(timeout=300)
    assert again.returncode == 2 and "already holds a finished run" in log


def test_ctrl_c_says_the_same_command_resumes_from_the_last_checkpoint(quickstart, tmp_path):
    """Ctrl-C (SIGINT to the terminal's process group) stopped a run with no word; it now says where the same
    command resumes from, and exits 130."""
    out = tmp_path / "out"
    run = train_cli(str(TINY), "--out", str(out), "--set", f"data.mixture.0.path={quickstart}", "--set",
                    "sft.max_steps=200", "--set", "sft.save_steps=2")
    checkpoints = Path(f"{out}.checkpoints")
    deadline = time.monotonic() + 300
    while not (checkpoints / "checkpoint-2" / "kit_elapsed.json").exists():
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()[0]
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGINT)
    log, _ = run.communicate(timeout=120)
    assert run.returncode == 130, log
    assert f"stopped: the same command resumes from the last checkpoint saved in {checkpoints}/" in log, log[-3000:]


def test_a_built_tokenizer_reloads_identically_from_the_model_folder(quickstart, tmp_path):
    # transformers 5 rebuilds a qwen2 model's tokenizer with Qwen2's own pipeline on loading; the kit builds
    # with that pipeline, so the pushed model is read with exactly the tokens it was trained on.
    from transformers import AutoTokenizer

    trainer, dataset, tokenizer = trainer_for(tiny(quickstart, tmp_path / "out", "sft.max_steps=1"))
    trainer.save_model(str(tmp_path / "model"))
    reloaded = AutoTokenizer.from_pretrained(tmp_path / "model")
    for row in dataset:
        text = tokenizer.apply_chat_template(row["messages"], tokenize=False)
        assert reloaded.apply_chat_template(row["messages"], tokenize=False) == text
        assert reloaded(text)["input_ids"] == tokenizer(text)["input_ids"]


@pytest.mark.parametrize(("seconds", "said"), [(10.4, "10 s"), (119, "119 s"), (150, "2.5 min"), (7200, "2.00 h")])
def test_the_run_length_reads_as_a_person_says_it(seconds, said):
    """A tiny run said it took `0.00 h`."""
    from kit.train.run import duration

    assert duration(seconds) == said
