"""Onboarding and the menu, as a user sees them through the Telegram double."""

from __future__ import annotations

import pytest

from bot.services.users import UserService

MENU = {
    "en": [["💡 Pay bills", "💳 My cards"], ["🧾 History", "🏠 My homes"], ["🌐 Language", "❓ Help"]],
    "ru": [["💡 Оплатить счета", "💳 Мои карты"], ["🧾 История", "🏠 Мои дома"], ["🌐 Язык", "❓ Помощь"]],
    "uz": [["💡 To‘lovlar", "💳 Kartalarim"], ["🧾 Tarix", "🏠 Uylarim"], ["🌐 Til", "❓ Yordam"]],
}
LANGUAGE_BUTTON = {"en": "🇬🇧 English", "ru": "🇷🇺 Русский", "uz": "🇺🇿 O‘zbekcha"}
SHARE = {"en": "📱 Share my phone number", "ru": "📱 Отправить мой номер", "uz": "📱 Telefon raqamimni yuborish"}
ALL_SET = {"en": "You're all set", "ru": "Всё готово", "uz": "Hammasi tayyor"}
PHONE_PROMPT = {"en": "share your phone number", "ru": "отправьте свой номер", "uz": "telefon raqamingizni yuboring"}


def labels(message) -> list[str]:
    return [button.text for row in message.buttons for button in row]


async def onboard(user, language: str = "en"):
    await user.send("/start")
    choice = await user.wait_message()
    await user.press(next(label for label in labels(choice) if label.startswith(LANGUAGE_BUTTON[language])))
    await user.wait_message(PHONE_PROMPT[language])
    await user.tap(SHARE[language])
    await user.wait_message(ALL_SET[language])


@pytest.mark.parametrize("language", ["uz", "ru", "en"])
async def test_onboarding_in_each_language(app, telegram, language):
    user = telegram.user(500 + len(language), language_code="en", phone="+998901112233")
    await user.send("/start")
    choice = await user.wait_message("Choose your language")
    assert labels(choice) == ["🇬🇧 English ✓", "🇺🇿 O‘zbekcha", "🇷🇺 Русский"]

    await user.press(next(label for label in labels(choice) if label.startswith(LANGUAGE_BUTTON[language])))
    await user.wait_message(PHONE_PROMPT[language])
    assert user.reply_keyboard == [[SHARE[language]]]

    await user.tap(SHARE[language])
    await user.wait_message(ALL_SET[language])
    assert user.reply_keyboard == MENU[language]

    profile = await UserService(app.services.sessionmaker).get(user.user_id)
    assert (profile.language, profile.phone) == (language, "+998901112233")


async def test_language_suggestion_follows_telegram(app, telegram):
    user = telegram.user(510, language_code="ru")
    await user.send("/start")
    choice = await user.wait_message("Выберите язык")
    assert labels(choice)[0] == "🇷🇺 Русский ✓"


async def test_someone_elses_contact_is_refused(app, telegram):
    user = telegram.user(520)
    await user.send("/start")
    await user.press("🇬🇧 English ✓")
    await user.wait_message(PHONE_PROMPT["en"])

    await user.share_contact("+998907654321", user_id=999)
    await user.wait_message("someone else's contact")
    assert user.reply_keyboard == [[SHARE["en"]]]
    assert (await UserService(app.services.sessionmaker).get(520)).phone is None

    await user.share_contact("+998907654321", user_id=None)
    await user.wait_message("someone else's contact")

    await user.tap(SHARE["en"])
    await user.wait_message(ALL_SET["en"])


async def test_returning_user_goes_straight_to_the_menu(app, telegram):
    user = telegram.user(530)
    await onboard(user)
    await user.send("/start")
    await user.wait_message("Welcome back")
    assert user.reply_keyboard == MENU["en"]


