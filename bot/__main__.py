"""python -m bot: settings -> services -> Dispatcher -> long polling, or webhooks with WEBHOOK_URL.

Subcommands: `demo` (a chat in this terminal against the Telegram double and sandbox providers),
`migrate` (bring DATABASE_URL's schema to the newest revision and exit: a deploy step), `worker` (only the
background jobs, no updates: beside the replicas that serve updates) and
`reconcile --date YYYY-MM-DD` (a day's Payme receipts and Paylov transactions against the ledger; exit 1 on a
mismatch) and `healthcheck` (database reachable and migrated, Redis when set, the Bot API: exit 0, or one line and
exit 1, as Docker's HEALTHCHECK reads it) and `set-webhook` (register WEBHOOK_URL with Telegram: a deploy step).

With WEBHOOK_URL set the bot serves webhooks (bot/runtime/webhook.py) instead of polling, and refuses to start on
a schema older than its code.

Polling and the worker start only after the start-up checks (bot/runtime/startup.py): a bad setting or anything
unreachable stops the start with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date

from bot.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="chat with the bot in this terminal, no credentials needed")
    demo.add_argument("--script", help="a file of steps to run instead of typing (one per line); '-' for stdin")
    demo.add_argument("--user-id", type=int, default=1001)
    demo.add_argument("--language-code", default="en")
    sub.add_parser("migrate", help="run the database migrations once and exit")
    sub.add_parser("worker", help="run only the background jobs (settlement, reminders, reconciliation)")
    reconcile = sub.add_parser("reconcile", help="compare a day's provider records with the ledger")
    reconcile.add_argument("--date", required=True, type=date.fromisoformat, help="YYYY-MM-DD, Tashkent")
    sub.add_parser("healthcheck", help="database, Redis when set and the Bot API: exit 0 healthy, 1 not (one line)")
    sub.add_parser("set-webhook", help="register WEBHOOK_URL with Telegram (a deploy step) and exit")
    args = parser.parse_args(argv)

    if args.command == "healthcheck":
        from bot.runtime.startup import run_healthcheck

        return run_healthcheck()

    try:
        if args.command == "demo":
            from bot.runtime.demo import run_demo

            return asyncio.run(run_demo(script=args.script, user_id=args.user_id, language_code=args.language_code))
        if args.command == "migrate":
            from bot.storage.migrate import run_migrate

            return asyncio.run(run_migrate())
        settings = load_settings()
        if args.command == "reconcile":
            from bot.runtime.logs import setup_logging
            from bot.runtime.reconcile import run_reconcile

            setup_logging("WARNING")
            return asyncio.run(run_reconcile(settings, args.date))
        if args.command == "set-webhook":
            from bot.runtime.set_webhook import run_set_webhook

            return asyncio.run(run_set_webhook(settings))
        if args.command in (None, "worker"):  # before serving or the jobs: one line and exit 2 if anything is wrong
            from bot.runtime.startup import check_startup

            # Webhook replicas never migrate (a deploy step): they refuse an older schema instead.
            asyncio.run(check_startup(settings, migrate=not settings.webhook_mode))
        if args.command == "worker":
            from bot.runtime.worker import run_worker

            asyncio.run(run_worker(settings))
            return 0
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0

    if settings.webhook_mode:
        from bot.runtime.webhook import run_webhook

        asyncio.run(run_webhook(settings))
        return 0

    from bot.runtime.polling import run_polling

    try:
        asyncio.run(run_polling(settings))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
