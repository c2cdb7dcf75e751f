"""What both pictures share: fonts with Cyrillic and Uzbek Latin, the palette, the bot's header band, text wrapping.

Fonts are Debian's DejaVu Sans (`fonts-dejavu-core`, installed by `make test`); without it Pillow's own font is used
(Latin only) and a warning is logged once, so a picture is still sent.
"""

from __future__ import annotations

import io
import logging
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}
SCALE = 2  # drawn at twice the logical size: sharp on phone screens, which show a photo ~360 points wide

INK = (17, 24, 39)
MUTED = (100, 110, 125)
LINE = (214, 219, 226)
PAPER = (255, 255, 255)
PAGE = (236, 240, 245)
BRAND = (15, 98, 254)
BRAND_DARK = (10, 70, 190)
OK = (22, 140, 70)
WARN_BG = (255, 236, 179)
WARN_INK = (120, 80, 0)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def font(size: int, weight: str = "regular") -> Font:
    """DejaVu Sans at `size` logical points; Pillow's default font when the file is missing (logged once)."""
    path = FONT_DIR / FONT_FILES[weight]
    try:
        return ImageFont.truetype(str(path), size * SCALE)
    except OSError:
        _warn_missing(path)
        return ImageFont.load_default(size * SCALE)


@cache
def _warn_missing(path: Path) -> None:
    logger.warning("font %s is missing (Debian package fonts-dejavu-core): pictures use Pillow's default font, "
                   "which has no Cyrillic", path)


def px(value: float) -> int:
    return round(value * SCALE)


def width(text: str, face: Font) -> int:
    return round(face.getlength(text))


def wrap(text: str, face: Font, limit: int) -> list[str]:
    """Lines no wider than `limit` pixels: broken at spaces, and inside a word only when it alone is too wide."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if width(candidate, face) <= limit:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        while width(word, face) > limit:  # a long reference number: cut it where it fills the line
            cut = max(1, next((i for i in range(len(word), 0, -1) if width(word[:i], face) <= limit), 1))
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line or not lines:
        lines.append(line)
    return lines


def line_height(face: Font) -> int:
    ascent, descent = face.getmetrics() if hasattr(face, "getmetrics") else (face.size, 0)
    return ascent + descent


def header(draw: ImageDraw.ImageDraw, canvas_width: int, brand: str, handle: str) -> int:
    """The bot's band across the top; returns its height."""
    height = px(56)
    draw.rectangle((0, 0, canvas_width, height), fill=BRAND)
    draw.rectangle((0, height - px(4), canvas_width, height), fill=BRAND_DARK)
    mark = px(14)  # a round badge with the name's first letter
    centre = height // 2 - px(2)
    draw.ellipse((px(20), centre - mark, px(20) + 2 * mark, centre + mark), fill=PAPER)
    draw.text((px(20) + mark, centre), (brand[:1] or "•").upper(), font=font(16, "bold"), fill=BRAND, anchor="mm")
    draw.text((px(20) + 2 * mark + px(10), centre), brand, font=font(18, "bold"), fill=PAPER, anchor="lm")
    if handle:
        draw.text((canvas_width - px(20), centre), handle, font=font(13), fill=(220, 230, 255), anchor="rm")
    return height


def page(logical_width: int, height: int, brand: str, handle: str, test_mode: str
         ) -> tuple[Image.Image, ImageDraw.ImageDraw, int]:
    """A blank picture (cut to what was drawn later) with the bot's header, and the test-mode strip when it applies;
    the third value is where drawing goes on."""
    image = Image.new("RGB", (px(logical_width), px(height)), PAPER)
    pen = ImageDraw.Draw(image)
    y = header(pen, image.width, brand, handle)
    if test_mode:
        y += banner(pen, y, image.width, test_mode)
    return image, pen, y


def banner(draw: ImageDraw.ImageDraw, top: int, canvas_width: int, text: str) -> int:
    """The test-mode strip under the header; returns its height."""
    height = px(26)
    draw.rectangle((0, top, canvas_width, top + height), fill=WARN_BG)
    draw.text((canvas_width // 2, top + height // 2), text, font=font(12, "bold"), fill=WARN_INK, anchor="mm")
    return height


def dashed(draw: ImageDraw.ImageDraw, y: int, left: int, right: int, *, dash: int = 6, gap: int = 5) -> None:
    x = left
    while x < right:
        draw.line((x, y, min(x + px(dash), right), y), fill=LINE, width=px(1))
        x += px(dash + gap)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
