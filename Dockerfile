# syntax=docker/dockerfile:1
# Trove backend image: Flask on waitress, migrations at start, background worker.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first, so source edits do not rebuild this layer.
RUN pip install "flask>=3.0" "flask-sqlalchemy>=3.1" "sqlalchemy>=2.0" "alembic>=1.13" \
        "pymysql>=1.1" "cryptography>=42" "waitress>=3.0" "requests>=2.31"
COPY pyproject.toml README.md* ./
COPY backend ./backend
RUN pip install --no-deps .

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TROVE_DATA_DIR=/data \
    TROVE_HOST=0.0.0.0 \
    TROVE_PORT=8080
RUN groupadd --system --gid 10001 trove \
    && useradd --system --uid 10001 --gid trove --home-dir /data --shell /usr/sbin/nologin trove \
    && install -d -o trove -g trove -m 0750 /data
COPY --from=build /opt/venv /opt/venv
USER trove
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"TROVE_PORT\", \"8080\")}/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "backend"]
