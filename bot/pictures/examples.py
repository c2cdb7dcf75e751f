"""`python -m bot.pictures.examples [folder]`: the receipt and the History chart drawn from sample data, as the bot
would send them (the receipt in Uzbek, the chart in Russian; `--all` adds every language as receipt-en.png and so on).
The README's pictures (docs/) come from here."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiogram.utils.i18n import I18n

from bot.app import LOCALES
from bot.domain.payments import PaymentState
from bot.domain.spending import months_back, spending
from bot.money.ledger import PaymentView, Rail
from bot.pictures import chart, receipt
from bot.texts import charts, receipt_model
from bot.texts.labels import label, shown

BRAND, HANDLE = "Pay Bot", "@sandbox_pay_bot"


def sample_payment() -> PaymentView:
    return PaymentView(
        id=1, user_id=1001, state=PaymentState.paid, service_id="3", service_name="Hududgaz: Tabiiy gaz",
        account={"account": "4000000002"},
        account_display=[[label("account", None), "4000000002"], [label("fio", None), shown("BOTIROV TEMURBEK")],
                         [label("address", None), shown("Toshkent sh., Chilonzor t., 9-mavze, 14-uy, 27-xonadon")]],
        amount=15_106, card_masked="986034******8885", transaction_id="0b1f6c2e-7d44-4c55-9a51-3f0e2d9b8c11",
        otp_phone=None, otp_failures=0, payment_ref="PL-2026-1130-004417", epos_merchant="90510000123",
        epos_terminal="92000417", paid_at="2026-11-30 14:05:31", error_code=None, rail=Rail.paylov,
    )


def sample_spending():
    months = months_back((2026, 11), 12)
    base = {"gas": ("Hududgaz: Tabiiy gaz", [182_000, 176_500, 150_200, 98_000, 61_000, 40_300, 35_000, 38_900,
                                             52_000, 84_700, 121_000, 15_106]),
            "power": ("Hududiy elektr tarmoqlari", [64_000, 71_500, 69_000, 58_200, 52_000, 61_800, 88_400, 92_100,
                                                     70_300, 60_000, 62_500, 66_000]),
            "water": ("Горячая вода и отопление", [95_000, 95_000, 95_000, 40_000, 0, 0, 0, 0, 0, 45_000, 95_000,
                                                    95_000]),
            "net": ("Uzonline", [0, 0, 110_000, 110_000, 110_000, 110_000, 110_000, 110_000, 110_000, 110_000,
                                 110_000, 110_000]),
            "waste": ("Maxsustrans", [9_800] * 12)}
    rows = [(sid, name, month, amounts[index]) for sid, (name, amounts) in base.items()
            for index, month in enumerate(months)]
    return spending(months, rows)


def write(folder: Path, languages: bool) -> list[Path]:
    i18n = I18n(path=LOCALES, default_locale="en", domain="messages")
    jobs = [("receipt.png", "uz", "receipt"), ("chart.png", "ru", "chart")]
    if languages:
        jobs += [(f"{kind}-{code}.png", code, kind) for kind in ("receipt", "chart") for code in ("uz", "ru", "en")]
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with i18n.context():
        for name, code, kind in jobs:
            with i18n.use_locale(code):
                if kind == "receipt":
                    data = receipt.render(receipt_model.build(sample_payment(), code), brand=BRAND, handle=HANDLE)
                else:
                    sample = sample_spending()
                    data = chart.render(sample, charts.chart_text(sample, code), brand=BRAND, handle=HANDLE)
            (folder / name).write_bytes(data)
            written.append(folder / name)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.pictures.examples", description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", default="docs", type=Path)
    parser.add_argument("--all", action="store_true", help="also every language, as receipt-uz.png, chart-en.png…")
    args = parser.parse_args()
    for path in write(args.folder, args.all):
        print(path)


if __name__ == "__main__":
    main()
