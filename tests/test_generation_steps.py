"""The optional model steps of the generation pipeline, end to end through `kit curate`: the reformatter and
the LLM judge, each played by the OpenAI-compatible stand-in (tests/teacherserver) under its own model name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.test_generation_llms import SAMPLING, completion, stand_in_server
from tests.test_generation_pipeline import KEY_ENV, SAMPLE, curate, problems_file, write_recipe

REFORMATTER = "standin/reformatter"
JUDGE = "standin/judge"
# (domain, problem, reference, the teacher's answer, whether the judge accepts it)
JUDGED = [
    ("science", "STANDIN: science. Which gas do green plants take in from the air for photosynthesis?",
     "carbon dioxide", "Carbon dioxide (CO2), fixed in the Calvin cycle.", True),
    ("science", "STANDIN: science. What is the chemical symbol of sodium?", "Na", "Its symbol is S.", False),
    ("puzzle", "STANDIN: puzzle. A farmer has 17 sheep; all but 9 run away. How many are left?", "9",
     "Nine sheep are left.", True),
]


def sky_t1(reasoning: str, answer: str) -> str:
    return (f"<|begin_of_thought|>\n\nCLEAN: {reasoning}\n\n<|end_of_thought|>\n\n"
            f"<|begin_of_solution|>\n\n{answer}\n\n<|end_of_solution|>")


def record_models(teacher, math_problems: list[str]) -> list[dict]:
    """Replies of the teacher, the reformatter and the judge; returns the judged problems' rows.

    The puzzle's rewrite never closes its thinking, so its samples are rejected at `reformat`."""
    rows = []
    for domain, problem, reference, answer, right in JUDGED:
        teacher.add_recording(problem, [{"reasoning_content": "Let me recall the facts.", "content": answer}])
        rewrite = sky_t1("Recall the facts.", answer) if domain == "science" else "<|begin_of_thought|>Hmm"
        teacher.add_recording(problem, [{"content": rewrite}], model=REFORMATTER)
        verdict = {"correct": right, "reason": "the same answer" if right else "a different answer"}
        teacher.add_recording(answer, [{"content": json.dumps(verdict)}], model=JUDGE)
        rows.append({"problem": problem, "domain": domain, "source": "standin", "ground_truth_answer": reference})
    first = {}
    for line in SAMPLE.read_text().splitlines():
        row = json.loads(line)
        first.setdefault(row["problem"], row)
    for problem in math_problems:
        teacher.add_recording(problem, [{"content": sky_t1(first[problem]["reasoning"], first[problem]["solution"])}],
                              model=REFORMATTER)
    return rows


