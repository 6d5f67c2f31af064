"""Per-application collaborators shared by blueprints and the worker."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import current_app

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


def runtime() -> Runtime:
    value: Runtime = current_app.extensions[EXTENSION_KEY]
    return value
