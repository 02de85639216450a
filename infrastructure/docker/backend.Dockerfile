# dtwin application image: backend (API, WebSocket, dashboard, consumer), and with another command the
# MQTT -> Kafka bridge (`dtwin bridge`) and the device simulator (`dtwin simulate ...`).
# Build from the repository root:  docker build -f infrastructure/docker/backend.Dockerfile -t dtwin .

# ---------------------------------------------------------------------------- stage 1: dashboard build
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
# lockfile first so `npm ci` is cached until dependencies change
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
RUN npm run build

# ------------------------------------------------------------------------------- stage 2: runtime
FROM python:3.11-slim-bookworm AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Regular (non-editable) install into site-packages; data-pipeline's `dtwin` dependency resolves to ./backend.
# The dev extra (pytest, ruff, mypy, ...) is deliberately not installed.
COPY backend/ /tmp/build/backend/
COPY data-pipeline/ /tmp/build/data-pipeline/
RUN cd /tmp/build \
    && pip install --no-cache-dir ./backend ./data-pipeline \
    && rm -rf /tmp/build

WORKDIR /app
# Alembic scripts and config live outside the package; the built dashboard is served by the backend.
COPY backend/migrations /app/backend/migrations
COPY backend/alembic.ini /app/backend/alembic.ini
COPY --from=frontend /src/frontend/dist /app/frontend/dist

# An installed package has no source tree around it: the scripts and the dashboard are where this image put
# them, and all state (SQLite database of a bare `docker run`, anomaly models, generated secrets) goes to the
# data directory /data, owned by the image's user. Mount a volume there to keep it (compose: dtwin-data).
ENV DTWIN_MIGRATIONS_DIR=/app/backend/migrations \
    DTWIN_FRONTEND_DIST=/app/frontend/dist \
    DTWIN_DATA_DIR=/data

RUN groupadd --system --gid 10001 dtwin \
    && useradd --system --uid 10001 --gid dtwin --home-dir /app --no-create-home --shell /usr/sbin/nologin dtwin \
    && mkdir -p /data \
    && chown dtwin:dtwin /data
USER dtwin:dtwin

EXPOSE 8000

# Liveness of the HTTP server; bridge and simulator containers disable it (see docker-compose.yml).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["dtwin", "serve", "--host", "0.0.0.0", "--port", "8000"]