def test_reformat_and_judge_run_in_the_pipeline_and_resume_from_their_stores(teacher, tmp_path):
    math_file = problems_file(tmp_path / "math.jsonl", limit=3)
    math_problems = [json.loads(line)["problem"] for line in math_file.read_text().splitlines()]
    source = problems_file(tmp_path / "problems.jsonl", limit=3, extra=record_models(teacher, math_problems))
    template = tmp_path / "reformat.j2"
    template.write_text("Rewrite this trace.\n\n{{ problem }}\n\n{{ reasoning }}\n\n{{ solution }}\n")
    recipe = write_recipe(tmp_path / "recipe.yaml", teacher, source)
    llm = f"backend: openai, base_url: '{teacher.base_url}', api_key_env: {KEY_ENV}, max_retries: 1"
    text = recipe.read_text().replace("verify: {workers: 2,", f"verify: {{judge: {{model: {JUDGE}, {llm}}}, workers: 2,")
    recipe.write_text(text + f"reformat: {{model: {REFORMATTER}, prompt: {template}, {llm}}}\n")

    out = tmp_path / "out"
    result = curate(recipe, out, teacher)
    assert result.returncode == 0, result.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert [s["stage"] for s in stats["stages"]][4:7] == ["generate", "reformat", "verify"]
    asked: dict[str, list] = {}
    for request in teacher.requests_matching(path="/chat/completions"):
        asked.setdefault(request.model, []).append(request)
    assert len(asked[teacher.model]) == 6 * 2  # 6 problems x 2 samples, each asked once
    assert len(asked[REFORMATTER]) == 6 * 2  # every usable sample rewritten once, from the recipe's template
    assert all(r.body["messages"][-1]["content"].startswith("Rewrite this trace.") for r in asked[REFORMATTER])
    assert len(asked[JUDGE]) == 2 * 2  # the science samples (the puzzle's were dropped at reformat)
    assert all(r.response_format["type"] == "json_schema" for r in asked[JUDGE])
    assert stats["rejections"]["reformat"] == {"unclosed_think": 2}
    judged_wrong = [r for r in stats["rejected_rows"] if r["reason"] == "judged_wrong"]
    assert len(judged_wrong) == 2 and all(r["stage"] == "verify" for r in judged_wrong)

    rows = pq.read_table(sorted((out / "metadata").glob("*.parquet"))).to_pylist()
    science = [r for r in rows if r["domain"] == "science"]
    assert len(science) == 2 and all(r["verifier"] == "llm-judge" and r["verified"] for r in science)
    assert all(json.loads(r["verification"])["judge"] == JUDGE for r in science)
    assert all(r["reasoning"].startswith("CLEAN: ") for r in rows)
    assert all(json.loads(r["generation"])["reformatted_by"] == REFORMATTER for r in rows)
    assert {r["verifier"] for r in rows if r["domain"] == "math"} == {"math-verify"}

    # A second run over the same stores asks no model anything and writes the same dataset.
    teacher.clear_log()
    again = tmp_path / "again"
    second = curate(recipe, again, teacher, "--set", f"teacher.store={out.with_name('out.samples')}")
    assert second.returncode == 0, second.stderr
    assert teacher.requests_matching(path="/chat/completions") == []
    for name in ("data", "metadata"):
        assert [p.read_bytes() for p in sorted((again / name).glob("*.parquet"))] == \
               [p.read_bytes() for p in sorted((out / name).glob("*.parquet"))]
    assert json.loads((again / "stats.json").read_text()) == stats
    assert sorted(p.name for p in out.with_name("out.samples").iterdir() if p.is_dir()) == ["judge", "reformat"]
    # The key (teacher, reformatter and judge share it here) is in no output, store or file written.
    assert teacher.api_key not in result.stdout + result.stderr + second.stdout + second.stderr
    written = [p for base in (out, again, out.with_name("out.samples")) for p in base.rglob("*") if p.is_file()]
    assert written and not [p for p in written if teacher.api_key.encode() in p.read_bytes()]


def test_a_reformat_template_that_is_missing_is_a_recipe_error(teacher, tmp_path):
    recipe = write_recipe(tmp_path / "recipe.yaml", teacher, problems_file(tmp_path / "p.jsonl", limit=1))
    recipe.write_text(recipe.read_text() + f"reformat: {{model: m, prompt: nowhere.j2, api_key_env: {KEY_ENV}}}\n")
    result = curate(recipe, tmp_path / "out", teacher)
    assert result.returncode == 2
    assert "reformat.prompt: no such template file: nowhere.j2" in result.stderr
    assert teacher.requests == []


def test_requests_are_spread_over_several_servers_of_one_model(teacher, monkeypatch):
    """`base_url: URL1,URL2` (one vLLM server per node): each request goes to one server, picked by its seed."""
    from kit.generation.llms import KitOpenAILLM
    from tests.teacherserver import TeacherServer

    second = TeacherServer(api_key=teacher.api_key).start()
    try:
        monkeypatch.setenv(KEY_ENV, teacher.api_key)
        llm = KitOpenAILLM(model=teacher.model, base_url=f"{teacher.base_url}, {second.base_url}", api_key_env=KEY_ENV,
                           max_retries=0)
        llm.load()
        problem = json.loads(SAMPLE.read_text().splitlines()[0])["problem"]
        replies = llm.replies([([{"role": "user", "content": problem}], seed) for seed in range(6)],
                              max_new_tokens=1000, temperature=0.6, top_p=0.95)
        assert all(r["error"] is None and r["content"] for r in replies)
        assert sorted(r.seed for r in teacher.requests) == [0, 2, 4]
        assert sorted(r.seed for r in second.requests) == [1, 3, 5]
        assert llm.dump()["base_url"] == f"{teacher.base_url}, {second.base_url}"
    finally:
        second.stop()


