FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY locales ./locales
RUN pip install . \
 && pybabel compile -d locales -D messages \
 && useradd --create-home --uid 10001 bot \
 && mkdir -p /app/data && chown bot:bot /app/data

USER bot
VOLUME ["/app/data"]
# The card page (CARD_VAULT=payme) for the TLS proxy in front of WEBAPP_URL.
ENV WEBAPP_HOST=0.0.0.0 WEBAPP_PORT=8080
EXPOSE 8080
CMD ["python", "-m", "bot"]
