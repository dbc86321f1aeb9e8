# syntax=docker/dockerfile:1
#
# kpi-bot: the Slack bot (`python -m bot serve`) for a container platform.
#
#   docker build -t kpi-bot .
#   # try it with demo data (DuckDB inside the container, built at start):
#   docker run --rm -p 3000:3000 -e KPI_BUILD_ON_START=1 \
#     -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET kpi-bot
#   # production: the marts live in BigQuery, dbt runs from your scheduler or CI
#   docker run -p 3000:3000 -e KPI_WAREHOUSE=bigquery -e KPI_BQ_PROJECT=my-project \
#     -e KPI_BQ_DATASET=kpi -e GOOGLE_APPLICATION_CREDENTIALS=/secrets/sa.json \
#     -v /path/to/sa.json:/secrets/sa.json:ro -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET kpi-bot
#
# When is the data built? Never at image build time: the image holds code only, so
# one image serves every environment and no (demo) data is baked into a layer. With
# KPI_BUILD_ON_START=1 the entrypoint builds at container start instead: it generates
# demo data into KPI_DUCKDB_PATH if that file is missing (KPI_DEMO_USERS users, default
# 20000), then runs `python -m bot build` (dbt build into a copy, atomic swap). Mount a
# volume on /app/data to keep the file across restarts. With BigQuery leave it unset.
#
# Socket Mode: set SLACK_APP_TOKEN (xapp-…) and no public URL is needed; the health
# endpoint still listens on port 3000 in both modes.

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    KPI_DUCKDB_PATH=/app/data/kpi.duckdb

WORKDIR /app

# Dependencies first (pinned exactly in requirements.txt) so code changes reuse the layer.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin kpibot \
    && mkdir -p /app/data \
    && chown kpibot:kpibot /app/data

COPY bot/ ./bot/
# The bot's bytecode, compiled once here: with PYTHONDONTWRITEBYTECODE=1 (above) nothing
# would cache it, and every start would compile ~100 modules again (~0.2 s of the ~1 s
# `serve` takes to listen; pip compiled the libraries' bytecode at install).
RUN python -m compileall -q bot
COPY dbt_project/ ./dbt_project/
# The semantic layer reads dbt_project/target/semantic_manifest.json (metric definitions,
# not data). `dbt parse` validates the semantic models and writes it, offline and without a
# warehouse, so the image answers metric questions whether its marts are built at start
# (DuckDB) or elsewhere (BigQuery); the project tree stays read-only for the bot's user.
# `python -m bot catalog` then compiles target/semantic_catalog.json beside it (MetricFlow,
# DuckDB and BigQuery SQL, ~10 s): the vocabulary and common questions' SQL, so the first
# metric question after start-up is answered without importing MetricFlow.
RUN python -m dbt.cli.main parse --project-dir dbt_project --profiles-dir dbt_project \
    && python -m bot catalog \
    && rm -rf dbt_project/logs dbt_project/target/partial_parse.msgpack

USER kpibot

EXPOSE 3000

# The bot's own health endpoint (no Slack call); python is there, so no curl needed.
# If you change --port, change the URL here too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]

# KPI_BUILD_ON_START=1: demo data + dbt build before the command runs (see the top).
ENTRYPOINT ["/bin/sh", "-c", "set -e; if [ \"${KPI_BUILD_ON_START:-0}\" = 1 ]; then if [ ! -f \"$KPI_DUCKDB_PATH\" ]; then python -m bot generate --users \"${KPI_DEMO_USERS:-20000}\"; fi; python -m bot build; fi; exec \"$@\"", "kpi-bot"]
CMD ["python", "-m", "bot", "serve", "--port", "3000"]
