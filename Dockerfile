# The wheel is built in its own stage and installed in the image: the bot runs from the installed package (its card
# page and compiled translations inside), never from a source tree that would shadow it.
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY locales ./locales
RUN pip wheel --no-deps --wheel-dir /dist .

FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /dist /tmp/dist
# DejaVu: the picture receipts and charts draw Cyrillic and Uzbek Latin with it (bot/pictures/canvas.py).
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
RUN pip install /tmp/dist/*.whl \
 && rm -rf /tmp/dist \
 && groupadd --gid 10001 bot \
 && useradd --create-home --uid 10001 --gid bot bot \
 && mkdir -p /app/data && chown bot:bot /app/data
COPY docker/entrypoint.sh /usr/local/bin/paybot-entrypoint

WORKDIR /app
# Numeric, so that an orchestrator's "run as non-root" check can see it.
USER 10001:10001
VOLUME ["/app/data"]
# The card page (CARD_VAULT=payme) for the TLS proxy in front of WEBAPP_URL.
ENV WEBAPP_HOST=0.0.0.0 WEBAPP_PORT=8080
EXPOSE 8080
# No PROVIDERS here: the entry point refuses to start until it is set (docker/entrypoint.sh).
# The database, Redis when set, and the Bot API.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["python", "-m", "bot", "healthcheck"]
ENTRYPOINT ["/bin/sh", "/usr/local/bin/paybot-entrypoint"]
CMD ["python", "-m", "bot"]