def test_recipe_keys_a_user_can_rely_on(tmp_path):
    from kit.recipes import RecipeError, load_data_recipe

    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: keys\nsource: {path: kit:samples/quickstart.jsonl, columns: {problem: question}}\n"
                      "teacher: {backend: openai, model: m}\n")
    loaded = load_data_recipe(recipe, ["source.path=org/data", "source.split=test", "teacher.model=Qwen/QwQ-32B",
                                  "teacher.base_url=http://h:8000/v1", "teacher.api_key_env=MY_KEY",
                                  "generation.num_generations=4", "generation.temperature=0.6",
                                  "generation.max_new_tokens=2048"])
    (source,) = loaded.sources
    assert (source.path, source.split, source.columns) == ("org/data", "test", {"problem": "question"})
    assert (loaded.teacher.model, loaded.teacher.base_url, loaded.teacher.api_key_env) == \
           ("Qwen/QwQ-32B", "http://h:8000/v1", "MY_KEY")
    assert (loaded.generation.num_generations, loaded.generation.temperature,
            loaded.generation.max_new_tokens) == (4, 0.6, 2048)
    quickstart = Path(__file__).resolve().parents[1] / "recipes/data/quickstart.yaml"
    assert load_data_recipe(quickstart, ["source.limit=3"]).sources[0].limit == 3  # `sources:` with one entry
    with pytest.raises(RecipeError, match=r"verify.judge runs in the generation pipeline") as err:
        load_data_recipe(quickstart, ["verify.judge.model=m"])
    assert "\n" not in str(err.value) and "got" not in str(err.value)


@pytest.mark.timeout(400)
def test_engine_ray_runs_the_same_pipeline_on_a_local_ray_instance(teacher, tmp_path):
    """`engine: ray` on a private local Ray instance gives the dataset the local engine gives."""
    pytest.importorskip("ray")
    source = problems_file(tmp_path / "problems.jsonl", limit=3)
    recipe = write_recipe(tmp_path / "recipe.yaml", teacher, source)
    local = curate(recipe, tmp_path / "local", teacher)
    assert local.returncode == 0, local.stderr
    teacher.clear_log()
    on_ray = curate(recipe, tmp_path / "ray", teacher, "--set", "engine=ray")
    assert on_ray.returncode == 0, on_ray.stderr
    assert len(teacher.requests_matching(path="/chat/completions")) == 3 * 2  # its own store: asked again
    for name in ("data", "metadata"):
        assert [p.read_bytes() for p in sorted((tmp_path / "ray" / name).glob("*.parquet"))] == \
               [p.read_bytes() for p in sorted((tmp_path / "local" / name).glob("*.parquet"))]
    assert json.loads((tmp_path / "ray" / "stats.json").read_text()) == \
           json.loads((tmp_path / "local" / "stats.json").read_text())


@pytest.mark.timeout(400)
def test_engine_ray_reports_a_step_that_cannot_load(teacher, tmp_path):
    """A step that fails to load on Ray ends the run with one line, as on the local engine (RayPipeline
    alone would return an empty result)."""
    pytest.importorskip("ray")
    recipe = write_recipe(tmp_path / "recipe.yaml", teacher, problems_file(tmp_path / "p.jsonl", limit=1))
    recipe.write_text(recipe.read_text().replace("backend: openai", "backend: transformers").replace(
        f"model: {teacher.model}", f"model: {tmp_path / 'no-such-model'}"))
    result = curate(recipe, tmp_path / "out", teacher, "--set", "engine=ray")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: the generation pipeline stopped")


