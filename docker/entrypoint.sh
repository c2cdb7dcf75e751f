#!/bin/sh
# The image's entry point. PROVIDERS has no default here: a container started with only a real BOT_TOKEN must not take
# real people through emulated payments (PROVIDERS=sandbox accepts test cards), so it refuses to start, with one
# line, until PROVIDERS is set in the environment or in /app/.env. `python -m bot migrate` needs no PROVIDERS.
case " $* " in
  *" -m bot migrate "*) ;;
  *)
    if [ -z "${PROVIDERS:-}" ] && ! grep -qs '^[[:space:]]*PROVIDERS=[^[:space:]]' .env; then
      echo "error: setting PROVIDERS is missing: the image has no default; set PROVIDERS=live (real payments, with the PAYLOV_* settings) or PROVIDERS=sandbox (emulated payments, test cards accepted)" >&2
      exit 2
    fi
    ;;
esac
exec "$@"
