#!/usr/bin/env bash
# Build the desktop app as a self-contained folder with PyInstaller:
#   installer/desktop_bundle.sh [PYTHON]   →   dist/trove-desktop/trove-desktop
# PYTHON (default .venv/bin/python) must have the project installed with its `desktop` extra
# (`pip install '.[desktop]'`, as `make venv` does); PyInstaller is added to it if missing.
# The bundle is checked by starting it with --version.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${1:-.venv/bin/python}"
"$python" -c 'import PySide6, keyring' 2>/dev/null || {
  echo "error: $python lacks the desktop app's dependencies: install them with" \
    "$python -m pip install '.[desktop]'" >&2
  exit 1
}
"$python" -c 'import PyInstaller' 2>/dev/null || "$python" -m pip install -q 'pyinstaller>=6.10,<7'
nice "$python" -m PyInstaller --noconfirm --clean --log-level WARN --onedir \
  --name trove-desktop --distpath dist --workpath build/pyinstaller --specpath build \
  --collect-submodules desktop_app desktop_app/__main__.py
expected="trove-desktop $("$python" -c 'import desktop_app; print(desktop_app.__version__)')"
answer="$(dist/trove-desktop/trove-desktop --version)"
if [ "$answer" != "$expected" ]; then
  echo "error: the bundle answered --version with '$answer', expected '$expected'" >&2
  exit 1
fi
echo "built dist/trove-desktop ($(du -sh dist/trove-desktop | cut -f1)); --version: $answer"
