#!/bin/sh
# One command to self-host Trove with Docker: secrets, build, start, first admin.
# Options: --port N, --address A, --admin NAME, --env-file PATH, --project-name NAME.
cd "$(dirname "$0")/.." && exec python3 -m installer.install "$@"
