"""The words the bot uses, one per idea and language, and the synonyms it must not use for them.

A user who reads "to‘lov tizimi" on one screen and "provayder" on the next wonders whether two companies are
involved. tests/unit/test_glossary.py holds every catalog to this list; docs/glossary.md is its readable copy
(`python -m bot.texts.glossary > docs/glossary.md`, checked by the same test).

Forbidden words are matched as lowercase stems anywhere in a translation (so "провайдер" also catches
"провайдера"); Uzbek apostrophes are compared after folding every variant to ‘ or ’ as the catalog must spell them.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "ru", "uz")


@dataclass(frozen=True)
class Word:
    use: str
    avoid: tuple[str, ...] = ()


@dataclass(frozen=True)
class Term:
    key: str
    meaning: str
    en: Word
    ru: Word
    uz: Word

    def word(self, language: str) -> Word:
        return getattr(self, language)


TERMS: tuple[Term, ...] = (
    Term("payment_system", "the company that moves the money: Paylov, Payme, PaySys",
         Word("payment provider", ("payment gateway", "processor")),
         Word("платёжная система", ("провайдер", "платёжный сервис", "сервис переводов")),
         Word("to‘lov tizimi", ("provayder", "to‘lov xizmati", "o‘tkazma xizmati"))),
    Term("supplier", "the company whose service is paid and that keeps the account: the gas, power or water company",
         Word("provider", ("vendor", "biller")),
         Word("поставщик услуги", ("провайдер", "оператор услуги")),
         Word("xizmat ko‘rsatuvchi", ("provayder", "ta’minotchi", "yetkazib beruvchi"))),
    Term("service", "what is paid for: electricity, hot water, mobile",
         Word("service"),
         Word("услуга", ("сервис",)),
         Word("xizmat", ("servis",))),
    Term("category", "a group of services in the catalogue",
         Word("category"),
         Word("категория", ("раздел услуг",)),
         Word("kategoriya", ("toifa", "turkum"))),
    Term("account", "the number the supplier knows the payer by (лицевой счёт); a saved one has a name",
         Word("account", ("personal account",)),
         Word("лицевой счёт", ("абонентский номер",)),
         Word("hisob raqami", ("shaxsiy hisob", "abonent raqami"))),
    Term("home", "🏠 My homes: the list of saved, named accounts",
         Word("home"),
         Word("дом", ("мои счета",)),
         Word("uy", ("xonadon",))),
    Term("debt", "what the account owes the supplier",
         Word("debt", ("arrears",)),
         Word("долг", ("задолженност",)),
         Word("qarz", ("qarzdorlik",))),
    Term("balance", "the account's or the card's money as the provider reports it",
         Word("balance"),
         Word("баланс", ("остаток", "сальдо")),
         Word("balans", ("qoldiq", "saldo"))),
    Term("amount", "the sum the user pays or receives",
         Word("amount"),
         Word("сумма", ("размер платежа",)),
         Word("summa", ("miqdor",))),
    Term("sum", "the currency",
         Word("sum", ("UZS", "soum")),
         Word("сум", ("руб", "UZS")),
         Word("so‘m", ("UZS", "сўм"))),
    Term("payment", "one attempt to pay one bill",
         Word("payment"),
         Word("платёж", ("оплата платежа",)),
         Word("to‘lov", ("tulov",))),
    Term("transaction", "the payment system's own id for a payment",
         Word("transaction"),
         Word("транзакция"),
         Word("tranzaksiya", ("tranzakciya", "tranzaktsiya"))),
    Term("receipt", "the proof of a payment: our message, or Payme's receipt",
         Word("receipt"),
         Word("чек", ("квитанци",)),
         Word("chek", ("kvitansiya", "kvitantsiya"))),
    Term("card", "a bank card (UzCard, HUMO)",
         Word("card"),
         Word("карта", ("карточк",)),
         Word("karta", ("kartochka", "plastik"))),
    Term("default_card", "the card chosen first for payments",
         Word("default card"),
         Word("основная карта", ("карта по умолчанию",)),
         Word("asosiy karta", ("standart karta",))),
    Term("expiry", "a card's month and year",
         Word("expiry", ("expiration date", "valid thru")),
         Word("срок действия", ("срок годности",)),
         Word("amal qilish muddati", ("yaroqlilik muddati",))),
    Term("code", "the SMS code that confirms a card or a payment",
         Word("code", ("OTP", "password")),
         Word("код", ("пароль",)),
         Word("kod", ("parol",))),
    Term("phone", "the user's phone number",
         Word("phone number"),
         Word("номер телефона"),
         Word("telefon raqami", ("telefon nomeri",))),
    Term("cashback", "money back from paid bills",
         Word("cashback", ("cash back", "cash-back")),
         Word("кэшбэк", ("кешбэк", "кэшбек", "кешбек")),
         Word("keshbek", ("kashbek", "cashback"))),
    Term("withdraw", "sending cashback to a card",
         Word("withdraw"),
         Word("вывести", ("обналичить",)),
         Word("yechib olish", ("naqdlashtirish",))),
    Term("refund", "money sent back to the payer by an operator",
         Word("refund"),
         Word("возврат", ("рефанд",)),
         Word("qaytarish", ("refand", "vozvrat"))),
    Term("history", "🧾 History: the user's payments by month",
         Word("history"),
         Word("история", ("журнал",)),
         Word("tarix", ("jurnal",))),
)


def fold(text: str) -> str:
    """Lowercase, ё as е, and every Uzbek apostrophe variant folded to the two the catalog uses."""
    text = text.lower().replace("ё", "е")
    for wrong in ("'", "`", "ʻ", "ʼ"):
        text = text.replace(wrong, "’")
    return text.replace("o’", "o‘").replace("g’", "g‘")


def forbidden_in(text: str, language: str) -> list[tuple[str, str]]:
    """(term key, forbidden word) pairs found in a translation."""
    folded = fold(text)
    return [(term.key, word) for term in TERMS for word in term.word(language).avoid if fold(word) in folded]


def markdown() -> str:
    lines = ["# Glossary", "",
             "One word per idea and language; the words after “not” are never used for that idea. Generated from "
             "`bot/texts/glossary.py` (`python -m bot.texts.glossary > docs/glossary.md`); "
             "`tests/unit/test_glossary.py` checks the catalogs against it and this page against the module.", "",
             "Uzbek Latin spells o‘ and g‘ with ‘ (U+2018) and the tutuq belgisi with ’ (U+2019); Uzbek quotes are "
             "“…”, Russian ones «…». A known provider error gets our own words; the provider's text is shown only "
             "as a quoted detail after them.", "",
             "| idea | meaning | en | ru | uz |", "|---|---|---|---|---|"]
    for term in TERMS:
        cells = []
        for language in LANGUAGES:
            word = term.word(language)
            cells.append(f"**{word.use}**" + (f"; not {', '.join(word.avoid)}" if word.avoid else ""))
        lines.append(f"| {term.key} | {term.meaning} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
