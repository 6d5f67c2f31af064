"""One blueprint per resource."""

from __future__ import annotations

from flask import Flask

from backend.blueprints import auth, files, folders, health, thumbnails, uploads, usage


def register(app: Flask) -> None:
    for module in (auth, files, folders, health, thumbnails, uploads, usage):
        app.register_blueprint(module.bp)
