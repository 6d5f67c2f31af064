"""The PySide6 user interface: a thin layer over the Qt-free client core."""
