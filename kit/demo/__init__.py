"""The Reasoning Arena (`kit demo`, spaces/reasoning-arena): `stream.py` splits a streamed reply into
thinking and answer, `backends.py` asks a local transformers model or an OpenAI-compatible endpoint,
`arena.py` is the Gradio app."""
