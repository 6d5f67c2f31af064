# Trove backend image: Flask on waitress, migrations at start, background store worker.
# Build from the repository root: docker build -t trove-backend .
# PYTHON_IMAGE may name any Debian-based Python 3.11+ image (the official one by default).
# TROVE_BACKEND_EXTRAS adds optional features, comma-separated: `video` makes poster frames
# of videos (PyAV, which bundles FFmpeg: about 100 MB more). Without it videos have no
# thumbnail and the backend says so when it starts.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG TROVE_BACKEND_EXTRAS=
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies in their own layer, cached until pyproject.toml or the extras change: the
# project's dependencies and those of the extras asked for, as pyproject.toml lists them.
COPY pyproject.toml ./
RUN python -c 'import sys, tomllib; project = tomllib.load(open("pyproject.toml", "rb"))["project"]; extras = [e.strip() for e in sys.argv[1].split(",") if e.strip()]; print("\n".join(project["dependencies"] + [d for e in extras for d in project["optional-dependencies"][e]]))' "$TROVE_BACKEND_EXTRAS" > requirements.txt \
    && pip install -q --no-compile -r requirements.txt
COPY README.md ./
COPY backend ./backend
# Then the project itself. The installer tools and the test suites of the installed packages
# stay out of the image, and so does the byte code of all but the modules the server and
# trove-admin import as they start (compiled by importing them: about 1.5 s less per start,
# for a fifth of what compiling everything would add).
RUN pip install -q --no-compile --no-deps . \
    && pip uninstall -q -y pip setuptools \
    && find /opt/venv -depth \( -name __pycache__ -o -name tests -o -name test \) -type d \
        -exec rm -rf {} + \
    && PYTHONDONTWRITEBYTECODE= python -c 'import backend.serve, backend.cli, sqlalchemy.dialects.mysql.pymysql, alembic.ddl.mysql, alembic.runtime.environment, pymysql._auth'


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
