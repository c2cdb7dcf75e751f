"""The receipt as a PNG: the same model (bot.domain.receipt) as the chat's text, laid out like a paper receipt.

The bot's band on top, what was paid for and the amount large, a status stamp, then every row as label on the
left and value on the right, and a torn edge at the bottom. Plain Python over Pillow.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw

from bot.domain.receipt import Receipt, Row
from bot.pictures import canvas
from bot.pictures.canvas import INK, MUTED, OK, PAGE, dashed, font, px, width, wrap

WIDTH = 380  # logical points; the PNG is canvas.SCALE times wider
PAD = 24
STAMP_COLOURS = {"paid": OK}


@dataclass(frozen=True)
class Drawn:
    """A row as the picture shows it: the model's row and the lines its value took."""

    row: Row
    lines: tuple[str, ...]


def draw(receipt: Receipt, *, brand: str, handle: str = "", test_mode: str = "") -> tuple[Image.Image, list[Drawn]]:
    """The picture, and what it drew for each row (so a test can hold it against the text)."""
    image, pen, y = canvas.page(WIDTH, 2400, brand, handle, test_mode)
    w = image.width
    left, right = px(PAD), w - px(PAD)

    y += px(20)
    pen.text((left, y), receipt.heading.upper(), font=font(12, "bold"), fill=MUTED)
    y += px(22)
    for line in wrap(receipt.service.value, font(19, "bold"), right - left):
        pen.text((left, y), line, font=font(19, "bold"), fill=INK)
        y += px(26)
    y += px(4)
    amount_top = y
    amount_font = font(28, "bold")
    pen.text((left, y), receipt.amount.value, font=amount_font, fill=INK)
    y += px(40)
    y += _stamp(image, receipt, left=left, right=right, middle=amount_top + px(20),
                amount_right=left + width(receipt.amount.value, amount_font))
    drawn = [Drawn(receipt.service, (receipt.service.value,)), Drawn(receipt.amount, (receipt.amount.value,))]

    for group in (receipt.account, receipt.details):
        if not group:
            continue
        y += px(8)
        dashed(pen, y, left, right)
        y += px(14)
        for row in group:
            lines, y = _row(pen, row, y, left, right)
            drawn.append(Drawn(row, lines))

    y += px(6)
    dashed(pen, y, left, right)
    y += px(14)
    thanks = font(11)
    pen.text((w // 2, y), f"{brand} · {handle}" if handle else brand, font=thanks, fill=MUTED, anchor="mt")
    y += px(30)
    _torn_edge(pen, y, w)
    return image.crop((0, 0, w, y + px(10))), drawn


def render(receipt: Receipt, *, brand: str, handle: str = "", test_mode: str = "") -> bytes:
    image, _drawn = draw(receipt, brand=brand, handle=handle, test_mode=test_mode)
    return canvas.png(image)


def _row(pen: ImageDraw.ImageDraw, row: Row, y: int, left: int, right: int) -> tuple[tuple[str, ...], int]:
    """Label on the left, value on the right on the same line when it fits, else under it, right-aligned."""
    label_font, value_font = font(13), font(14, "bold" if row.strong else "regular")
    step = px(21)
    labels = wrap(row.label, label_font, (right - left) * 11 // 20)
    label_width = max(width(line, label_font) for line in labels)
    room = right - left - label_width - px(12)
    values = [row.value] if width(row.value, value_font) <= room else wrap(row.value, value_font, right - left)
    same_line = len(values) == 1 and width(values[0], value_font) <= room
    for index, line in enumerate(labels):
        pen.text((left, y + index * step), line, font=label_font, fill=MUTED)
    value_top = y if same_line else y + len(labels) * step
    for index, line in enumerate(values):
        pen.text((right, value_top + index * step), line, font=value_font, fill=INK, anchor="ra")
    bottom = max(y + len(labels) * step, value_top + len(values) * step)
    return tuple(values), bottom + px(5)


def _stamp(image: Image.Image, receipt: Receipt, *, left: int, right: int, middle: int, amount_right: int) -> int:
    """The status stamp, tilted like an ink stamp: right of the amount, or under it when the two do not fit on one
    line (a long amount, a long word for "paid"); returns the height it added under the amount."""
    colour = STAMP_COLOURS.get(receipt.status, MUTED)
    face = font(17, "bold")
    text_w = width(receipt.stamp, face)
    box_w, box_h = text_w + px(26), px(38)
    stamp = Image.new("RGBA", (box_w + px(8), box_h + px(8)), (0, 0, 0, 0))
    pen = ImageDraw.Draw(stamp)
    ink = (*colour, 225)
    pen.rounded_rectangle((px(4), px(4), px(4) + box_w, px(4) + box_h), radius=px(8), outline=ink, width=px(3))
    pen.text((px(4) + box_w // 2, px(4) + box_h // 2), receipt.stamp, font=face, fill=ink, anchor="mm")
    tilted = stamp.rotate(10, resample=Image.Resampling.BICUBIC, expand=True)
    if amount_right + px(12) <= right - tilted.width:
        image.paste(tilted, (right - tilted.width, middle - tilted.height // 2), tilted)
        return 0
    image.paste(tilted, (left - px(2), middle + px(18)), tilted)
    return tilted.height - px(4)


def _torn_edge(pen: ImageDraw.ImageDraw, y: int, w: int) -> None:
    """A zigzag bottom, the page colour showing through."""
    tooth = px(10)
    points = [(0, y + px(10))]
    for x in range(0, w + tooth, tooth):
        points.append((x, y + (px(10) if (x // tooth) % 2 else 0)))
    points += [(w, y + px(10)), (w, y + px(40)), (0, y + px(40))]
    pen.polygon(points, fill=PAGE)
