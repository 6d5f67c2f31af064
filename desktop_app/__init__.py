"""Trove desktop client: a Qt-free core (API, tus uploads, upload engine) and a PySide6 UI."""

__version__ = "0.1.0"
