"""The History chart's words in the user's language: month names, the amounts' unit, the caption."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from aiogram import html
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date
from babel.numbers import format_decimal

from bot.domain.spending import Month, Spending
from bot.pictures.chart import ChartText
from bot.texts import formats
from bot.texts.labels import trim
from bot.texts.receipt_model import current_locale

CAPTION_SERVICES = 10


def _month(month: Month, pattern: str, locale: str) -> str:
    return format_date(date(month[0], month[1], 1), pattern, locale=locale)


def period(data: Spending, locale: str) -> str:
    return _("{start} – {end}").format(start=_month(data.months[0], "LLLL y", locale),
                                       end=_month(data.months[-1], "LLLL y", locale))


def _capital(text: str) -> str:
    """Russian month names are lower case; a line starting with one is not."""
    return text[:1].upper() + text[1:]


def chart_text(data: Spending, locale: str | None = None) -> ChartText:
    """Amounts on the axis and above the bars count thousands, or millions once a month reaches one."""
    locale = locale or current_locale()
    top = max((data.month_total(m) for m in data.months), default=0)
    divisor, unit = (1_000_000, _("million sum")) if top >= 1_000_000 else (1_000, _("thousand sum"))

    def compact(amount: int) -> str:
        value = Decimal(amount) / divisor  # tenths only below ten units: 4.5, 12, 351
        value = value.quantize(Decimal("0.1") if value < 10 else Decimal("1"), ROUND_HALF_UP)
        return format_decimal(value, format="#,##0.#", locale=locale).translate(formats.SPACES)

    years = tuple(str(m[0]) if index == 0 or m[1] == 1 else "" for index, m in enumerate(data.months))
    return ChartText(
        title=_("Bills paid, by month"),
        subtitle=_("{period} · paid in this bot").format(period=_capital(period(data, locale))),
        months=tuple(_month(m, "LLL", locale) for m in data.months),
        years=years,
        other=_("Other services"),
        total=_("Total for 12 months"),
        unit=unit,
        money=lambda amount: formats.money(amount, locale),
        compact=compact,
    )


def chart_caption(data: Spending, locale: str | None = None) -> str:
    """What the picture shows, in words (the photo's caption), with each service's total for those who can't see it."""
    locale = locale or current_locale()
    lines = [_("📊 Bills paid in this bot, {period}").format(period=html.quote(period(data, locale)))]
    lines += [f"• {html.quote(trim(name, 48))}: {formats.money(data.service_total(sid), locale)}"
              for sid, name in data.services[:CAPTION_SERVICES]]
    if len(data.services) > CAPTION_SERVICES:  # a caption holds 1024 characters
        lines.append("• …")
    lines.append(_("Total for 12 months: <b>{amount}</b>").format(amount=formats.money(data.total, locale)))
    return "\n".join(lines)


def nothing_to_chart() -> str:
    return _("📊 Nothing to chart yet: no bills were paid in this bot in the last 12 months.")
