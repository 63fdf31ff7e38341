"""A stand-in for the Hugging Face Hub (huggingface.co) HTTP API, used by the tests.

The real Hub cannot be reached from CI and nothing installable implements its write API, so this
package serves the part of it that ``huggingface_hub``, ``datasets`` and ``transformers`` use, backed by
real bare git repositories. In tests, use the ``hub`` fixture (``tests/conftest.py``); by hand::

    python -m tests.hubserver --port 8080 --root /tmp/hub --token MYTOKEN
    HF_ENDPOINT=http://127.0.0.1:8080 HF_TOKEN=MYTOKEN kit publish ...
"""

from .app import Fault, HubApp, RequestRecord
from .gitstore import GitStore, HubRepo
from .server import HubServer

__all__ = ["Fault", "GitStore", "HubApp", "HubRepo", "HubServer", "RequestRecord"]
