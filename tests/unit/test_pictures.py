"""The receipt's text and picture come from one model; the chart's data and scale."""

from __future__ import annotations

import html
import io
from dataclasses import replace

import pytest
from aiogram.utils.i18n import I18n
from PIL import Image

from bot.app import LOCALES
from bot.domain.spending import months_back, spending
from bot.pictures import chart, receipt
from bot.pictures.examples import sample_payment, sample_spending
from bot.texts import charts, receipt_model

LANGUAGES = ("uz", "ru", "en")


@pytest.fixture
def i18n():
    translations = I18n(path=LOCALES, default_locale="en", domain="messages")
    with translations.context():
        yield translations


@pytest.mark.parametrize("language", LANGUAGES)
def test_text_and_picture_show_the_same_rows(i18n, language):
    # stored as the pay flow stores it: escaped for HTML
    payment = replace(sample_payment(), account_display=[["Hisob", "4000000002"], ["F.I.Sh.", "Ali &amp; Vali"]],
                      rail="payme", receipt_id="6543a1b2c3")
    with i18n.use_locale(language):
        model = receipt_model.build(payment)
        text = receipt_model.as_text(model)
        image, drawn = receipt.draw(model, brand="Pay Bot", handle="@pay_bot")

    by_row = {item.row: item for item in drawn}
    assert len(drawn) == len(by_row) and set(by_row) == set(model.rows)  # every row of the model drawn, none other
    lines = text.split("\n")[1:]
    assert len(lines) == len(model.rows)
    for line, row in zip(lines, model.rows):
        item = by_row[row]
        value = f"<b>{html.escape(row.value, quote=False)}</b>" if row.strong else html.escape(row.value, quote=False)
        assert line == f"{html.escape(row.label, quote=False)}: {value}"
        assert "".join(item.lines).replace(" ", "") == row.value.replace(" ", "")  # wrapped, never cut short
    assert ("F.I.Sh.", "Ali & Vali") in [(r.label, r.value) for r in model.rows]  # plain text in the model
    assert "F.I.Sh.: <b>Ali &amp; Vali</b>" in text
    assert model.amount.value in text and model.time == "30.11.2026 14:05"
    assert 700 <= image.width <= 800 and image.height > image.width


def test_receipt_words_per_language(i18n):
    with i18n.use_locale("uz"):
        model = receipt_model.build(sample_payment())
    assert model.amount.value == "15 106 so‘m" and model.stamp == "TO‘LANDI"
    assert ("Karta", "HUMO •8885") in [(r.label, r.value) for r in model.rows]
    png = receipt.render(model, brand="Pay Bot", test_mode="TEST MODE")
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_months_back_cross_a_year():
    assert months_back((2026, 2), 4) == ((2025, 11), (2025, 12), (2026, 1), (2026, 2))
    assert len(months_back((2026, 11), 12)) == 12


def test_spending_sums_per_service_and_month():
    window = months_back((2026, 11), 12)
    data = spending(window, [("gas", "Gaz", (2026, 11), 5000), ("gas", "Gaz", (2026, 10), 3000),
                             ("hot", "Hot", (2026, 11), 9000), ("old", "Old", (2025, 11), 99999)])
    assert [sid for sid, _name in data.services] == ["hot", "gas"]  # the biggest first; outside the window left out
    assert data.month_total((2026, 11)) == 14000 and data.total == 17000
    assert spending(window, []).empty


def test_more_services_than_colours_share_one_series():
    window = months_back((2026, 11), 12)
    data = spending(window, [(f"s{i}", f"Service {i}", (2026, 11), 1000 * (i + 1)) for i in range(9)])
    series = chart.series(data, "Other")
    assert len(series) == chart.MOST_SERVICES and series[-1].name == "Other"
    assert sum(item.total for item in series) == data.total  # nothing lost in the grouping


@pytest.mark.parametrize(("top", "step", "axis_top"), [(434_000, 100_000, 500_000), (47_000, 10_000, 50_000),
                                                      (1, 1, 1), (999, 250, 1000)])
def test_axis_is_round_and_above_the_tallest_bar(top, step, axis_top):
    assert chart.axis(top) == (step, axis_top)


@pytest.mark.parametrize("language", LANGUAGES)
def test_chart_in_each_language(i18n, language):
    data = sample_spending()
    with i18n.use_locale(language):
        text = charts.chart_text(data)
        caption = charts.chart_caption(data)
    assert len(text.months) == 12 and text.years[0] == "2025" and text.years[1] == "2026"
    assert len(caption) <= 1024
    image = Image.open(io.BytesIO(chart.render(data, text, brand="Pay Bot")))
    assert image.format == "PNG" and 900 <= image.width <= 1000
