"""Texts about saved cards: the list (with the default and cards Payme no longer accepts marked) and one card."""

from __future__ import annotations

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.services.cards import CardView
from bot.texts import formats


def card_name(card: CardView) -> str:
    """UZCARD •6311, and the user's name for it when they gave one (plain text: quote it for HTML)."""
    return formats.card(card.vendor, card.masked, card.name)


def list_text(cards: list[CardView]) -> str:
    if not cards:
        return _("You have no saved cards yet. Add one to pay bills.")
    lines = [_("Your cards (⭐ is the default):")]
    for card in cards:
        lines.append(
            "{star}<b>{name}</b> · {expiry}".format(
                star="⭐ " if card.is_default else "",
                name=html.quote(card_name(card)),
                expiry=card.expiry_display,
            )
            + ("" if card.active else " — " + _("⚠️ no longer works at Payme; remove it or add it again"))
        )
    return "\n".join(lines)


def card_text(card: CardView) -> str:
    lines = [
        f"<b>{html.quote(card_name(card))}</b>",
        _("Expires: {expiry}").format(expiry=card.expiry_display),
    ]
    if card.owner:
        lines.append(_("Owner: {owner}").format(owner=html.quote(card.owner)))
    if card.vault == "payme":
        lines.append(_("Saved at Payme"))
    if not card.active:
        lines.append(_("⚠️ This card no longer works at Payme and cannot pay. Remove it, or add it again."))
    if card.is_default:
        lines.append(_("⭐ Default card for payments"))
    return "\n".join(lines)
