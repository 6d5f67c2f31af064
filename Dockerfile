# Trove backend image: Flask on waitress, migrations at start, background store worker.
# Build from the repository root: docker build -t trove-backend .
# PYTHON_IMAGE may name any Debian-based Python 3.11+ image (the official one by default).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies in their own layer, cached until pyproject.toml changes: the project's
# dependencies without the desktop app's Qt toolkit.
COPY pyproject.toml ./
RUN python -c 'import tomllib; deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]; print("\n".join(d for d in deps if not d.lower().startswith("pyside6")))' > server-requirements.txt \
    && pip install -q -r server-requirements.txt
COPY README.md ./
COPY backend ./backend
RUN pip install -q --no-deps . \
    && pip uninstall -q -y pip setuptools

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 trove \
    && useradd --system --uid 10001 --gid trove --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin trove \
    && install -d -o trove -g trove -m 0750 /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TROVE_DATA_DIR=/data \
    TROVE_HOST=0.0.0.0 \
    TROVE_PORT=8080
USER trove
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# Healthy = ready: database, staging and compressor usable. bash's /dev/tcp keeps the probe
# cheap enough to run every few seconds.
HEALTHCHECK --interval=3s --timeout=3s --start-period=120s --retries=3 \
    CMD bash -c 'exec 3<>/dev/tcp/127.0.0.1/$TROVE_PORT && printf "GET /readyz HTTP/1.0\r\n\r\n" >&3 && read -r _ code _ <&3 && [ "$code" = 200 ]'
CMD ["trove-backend"]
