"""Per-application collaborators shared by blueprints and the worker."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from flask import current_app

from backend.activity import UploadActivity
from backend.compressor_client import CompressorClient
from backend.config import Config
from backend.storage.hash_states import HashStates
from backend.storage.staging import Staging

EXTENSION_KEY = "trove"


@dataclass
class Runtime:
    config: Config
    staging: Staging
    compressor: CompressorClient
    work_ready: threading.Event = field(default_factory=threading.Event)
    hashes: HashStates = field(default_factory=HashStates)
    uploads: UploadActivity = field(default_factory=UploadActivity)
    # Hashes PATCH bodies next to the request threads (see services.upload_body).
    hashers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(4, thread_name_prefix="trove-hash")
    )


def runtime() -> Runtime:
    value: Runtime = current_app.extensions[EXTENSION_KEY]
    return value