def test_generate_reports_live_progress(teacher, tmp_path, monkeypatch):
    """The live bar's numbers: samples done / total, the verified rate and tokens/s, ending at the total."""
    from kit.core.schema import problem_id
    from kit.generation.pipeline import generate
    from kit.recipes import load_data_recipe

    monkeypatch.setenv(KEY_ENV, teacher.api_key)
    source = problems_file(tmp_path / "problems.jsonl", limit=4)
    recipe = load_data_recipe(write_recipe(tmp_path / "recipe.yaml", teacher, source))
    problems = [{**row, "problem_id": problem_id(row["problem"]), "_row": i}
                for i, row in enumerate(map(json.loads, source.read_text().splitlines()))]
    calls = []
    result = generate(recipe, problems, tmp_path / "store", log=lambda _: None,
                      progress=lambda *args: calls.append(args))
    assert len(result.samples) == 8 and result.asked == 8
    stage, done, total, note = calls[-1]
    assert (stage, done, total) == ("generate", 8, 8)
    verified = sum(1 for s in result.samples if s["verified"])
    assert note.startswith(f"verified {verified / 8:.0%} · ") and " tok/s · 8 asked" in note
    assert float(note.split(" · ")[1].split()[0].replace(",", "")) > 0


# --------------------------------------------------------------------------------------------------
# One batch of a stored step, with the model behind the stand-in server of tests/test_generation_llms.py

def stored_step(step_class: type, llm: Any, store: Path, **fields: Any) -> Any:
    """A stored step asking `llm`, with its store at `store` (what `load` sets up inside a pipeline)."""
    from kit.generation.store import SampleStore

    step = step_class(name=step_class.__name__.lower(), llm=llm, store_dir=str(store), store_fingerprint={},
                      sampling=SAMPLING, **fields)
    step._store = SampleStore(store, {})
    return step


def sample_row(i: int, **extra: Any) -> dict:
    return {"order": i, "problem_id": f"p{i}", "sample_index": 0, "seed": i, "problem": f"problem {i}",
            "messages": [{"role": "user", "content": f"problem {i}"}], **extra}


def test_one_reply_the_step_cannot_read_is_that_samples_error_and_the_batch_is_stored(tmp_path, monkeypatch):
    """Before, an exception while reading one reply left `process`, distilabel filled every column of the batch
    with None (`problem_id` too) and the run failed with "the pipeline lost samples", no good reply stored."""
    from kit.generation.steps import GenerateSamples

    good = {"content": "The answer is $\\boxed{4}$.", "reasoning_content": "2+2=4", "finish_reason": "stop",
            "output_tokens": 7, "error": None}
    odd = {**good, "content": {"unexpected": "object"}}  # a reply of a shape the splitter cannot read
    llm = stand_in_server(lambda body: (500, {}))
    monkeypatch.setattr(type(llm), "replies", lambda self, requests, **sampling: [good, odd, good])
    step = stored_step(GenerateSamples, llm, tmp_path / "store")
    [rows] = list(step.process([sample_row(i) for i in range(3)]))
    assert [(r["problem_id"], r.get("reject"), r.get("solution")) for r in rows if not r.get("error")] == \
           [("p0", None, "The answer is $\\boxed{4}$."), ("p2", None, "The answer is $\\boxed{4}$.")]
    [failed] = [r for r in rows if r.get("error")]
    assert failed["problem_id"] == "p1" and failed["order"] == 1
    assert failed["error"].startswith("the reply of teacher could not be read (AttributeError: ")
    assert sorted(s["problem_id"] for s in step._store) == ["p0", "p2"]  # the failed one is asked again next run


