"""Generation (the teacher stage of `kit curate`): the teachers a data recipe names (`teachers`) and their
distilabel LLMs (`llms`), the pipeline's steps - ask, split the reply, reformat, verify, judge (`steps`) -, the
distilabel pipeline that wires them (`pipeline`, on Ray with `ray_engine`), the append-only store of finished
samples that makes runs resumable (`store`), and its checkpoints on a branch of the Hub repo (`checkpoint`).

May import: kit.core, kit.benchmarks, kit.recipes, kit.sandbox, kit.hub (checkpoints are published through
it) and kit.verify (the pipeline runs the verifiers as steps). The reply splitter and the `<think>` markers
are kit.core.chat's.
"""
