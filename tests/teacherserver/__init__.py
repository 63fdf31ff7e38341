"""A stand-in for the OpenAI-compatible server that serves the teacher model, used by the tests.

It stands in for a chat-completions server (``vllm serve``, SGLang, hosted DeepSeek-R1 providers) that
returns the thinking in ``message.reasoning_content`` and the answer in ``message.content``, by replaying
recorded completions (``tests/data/teacher_recordings.jsonl``, made by
``tests/data/make_teacher_recordings.py``). In tests, use the ``teacher`` fixture (``tests/conftest.py``);
by hand::

    export TEACHER_KEY=sk-anything
    python -m tests.teacherserver --port 8000 --api-key-env TEACHER_KEY
    # then base_url=http://127.0.0.1:8000/v1, api_key=$TEACHER_KEY, model standin/reasoner
"""

from .app import (
    DEFAULT_MODEL,
    DEFAULT_RECORDINGS,
    NO_RECORDING,
    Completion,
    Fault,
    Recordings,
    RequestRecord,
    TeacherApp,
)
from .server import TeacherServer

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_RECORDINGS",
    "NO_RECORDING",
    "Completion",
    "Fault",
    "Recordings",
    "RequestRecord",
    "TeacherApp",
    "TeacherServer",
]
