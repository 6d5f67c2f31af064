# Trove: `make run` to try it, `make test` to check everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CARGO ?= cargo
COMPRESSOR_BIN := compressor/target/release/trove-compressor
export TROVE_COMPRESSOR_BIN ?= $(abspath $(COMPRESSOR_BIN))

.PHONY: help setup system-deps venv build corpus lint format test test-python test-rust test-compose desktop-bundle serve run clean bench bench-upload bench-compress bench-desktop screenshots

help:
	@echo "make run     set up, build, start compressor + backend on ./data and open the desktop app"
	@echo "make serve   start compressor + backend only (honours TROVE_* / COMPRESSOR_* variables)"
	@echo "make test    set up and run every test (Rust, Python, MariaDB-backed, Qt offscreen)"
	@echo "make test-compose  build and run the Docker stack for real (needs a Docker engine)"
	@echo "make desktop-bundle  the desktop app as a folder with PyInstaller (dist/trove-desktop)"
	@echo "make lint    ruff, rustfmt and clippy"
	@echo "make bench   upload, compression and desktop benchmarks (ratios, start-up, memory)"

setup: system-deps venv build

system-deps:
	@bash installer/system-deps.sh

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[desktop,video,dev]'
	@touch $@

venv: $(VENV)/.installed

build:
	$(CARGO) build --release --locked --manifest-path compressor/Cargo.toml

corpus: venv
	$(PY) -m tests.support.corpus

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(CARGO) fmt --manifest-path compressor/Cargo.toml -- --check
	$(CARGO) clippy --locked --manifest-path compressor/Cargo.toml --all-targets -- -D warnings

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	$(CARGO) fmt --manifest-path compressor/Cargo.toml

test-rust:
	$(CARGO) test --release --locked --manifest-path compressor/Cargo.toml

test-python: venv build corpus
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q --durations=15

test: setup lint test-rust test-python

# The Docker Compose stack, built and run for real. Base images are local stand-ins built
# from Debian's packages (installer/standin_images.sh) unless TROVE_OFFICIAL_IMAGES=1;
# TROVE_COMPOSE_COLD=1 first rebuilds the images with --no-cache and times that.
test-compose: venv corpus
	@if [ "$(TROVE_OFFICIAL_IMAGES)" != 1 ]; then \
	  bases="$$(bash installer/standin_images.sh)" || exit 1; set -a; eval "$$bases"; set +a; fi; \
	TROVE_TEST_COMPOSE=1 $(PY) -m pytest -q -p no:cacheprovider tests/compose --durations=10

desktop-bundle: venv
	bash installer/desktop_bundle.sh $(PY)

bench: bench-upload bench-compress bench-desktop

bench-upload: venv build corpus
	$(PY) -m bench.bench_upload

# Start-up time and memory of the desktop app on a folder of 10,000 files (offscreen);
# the filled server is kept in build/bench/desktop-10000 for the next run.
bench-desktop: venv build
	QT_QPA_PLATFORM=offscreen $(PY) -m bench.bench_desktop --keep build/bench/desktop-10000

screenshots: venv build corpus
	QT_QPA_PLATFORM=offscreen $(PY) -m tests.support.screenshots docs/screenshots

serve: venv build
	$(PY) -m installer.local_stack serve

run: setup
	$(PY) -m installer.local_stack run

clean:
	rm -rf $(VENV) compressor/target data build dist

# Compression benchmark over a corpus directory (default: the shared corpus, built if missing):
# Trove's codecs vs zstd -3 and -19, per media type; the table goes to compressor/bench-results/.
bench-compress:
	@dir="$(if $(CORPUS),$(abspath $(CORPUS)))"; if [ -z "$$dir" ]; then $(MAKE) --no-print-directory corpus && dir="$$($(PY) -c 'from tests.support.corpus import corpus_dir; print(corpus_dir())')"; fi; \
	cd compressor && $(CARGO) run --release --locked --bin trove-bench-compress -- "$$dir" --out bench-results/compress.md