def test_a_prompt_too_long_for_the_context_is_a_stored_rejection(tmp_path):
    """HTTP 400 "prompt + max_tokens exceed the context" rejects the sample at `generate`, stored: the next run
    asks nothing (before, every run asked it again and failed)."""
    from kit.generation.steps import GenerateSamples

    def answer(body: dict) -> tuple[int, dict]:
        if body["messages"][-1]["content"] == "problem 0":
            return 400, {"object": "error", "code": 400, "message": "This model's maximum context length is "
                         "4096 tokens. However, you requested 5000 tokens (4900 in the messages, 100 in the "
                         "completion)."}
        return 200, completion({"content": "4", "reasoning": "2+2=4"})

    asked = []
    llm = stand_in_server(lambda body: asked.append(body) or answer(body))
    step = stored_step(GenerateSamples, llm, tmp_path / "store")
    [rows] = list(step.process([sample_row(i) for i in range(2)]))
    assert [(r.get("reject"), r.get("reject_stage")) for r in rows] == \
           [("context_exceeded", "generate"), (None, None)]
    assert rows[0]["reject_detail"].startswith("teacher answered HTTP 400: This model's maximum context length")
    assert not any(r.get("error") for r in rows) and len(asked) == 2
    again = stored_step(GenerateSamples, llm, tmp_path / "store")
    assert list(again.process([sample_row(i) for i in range(2)])) == [rows] and len(asked) == 2


REWRITE = ("<|begin_of_thought|>\n1. 2+2 = 4.\n2. Check: 4-2 = 2.\n<|end_of_thought|>\n\n"
           "<|begin_of_solution|>\nThe answer is $\\boxed{4}$.\n<|end_of_solution|>")


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_a_reasoning_model_as_reformatter_keeps_its_own_thinking_out_of_the_trace(tmp_path, field):
    """A reasoning reformatter behind a reasoning parser returns its thinking about the rewrite apart (vLLM's
    `reasoning`, SGLang's and DeepSeek's `reasoning_content`) and the rewrite in `content`. Before, that thinking
    became the sample's reasoning, and the rewrite, Sky-T1 markers and all, its solution."""
    from kit.generation.steps import ReformatSamples

    thinking = "The user wants me to rewrite the raw attempt. I should keep the steps and the check."
    llm = stand_in_server(lambda body: (200, completion({"content": REWRITE, field: thinking})))
    step = stored_step(ReformatSamples, llm, tmp_path / "store", template="{{ problem }}")
    row = sample_row(0, reasoning="raw", solution="4", domain="math", generation=json.dumps({"seed": 0}))
    [[out]] = list(step.process([row]))
    assert (out["reasoning"], out["solution"], out.get("reject")) == \
           ("1. 2+2 = 4.\n2. Check: 4-2 = 2.", "The answer is $\\boxed{4}$.", None)
    assert json.loads(out["generation"])["reformatted_by"] == "teacher"


def test_a_judge_cut_at_its_budget_is_asked_again_not_failed_for_good(tmp_path, monkeypatch):
    """A reasoning judge cut at max_new_tokens before its verdict: before, `judge_unparsable` was stored and the
    sample failed for good (a larger budget changed the store's settings, which then refused to resume)."""
    from kit.generation.pipeline import stores
    from kit.generation.steps import JudgeSamples
    from kit.recipes import load_data_recipe

    cut = {"content": "", "reasoning_content": "The reference is C, and " * 50, "finish_reason": "length",
           "output_tokens": 1024, "error": None}
    verdict = {"content": '{"correct": true, "reason": "same"}', "finish_reason": "stop", "error": None}
    llm = stand_in_server(lambda body: (500, {}))
    monkeypatch.setattr(type(llm), "replies", lambda self, requests, **sampling: [cut, verdict])
    step = stored_step(JudgeSamples, llm, tmp_path / "store")
    rows = [sample_row(i, needs_judge=True, domain="science", solution="C", ground_truth_answer="C")
            for i in range(2)]
    [out] = list(step.process(rows))
    assert out[0]["error"].startswith(f"the judge teacher was cut at {SAMPLING['max_new_tokens']} new tokens "
                                      "before its verdict: raise verify.judge.max_new_tokens")
    assert out[1]["verified"] is True and [s["problem_id"] for s in step._store] == ["p1"]

    def judge_store(budget: int):
        recipe = load_data_recipe(Path(__file__).parents[1] / "recipes/data/tiny-local.yaml", [
            "verify.judge.model=m", f"verify.judge.max_new_tokens={budget}"])
        return stores(recipe, tmp_path / "run")["judge"].fingerprint

    assert judge_store(1024) == judge_store(8192)  # a larger budget resumes the same judge store
