"""`python -m bot reconcile --date YYYY-MM-DD`: one day's reconciliation (bot.money.reconcile) printed for the
operator, with an exit code for scripts."""

from __future__ import annotations

import sys
from datetime import date

from bot.app import open_services
from bot.money.reconcile import reconcile
from bot.providers.errors import ProviderError
from bot.settings import Settings


async def run_reconcile(settings: Settings, day: date) -> int:
    """`python -m bot reconcile --date YYYY-MM-DD`: the report on stdout; exit 0 clean, 1 mismatches,
    2 (one line on stderr) when neither Payme nor PaySys is configured or a provider does not answer. Each rail
    whose provider is configured is compared."""
    try:
        async with open_services(settings) as services:
            if services.payme is None and services.paysys is None:
                print("error: nothing to reconcile: neither Payme (PAYME_BASE_URL, PAYME_MERCHANT_ID, PAYME_KEY) "
                      "nor PaySys (PAYSYS_BASE_URL, PAYSYS_SERVICE_ID, PAYSYS_SECRET_KEY) is configured",
                      file=sys.stderr)
                return 2
            report = await reconcile(day, payme=services.payme, paylov=services.paylov, paysys=services.paysys,
                                     sessionmaker=services.sessionmaker)
    except ProviderError as exc:
        print(f"error: a provider did not answer: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(report.text())
    return 1 if report.mismatches else 0
