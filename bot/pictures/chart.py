"""The History chart as a PNG: paid bills per month for the last 12 months, one stacked bar a month, a colour per
service, and a legend with each service's total. Words and amounts come in already in the user's language
(ChartText); this module only draws. Plain Python over Pillow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from bot.domain.spending import Spending
from bot.pictures import canvas
from bot.pictures.canvas import INK, LINE, MUTED, dashed, font, px, width, wrap

WIDTH = 480  # logical points
PAD = 22
AXIS = 58  # room for the amounts left of the plot
PLOT_HEIGHT = 220
MOST_SERVICES = 6  # more are drawn together as "other"
PALETTE = ((37, 99, 235), (245, 158, 11), (16, 185, 129), (239, 68, 68), (139, 92, 246), (6, 182, 212))
OTHER_COLOUR = (156, 163, 175)


@dataclass(frozen=True)
class ChartText:
    title: str
    subtitle: str
    months: tuple[str, ...]  # a short name per month, oldest first
    years: tuple[str, ...]  # the year under the first month and under each January, else ""
    other: str  # the legend's name for the smaller services drawn together
    total: str  # the legend's last line
    unit: str  # what the axis and bar figures count: "thousand sum"
    money: Callable[[int], str]  # 1 234 000 so‘m: the legend
    compact: Callable[[int], str]  # 1 234 000 -> "1 234" in thousands: the axis and above the bars


@dataclass(frozen=True)
class Series:
    name: str
    colour: tuple[int, int, int]
    amounts: tuple[int, ...]  # one per month

    @property
    def total(self) -> int:
        return sum(self.amounts)


def series(data: Spending, other: str) -> list[Series]:
    """One series per service, the biggest first; past MOST_SERVICES the rest are one grey series."""
    shown = data.services[:MOST_SERVICES] if len(data.services) <= MOST_SERVICES else data.services[:MOST_SERVICES - 1]
    out = [Series(name, PALETTE[index % len(PALETTE)], tuple(data.amount(sid, m) for m in data.months))
           for index, (sid, name) in enumerate(shown)]
    rest = data.services[len(shown):]
    if rest:
        out.append(Series(other, OTHER_COLOUR,
                          tuple(sum(data.amount(sid, m) for sid, _name in rest) for m in data.months)))
    return out


def nice_step(top: int, steps: int = 4) -> int:
    """A round axis step (1, 2, 2.5 or 5 times a power of ten) so that `steps` of them cover `top`."""
    raw = max(1, -(-top // steps))
    power = 1
    while power * 10 <= raw:
        power *= 10
    for factor in (1, 2, 2.5, 5, 10):
        step = int(factor * power)
        if step >= raw:
            return step
    return 10 * power


def axis(top: int) -> tuple[int, int]:
    """(step, axis top): the lowest round top above `top` reached in 3 to 6 steps, about 4 when several are."""
    top = max(top, 1)
    choices = []
    for steps in (4, 5, 3, 6):
        step = nice_step(top, steps)
        axis_top = step * -(-top // step)
        choices.append((axis_top, abs(axis_top // step - 4), step))
    axis_top, _distance, step = min(choices)
    return step, axis_top


def draw(data: Spending, text: ChartText, *, brand: str, handle: str = "", test_mode: str = "") -> Image.Image:
    image, pen, y = canvas.page(WIDTH, 1600, brand, handle, test_mode)
    w = image.width
    left, right = px(PAD), w - px(PAD)

    y += px(16)
    for line in wrap(text.title, font(18, "bold"), right - left):
        pen.text((left, y), line, font=font(18, "bold"), fill=INK)
        y += px(24)
    for line in wrap(text.subtitle, font(12), right - left):
        pen.text((left, y), line, font=font(12), fill=MUTED)
        y += px(18)
    y += px(12)
    pen.text((left, y), text.unit, font=font(10), fill=MUTED)
    y += px(22)

    lines = series(data, text.other)
    totals = [data.month_total(m) for m in data.months]
    step, top_value = axis(max(totals))
    plot_left, plot_top, plot_bottom = left + px(AXIS - PAD + 6), y, y + px(PLOT_HEIGHT)
    scale = (plot_bottom - plot_top) / top_value

    for value in range(0, top_value + 1, step):  # gridlines and their amounts
        gy = round(plot_bottom - value * scale)
        pen.line((plot_left, gy, right, gy), fill=LINE if value else MUTED, width=px(1))
        pen.text((plot_left - px(6), gy), text.compact(value), font=font(10), fill=MUTED, anchor="rm")

    slot = (right - plot_left) / len(data.months)
    bar = slot * 0.62
    for index, month_total in enumerate(totals):
        x0 = plot_left + slot * index + (slot - bar) / 2
        base = plot_bottom
        for item in lines:
            amount = item.amounts[index]
            if amount <= 0:
                continue
            height = amount * scale
            pen.rectangle((round(x0), round(base - height), round(x0 + bar), round(base) - 1), fill=item.colour)
            base -= height
        if month_total:
            label = text.compact(month_total)
            for size in (10, 9, 8):  # shrink to the slot; left out if even the smallest does not fit
                if width(label, font(size, "bold")) <= slot - px(2):
                    pen.text((round(x0 + bar / 2), round(base) - px(3)), label, font=font(size, "bold"), fill=INK,
                             anchor="md")
                    break
        centre = round(plot_left + slot * index + slot / 2)
        month_font = next((font(size) for size in (11, 10, 9) if width(text.months[index], font(size)) <= slot - px(3)),
                          font(8))  # Russian names are longer (февр., сент.)
        pen.text((centre, plot_bottom + px(6)), text.months[index], font=month_font, fill=INK, anchor="mt")
        if text.years[index]:
            pen.text((centre, plot_bottom + px(22)), text.years[index], font=font(10), fill=MUTED, anchor="mt")
    y = plot_bottom + px(46)

    dashed(pen, y, left, right)
    y += px(12)
    money_font, name_font = font(13, "bold"), font(13)
    for item in lines:
        amount = text.money(item.total)
        room = right - left - px(22) - width(amount, money_font) - px(12)
        name = wrap(item.name, name_font, room)[0]
        if name != item.name:
            name = name[:-1].rstrip() + "…"
        swatch = px(12)
        pen.rounded_rectangle((left, y + px(3), left + swatch, y + px(3) + swatch), radius=px(3), fill=item.colour)
        pen.text((left + px(22), y), name, font=name_font, fill=INK)
        pen.text((right, y), amount, font=money_font, fill=INK, anchor="ra")
        y += px(24)
    y += px(2)
    dashed(pen, y, left, right)
    y += px(10)
    pen.text((left, y), text.total, font=font(14, "bold"), fill=INK)
    pen.text((right, y), text.money(sum(totals)), font=font(14, "bold"), fill=INK, anchor="ra")
    y += px(30)
    return image.crop((0, 0, w, y))


def render(data: Spending, text: ChartText, *, brand: str, handle: str = "", test_mode: str = "") -> bytes:
    return canvas.png(draw(data, text, brand=brand, handle=handle, test_mode=test_mode))
