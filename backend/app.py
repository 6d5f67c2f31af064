"""Flask application factory."""

from __future__ import annotations

import functools

from flask import Flask

from backend import blueprints, problems
from backend.compressor_client import CompressorClient
from backend.config import Config
from backend.database import engine_options, prepare_engine
from backend.extensions import db
from backend.runtime import EXTENSION_KEY, Runtime
from backend.shared_token import get_or_create_token
from backend.storage.staging import Staging

JSON_BODY_LIMIT = 1024 * 1024


def _compressor_token(config: Config) -> str:
    return config.compressor_token or get_or_create_token(config.token_dir)


def create_app(config: Config | None = None) -> Flask:
    """Build the app. The schema must already be current (see `backend.migrate`)."""
    config = config or Config.from_env()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=config.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(config.database_url),
        MAX_CONTENT_LENGTH=JSON_BODY_LIMIT,
    )
    db.init_app(app)
    with app.app_context():
        prepare_engine(db.engine)
    staging = Staging(config.staging_dir)
    staging.ensure()
    app.extensions[EXTENSION_KEY] = Runtime(
        config=config,
        staging=staging,
        compressor=CompressorClient(
            config.compressor_url, functools.partial(_compressor_token, config)
        ),
    )
    problems.install(app)
    blueprints.register(app)
    return app
