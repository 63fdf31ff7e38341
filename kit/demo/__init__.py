"""The Reasoning Arena (`kit demo`, spaces/reasoning-arena): `stream.py` splits a streamed reply into
thinking and answer, `backends.py` asks a local transformers model or an OpenAI-compatible endpoint,
`arena.py` is the Gradio app.

May import: every package below it - kit.core, kit.benchmarks, kit.recipes, kit.sandbox, kit.hub, kit.verify
(the answer badge), kit.generation, kit.curate, kit.train and kit.evaluate; only the CLI sits above it.
"""
