# syntax=docker/dockerfile:1
# The ccwatch image: one image for the stream worker, migrations, the simulator and the web
# app (docker-compose.yml picks the command). No Docker engine runs on the development
# machines, so tests/unit/test_deploy.py checks this file by parsing it.

# --- vendor: the map's library (Leaflet) from the npm registry, pinned by the lock file ---
# Served by the app from /static/vendor/ (no CDN at run time); never committed to git.
FROM node:20-bookworm-slim AS vendor
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund && npm run vendor

# --- build: install the project and its dependencies into a virtualenv -------------------
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Only what the package is built from; never `COPY . .`, which would bake .env, var/ and
# .venv/ into a layer. The folders are those of [tool.setuptools.packages.find].
COPY pyproject.toml README.md ./
COPY ccwatch ccwatch
COPY models models
COPY scoring scoring
COPY reports reports
COPY alerts alerts
COPY streams streams
COPY terminals terminals
COPY register register
COPY --from=vendor /src/ccwatch/web/static/vendor ccwatch/web/static/vendor
RUN pip install .

# --- runtime: the virtualenv and an unprivileged user, nothing else ---------------------
FROM python:3.11-slim-bookworm

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# Noto CJK: the Chinese font the pages and reports name (board.css), for what is rendered here.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

# ccwatch works in /app: CCWATCH_DATA_DIR defaults to ./var (Faust data, logs).
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin ccwatch \
    && mkdir -p /app/var \
    && chown -R ccwatch:ccwatch /app

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# Numeric, so that orchestrators can verify that the process does not run as root.
USER 10001:10001

# Prometheus metrics of a worker (CCWATCH_METRICS_PORT).
EXPOSE 9108

ENTRYPOINT ["ccwatch"]
CMD ["worker"]
