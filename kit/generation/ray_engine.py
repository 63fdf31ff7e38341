"""`engine: ray`: the generation pipeline on a Ray cluster, with distilabel's RayPipeline (`pip install .[ray]`).

`run_on_ray(pipeline)` joins the cluster named by `RAY_ADDRESS` (recipes/launch/generate.slurm sets it), or
else starts a private local Ray instance for the run (no dashboard, a small object store) and stops it
afterwards. distilabel calls `ray.init` only when Ray is not running yet, so the kit starts it itself and
keeps control of the options.

`WatchedRayPipeline` closes two holes of distilabel 1.5's RayPipeline (it uses distilabel internals, hence
the `distilabel<1.6` pin): a step whose `load()` raises makes the run fail as the local Pipeline does,
instead of returning an empty result; and a step actor that dies (an exception in a generator step, a
killed process, a lost node) stops the run with an error instead of leaving it waiting forever.

Environment variables (API keys) must be set before Ray starts: step actors on this machine inherit the
driver's environment, those on other nodes the environment of `ray start` there. Keys are never passed
through Ray's `runtime_env`, which would store them in the cluster's job configuration. Steps may run on
any node, so the sample stores must be on a filesystem every node sees.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from typing import Any

import ray
from distilabel.models.llms.vllm import vLLM
from distilabel.pipeline import Pipeline
from distilabel.pipeline.base import _STEP_UNLOADED_CODE, set_pipeline_running_env_variables
from distilabel.pipeline.ray import RayPipeline
from distilabel.pipeline.step_wrapper import _StepWrapper
from distilabel.utils.logging import setup_logging


@ray.remote
class _StepActor:
    """One step replica on the cluster (as distilabel's own actor, kept here so its run can be watched)."""

    def __init__(self, wrapper: _StepWrapper, log_queue: Any, pipeline_name: str, cache_id: str) -> None:
        self.wrapper, self.log_queue, self.pipeline_name, self.cache_id = wrapper, log_queue, pipeline_name, cache_id

    def run(self) -> str:
        setup_logging(log_queue=self.log_queue)
        set_pipeline_running_env_variables(self.pipeline_name, self.cache_id)
        return self.wrapper.run()


class WatchedRayPipeline(RayPipeline):
    """distilabel's RayPipeline that fails loudly (see the module docstring)."""

    def _set_steps_not_loaded_exception(self) -> None:
        self._exception = RuntimeError("Failed to load all the steps. Could not run pipeline.")

    def _run_step(self, step: Any, input_queue: Any, replica: int) -> None:
        wrapper = _StepWrapper(step=step, replica=replica, input_queue=input_queue, output_queue=self._output_queue,
                               load_queue=self._load_queue, dry_run=self._dry_run, ray_pipeline=True)
        options: dict[str, Any] = {"name": f"distilabel-{self.name}-{step.name}-{replica}"}
        if isinstance(getattr(step, "llm", None), vLLM):
            options["scheduling_strategy"] = self._create_vllm_placement_group(step)
        else:
            res = step.resources
            options.update({k: v for k, v in (("num_cpus", res.cpus), ("num_gpus", res.gpus), ("memory", res.memory),
                                              ("resources", res.resources)) if v is not None})
        actor = _StepActor.options(**options).remote(wrapper, self._log_queue, self.name, self.signature)
        if not hasattr(self, "_watched"):
            self._watched: dict[Any, str] = {}
            threading.Thread(target=self._watch, name="kit-ray-watch", daemon=True).start()
        self._watched[actor.run.remote()] = step.name

    def _watch(self) -> None:
        """Wait on the step actors' runs; the first that fails stops the pipeline with its error."""
        while True:
            refs = list(self._watched)
            try:
                done, _ = ray.wait(refs, num_returns=1, timeout=1.0) if refs else ([], [])
            except Exception:  # noqa: BLE001 - Ray was shut down: the run is over
                return
            for ref in done:
                name = self._watched.pop(ref)
                try:
                    ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - RayTaskError (the step raised) or RayActorError (died)
                    cause = getattr(exc, "cause", None) or exc
                    cause = getattr(cause, "subprocess_exception", None) or cause
                    if getattr(self, "_exception", None) is None:
                        first = str(cause).splitlines()[0][:300] if str(cause) else ""
                        self._exception = RuntimeError(f"step '{name}' failed on Ray: {type(cause).__name__}: {first}")
                    with self._steps_load_status_lock:
                        self._steps_load_status[name] = _STEP_UNLOADED_CODE
                    self._output_queue.put(None)  # wakes the output loop; run() then raises self._exception
                    return
            if not refs:
                time.sleep(0.5)


def _kill_actors(pipeline_name: str) -> None:
    """distilabel leaves its named queue and step actors behind; they would block the next run's names."""
    for name in ray.util.list_named_actors():
        if name.startswith(f"distilabel-{pipeline_name}-"):
            try:
                ray.kill(ray.get_actor(name))
            except ValueError:
                pass


def run_on_ray(pipeline: Pipeline, num_cpus: int | None = None,
               logging_handlers: list[logging.Handler] | None = None) -> Any:
    """Run `pipeline` (a plain distilabel Pipeline) on Ray and return its distiset; `logging_handlers` also get the
    pipeline's log records."""
    started, temp_dir = False, None
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            ray.init(address=os.environ["RAY_ADDRESS"], **quiet)
        else:  # a private instance; its sockets need a short path (107 bytes at most)
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # local only: no token file written
            temp_dir = tempfile.mkdtemp(prefix="kit-ray-", dir="/tmp")
            ray.init(num_cpus=num_cpus or os.cpu_count() or 2, include_dashboard=False,
                     object_store_memory=128 << 20, _temp_dir=temp_dir, **quiet)
        started = True
    watched = WatchedRayPipeline(name=pipeline.name, description=pipeline.description,
                                 cache_dir=pipeline._cache_dir, enable_metadata=pipeline._enable_metadata,
                                 requirements=pipeline.requirements)
    watched.dag = pipeline.dag
    try:
        return watched.run(use_cache=False, logging_handlers=logging_handlers)
    finally:
        _kill_actors(pipeline.name)
        if started:
            ray.shutdown()
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
