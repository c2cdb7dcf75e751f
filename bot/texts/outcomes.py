"""What the user is told for each outcome code: our own rule codes and the providers' error codes.

Lazy strings, resolved in the user's language when shown; `{name}` style parameters come from the error.
"""

from __future__ import annotations

from aiogram import html
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.providers.errors import (
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
)

RULES = {
    # card number and expiry (bot.domain.cards)
    "length": __("A card number has 16 digits. Please check it and send it again."),
    "digits": __("A card number contains only digits. Please send it again."),
    "luhn": __("This card number has a typo: the check digit does not match. Please check it and send it again."),
    "brand": __("Only UzCard (8600…) and HUMO (9860…) cards can be added. Please send another card."),
    "expiry_format": __("Please send the expiry as on the card: month and year, like 03/29."),
    "expiry_month": __("There is no such month. Please send the expiry like 03/29."),
    "expiry_past": __("This card has already expired. Please use another card."),
    "otp_format": __("The code has 6 digits. Please type it again."),
    # card flow (bot.services.cards)
    "duplicate": __("This card is already saved as “{name}”."),
    "locked": __("Too many wrong codes. Adding cards is locked for {minutes} min. Please try later."),
    "wrong_code": __("Wrong code. Tries left: {left}."),
    "expiry_forgotten": __("It has been a while since you sent the expiry. Please send the card's expiry again "
                           "(MM/YY), then its number."),
    "card_not_found": __("This card is not available."),
    "bad_name": __("A name is 1 to {max} characters. Please send another one."),
    # Payme cards (bot.services.cards, the card page)
    "card_inactive": __("The card “{name}” no longer works at Payme. Please choose another card or add it again."),
    "card_not_verified": __("Payme has not confirmed this card. Please add it again."),
    "payme_unavailable": __("Payme cards cannot be used right now. Please try later or use another card."),
    "not_registered": __("Please open the bot and share your phone number first."),
    "bad_signature": __("Please open this page with the “Add a card” button in the bot."),
}

PROVIDER = {
    "card_expired": __("The bank says this card has expired."),
    "card_is_blocked": __("The bank says this card is blocked."),
    "card_is_blocked_in_processing_center": __("The bank says this card is blocked."),
    "sms_not_active": __("SMS notifications are not connected to this card. Connect them at your bank and try again."),
    "card_has_no_phone": __("No phone number is linked to this card at the bank."),
    "phone_not_match": __("The card's phone number is not yours. Please use a card registered to your number."),
    "invalid_card": __("The card number or expiry is wrong. Please check them."),
    "pan_not_valid": __("The card number or expiry is wrong. Please check them."),
    "card_not_found_in_processing_center": __("The bank does not know this card. Please check the number."),
    "card_is_not_supported": __("This card is not supported. Please use an UzCard or HUMO card."),
    "card_not_found": __("This card is not available."),
    "invalid_otp": __("Wrong code."),
    "otp_expired": __("The code has expired."),
    "too_many_attempts": __("Too many attempts. Please try again later."),
    "insufficient_funds": __("Not enough money on the card."),
    "daily_limit_used_for_this_card": __("The card's daily limit is used up."),
    "invalid_amount": __("The provider does not accept this amount."),
    "processing_error": __("The bank's processing center reported an error. Please try again later."),
    "server_error": __("The payment provider has a problem. Please try again later."),
    "gateway_not_working": __("The payment provider has a problem. Please try again later."),
    "card_is_already_activated": __("This card is already added."),
    # Payme Subscribe (JSON-RPC error codes, providers.md)
    "-31002": __("The bank's processing center reported an error. Please try again later."),
    "-31300": __("The card number or expiry is wrong. Please check them."),
    "-31301": __("The bank refused this card: it is expired, blocked, or has no SMS notifications."),
    "-31303": __("Not enough money on the card."),
    "-31400": __("This card is not available."),
    "-31630": __("Payme has not confirmed this card. Please add it again."),
    "-32400": __("The payment provider had an internal error. Please try again later."),
    "-31001": __("The payment provider had an internal error. Please try again later."),
    "-31101": __("The code has expired."),
    "-31102": __("Too many attempts. Please try again later."),
    "-31103": __("Wrong code."),
    "-31110": __("The SMS with the code could not be sent. Please try again later."),
    "-31302": __("The bank cannot tell the card's balance now. Please try again later."),
    "-31611": __("The provider does not accept this amount."),
    # Paylov codes the sandbox answers (bot/sandbox/paylov.py MESSAGES)
    "unknown_error": __("The payment provider had an internal error. Please try again later."),
    "balance_refresh_error": __("The bank cannot tell the card's balance now. Please try again later."),
    "account_not_found": __("The provider does not know this account. Please check it and type it again."),
    "field_not_valid": __("The provider did not accept the details you typed. Please check them."),
    "validation_error": __("The provider did not accept the details you typed. Please check them."),
    "info_not_available": __("The provider cannot show this account's balance now. Please try later."),
    "service_not_available": __("This service cannot be paid right now. Please try later."),
    "transaction_already_payed": __("This payment has already been made."),
    "transaction_not_available_for_payment": __("This payment is closed."),
    "transaction_not_found": __("This payment is not available."),
    "too_many_requests": __("The payment provider is busy right now. Nothing happened; please try again in a minute."),
}


def rule_text(code: str, **params: object) -> str:
    template = RULES.get(code)
    return str(template).format(**params) if template is not None else _("Something is wrong with this input.")


def provider_text(error: ProviderError) -> str:
    """Worded by what happened, always in the user's language: refused (a known code in our words; an unknown one
    says so and quotes the provider's own message as a detail), busy, not reached, slow, or an answer we could not
    read. For calls that move no money (catalogue, account info, cards, a payout's prepare): the unknown outcome of
    a pay call is the money engine's to tell (bot.texts.receipts), never "no money was taken"."""
    if isinstance(error, ProviderRejected):
        known = PROVIDER.get(error.code)
        if known is not None:
            return str(known)
        text = _("The payment provider refused the request.")
        if error.message:
            return text + " " + _("Its answer: “{message}”").format(message=html.quote(" ".join(
                error.message.split())[:300]))
        return text + " " + _("Error code: {code}.").format(code=html.quote(error.code[:40]))
    if isinstance(error, ProviderThrottled):
        return _("The payment provider is busy right now. Nothing happened; please try again in a minute.")
    if isinstance(error, ProviderUnavailable):
        return _("The payment provider cannot be reached right now. Nothing happened; please try again in a few "
                 "minutes.")
    if isinstance(error, ProviderOutcomeUnknown) and error.timed_out:
        return _("The payment provider is slow to answer. Nothing was saved; please try again in a minute.")
    return _("We could not get a clear answer from the payment provider. No money was taken; please try again in a "
             "minute.")