async def test_cancel_from_a_step(app, telegram):
    user = telegram.user(540)
    await onboard(user)
    await user.tap("🌐 Language")
    await user.wait_message("Choose your language")
    await user.send("/cancel")
    await user.wait_message("Cancelled")
    assert user.reply_keyboard == MENU["en"]
    await user.send_sticker()
    await user.wait_message("use the menu buttons")


async def test_cancel_before_registration_returns_to_the_first_step(app, telegram):
    user = telegram.user(541)
    await user.send("/start")
    await user.press("🇬🇧 English ✓")
    await user.wait_message(PHONE_PROMPT["en"])
    await user.send("/cancel")
    await user.wait_message("Choose your language")


async def test_restart_in_the_middle_of_onboarding_resumes_the_step(app, telegram):
    user = telegram.user(550)
    await user.send("/start")
    await user.press("🇬🇧 English ✓")
    await user.wait_message(PHONE_PROMPT["en"])

    await app.restart()

    await user.send("what now?")
    await user.wait_message("tap the button below")
    await user.tap(SHARE["en"])
    await user.wait_message(ALL_SET["en"])


UNEXPECTED = [
    ("text", lambda user: user.send("hello there")),
    ("sticker", lambda user: user.send_sticker()),
    ("photo", lambda user: user.send_photo()),
    ("long text", lambda user: user.send("x" * 5000)),
    ("unknown command", lambda user: user.send("/frobnicate")),
]


@pytest.mark.parametrize("kind, act", UNEXPECTED, ids=[kind for kind, _ in UNEXPECTED])
async def test_unexpected_input_keeps_each_step(app, telegram, kind, act):
    user = telegram.user(560)
    await user.send("/start")
    await user.wait_message("Choose your language")

    await act(user)
    hint = await user.wait_message("choose a language with the buttons")
    await user.press("🇬🇧 English ✓", message=hint)
    await user.wait_message(PHONE_PROMPT["en"])

    await act(user)
    await user.wait_message("tap the button below")
    await user.tap(SHARE["en"])
    await user.wait_message(ALL_SET["en"])

    await act(user)
    expected = {"unknown command": "Unknown command", "text": "Nothing found for", "long text": "Type 2 to 100 letters"}
    await user.wait_message(expected.get(kind, "use the menu buttons"))
    assert user.reply_keyboard == MENU["en"]


async def test_forged_or_stale_button_is_answered(app, telegram):
    user = telegram.user(570)
    await onboard(user)
    await user.press_data("nonsense:1", message=user.last)
    await user.wait_for(lambda: "This button is no longer active." in user.alerts)


async def test_menu_answers_in_the_users_language(app, telegram):
    user = telegram.user(580, language_code="ru")
    await onboard(user, "ru")
    await user.tap("🏠 Мои дома")
    await user.wait_message("Сохранённых счетов пока нет")
    await user.tap("🧾 История")
    await user.wait_message("Вы ещё ничего не оплачивали")
    await user.tap("❓ Помощь")
    await user.wait_message("/cancel")


async def test_burst_is_handled_one_update_at_a_time(app, telegram):
    """The contact and the texts right behind it: each text must see the step the contact finished."""
    user = telegram.user(590)
    await user.send("/start")
    await user.press("🇬🇧 English ✓")
    await user.wait_message(PHONE_PROMPT["en"])

    await user.tap(SHARE["en"])
    for index in range(6):
        await user.send(f"burst {index}")
    await user.wait_for(lambda: sum("Nothing found for “burst" in m.text for m in user.bot_messages) == 6)
    assert not any("tap the button below" in m.text for m in user.bot_messages)


async def test_commands_are_registered_in_three_languages(app, telegram):
    for language in ("uz", "ru", "en", None):
        commands = {c["command"] for c in telegram.commands(language)}
        assert commands == {"start", "cancel", "language", "help"}
    assert telegram.commands("ru")[0]["description"] == "Главное меню"
    assert telegram.commands("uz")[0]["description"] == "Asosiy menyu"
