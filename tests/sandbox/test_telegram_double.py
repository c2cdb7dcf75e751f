"""The Telegram double, driven by a real aiogram Bot and Dispatcher over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router, html
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command
from aiogram.types import (
    BotCommand,
    BotCommandScopeDefault,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.sandbox.telegram import ButtonNotFound, TelegramDouble
from bot.sandbox.terminal import run_terminal

TOKEN = "4242:double-test-token"


def counter_keyboard(count: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="➕ Add", callback_data=f"n:{count}")
    builder.button(text="Same", callback_data="same")
    builder.button(text="Docs", url="https://core.telegram.org/bots/api")
    return builder.adjust(2).as_markup()


def build_dispatcher() -> Dispatcher:
    router = Router(name="double-test")

    @router.message(Command("start"))
    async def start(message: Message) -> None:
        keyboard = ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="📱 Share", request_contact=True), KeyboardButton(text="Help")]],
            resize_keyboard=True,
        )
        await message.answer("Hi <b>there</b>! Share your phone.", reply_markup=keyboard)

    @router.message(Command("secret"))
    async def secret(message: Message) -> None:
        await message.delete()
        await message.answer("I deleted your message")

    @router.message(F.contact)
    async def contact(message: Message) -> None:
        whose = "yours" if message.contact.user_id == message.from_user.id else "not yours"
        await message.answer(f"Phone {message.contact.phone_number} is {whose}", reply_markup=ReplyKeyboardRemove())

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"You said: {html.quote(message.text[:100])}", reply_markup=counter_keyboard(0))

    @router.message()
    async def other(message: Message) -> None:
        await message.answer("Send text, please")

    @router.callback_query(F.data.startswith("n:"))
    async def count(callback: CallbackQuery) -> None:
        value = int(callback.data.split(":")[1]) + 1
        await callback.message.edit_text(f"Count: <b>{value}</b>", reply_markup=counter_keyboard(value))
        await callback.answer(f"now {value}")

    @router.callback_query(F.data == "same")
    async def same(callback: CallbackQuery) -> None:
        try:
            await callback.message.edit_reply_markup(reply_markup=callback.message.reply_markup)
        except TelegramBadRequest as exc:
            await callback.answer(exc.message, show_alert=True)

    async def set_commands(bot: Bot) -> None:
        await bot.set_my_commands([BotCommand(command="start", description="Start")])
        await bot.set_my_commands([BotCommand(command="start", description="Начать")], language_code="ru")

    dp = Dispatcher()
    dp.include_router(router)
    dp.startup.register(set_commands)
    return dp


def make_bot(telegram: TelegramDouble, token: str = TOKEN) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(telegram.base_url))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


@asynccontextmanager
async def running_bot(telegram: TelegramDouble) -> AsyncIterator[Bot]:
    bot, dp = make_bot(telegram), build_dispatcher()
    started = asyncio.Event()
    dp.startup.register(started.set)
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=2))
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({waiter, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        await task
    try:
        yield bot
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(task, 10)
        await bot.session.close()


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramDouble]:
    double = TelegramDouble()
    await double.start()
    yield double
    await double.stop()


@pytest.fixture
async def bot(telegram: TelegramDouble) -> AsyncIterator[Bot]:
    async with running_bot(telegram) as running:
        yield running


async def raw_post(telegram: TelegramDouble, method: str, **kwargs) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{telegram.base_url}/bot{TOKEN}/{method}", **kwargs) as response:
            return response.status, await response.json()


# ---- conversation ------------------------------------------------------------------------------------------

async def test_echo_with_inline_keyboard_over_long_polling(telegram, bot):
    user = telegram.user(101)
    sent = await user.send("hello <world> & co")
    reply = await user.wait_message("You said")
    assert reply.text == "You said: hello <world> & co"
    assert reply.html == "You said: hello &lt;world&gt; &amp; co"
    assert [[b.text for b in row] for row in reply.buttons] == [["➕ Add", "Same"], ["Docs"]]
    assert reply.buttons[1][0].url == "https://core.telegram.org/bots/api"
    assert [m.from_bot for m in user.messages] == [False, True]
    assert (sent.message_id, reply.message_id) == (1, 2)

    polls = telegram.calls_of("getupdates")
    assert polls and all(call.params.get("timeout") == 2 for call in polls)
    assert any(call.params.get("allowed_updates") for call in polls)
    [call] = telegram.calls_of("sendMessage")
    assert call.params["chat_id"] == 101 and isinstance(call.params["reply_markup"], dict)
    assert call.response["result"]["from"] == {"id": 42, "is_bot": True, "first_name": "Pay Bot",
                                               "username": "sandbox_pay_bot"}
    assert "reply_markup" in call.response["result"]
    assert call.token == TOKEN


async def test_command_carries_bot_command_entity(telegram, bot):
    user = telegram.user(102)
    sent = await user.send("/start")
    assert sent.entities == [{"type": "bot_command", "offset": 0, "length": 6}]
    message = await user.wait_message("Share your phone")
    assert message.text == "Hi there! Share your phone."
    assert message.entities == [{"type": "bold", "offset": 3, "length": 5}]
    assert "reply_markup" not in telegram.calls_of("sendMessage")[0].response["result"]  # reply keyboards aren't echoed
    assert user.reply_keyboard == [["📱 Share", "Help"]]


async def test_press_edits_in_place_and_answers(telegram, bot):
    user = telegram.user(103)
    await user.send("hi")
    first = await user.wait_message("You said")
    await user.press("➕ Add")
    edited = await user.wait_message("Count: 1")
    assert edited is first and edited.edited and edited.html == "Count: <b>1</b>"
    await user.wait_for(lambda: user.alerts == ["now 1"])

    await user.press("➕ Add")
    await user.wait_message("Count: 2")
    assert [m.text for m in user.bot_messages] == ["Count: 2"]

    [update] = [u for call in telegram.calls_of("getUpdates") for u in call.response["result"]
                if "callback_query" in u][:1]
    query = update["callback_query"]
    assert query["data"] == "n:0" and query["chat_instance"] and query["message"]["message_id"] == first.message_id
    assert query["from"]["id"] == 103


async def test_edit_to_the_same_markup_is_not_modified(telegram, bot):
    user = telegram.user(104)
    await user.send("hi")
    await user.wait_message("You said")
    await user.press("Same")
    await user.wait_for(lambda: any("message is not modified" in alert for alert in user.alerts))
    [failed] = [c for c in telegram.calls_of("editMessageReplyMarkup") if not c.ok]
    assert failed.status == 400 and failed.description.startswith("Bad Request: message is not modified")


async def test_press_missing_or_url_button(telegram, bot):
    user = telegram.user(105)
    await user.send("hi")
    await user.wait_message()
    with pytest.raises(ButtonNotFound) as caught:
        await user.press("Remove", timeout=0.1)
    assert caught.value.available == ["➕ Add", "Same", "Docs"]
    with pytest.raises(ValueError, match="sends nothing"):
        await user.press("Docs")


async def test_tap_shares_contact_and_keyboard_is_removed(telegram, bot):
    user = telegram.user(106, phone="+998901112233")
    await user.send("/start")
    await user.wait_message("Share your phone")
    with pytest.raises(ButtonNotFound) as caught:
        await user.tap("Pay", timeout=0.1)
    assert caught.value.available == ["📱 Share", "Help"]

    contact = await user.tap("📱 Share")
    assert contact.contact == {"phone_number": "+998901112233", "first_name": "Aziz", "user_id": 106}
    await user.wait_message("Phone +998901112233 is yours")
    assert user.reply_keyboard is None

    await user.share_contact("+998907654321", user_id=None)
    await user.wait_message("is not yours")
    await user.share_contact("+998907654321", user_id=999)
    await user.wait_message("is not yours")


async def test_tap_on_a_text_button_sends_its_label(telegram, bot):
    user = telegram.user(107)
    await user.send("/start")
    await user.wait_message("Share your phone")
    sent = await user.tap("Help")
    assert sent.text == "Help"
    await user.wait_message("You said: Help")


async def test_stickers_photos_and_long_text(telegram, bot):
    user = telegram.user(108)
    await user.send_sticker()
    await user.wait_message("Send text, please")
    await user.send_photo()
    await user.wait_message("Send text, please")
    await user.send("x" * 5000)  # Telegram's apps split it, as here
    await user.wait_for(lambda: len(user.bot_messages) == 4)
    assert [len(m.text) for m in user.messages if not m.from_bot][2:] == [4096, 904]


async def test_bot_deletes_the_users_message(telegram, bot):
    user = telegram.user(109)
    secret = await user.send("/secret")
    await user.wait_message("I deleted your message")
    assert secret.deleted and not user.last.deleted
    [call] = telegram.calls_of("deleteMessage")
    assert call.params == {"chat_id": 109, "message_id": secret.message_id} and call.ok
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(109, secret.message_id)
    assert "(deleted)" in user.transcript()


async def test_commands_are_stored_per_scope_and_language(telegram, bot):
    assert telegram.commands() == [{"command": "start", "description": "Start"}]
    assert telegram.commands("ru") == [{"command": "start", "description": "Начать"}]
    assert telegram.commands("uz") == []
    assert [c.description for c in await bot.get_my_commands(language_code="ru")] == ["Начать"]
    await bot.delete_my_commands(scope=BotCommandScopeDefault(), language_code="ru")
    assert telegram.commands("ru") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start", description="capital letters are refused")])


async def test_users_act_concurrently(telegram, bot):
    users = [telegram.user(200 + n, first_name=f"U{n}") for n in range(5)]
    await asyncio.gather(*(u.send(f"from {u.user_id}") for u in users))
    replies = await asyncio.gather(*(u.wait_message("You said") for u in users))
    assert [r.text for r in replies] == [f"You said: from {u.user_id}" for u in users]


async def test_restarted_bot_sees_the_same_chats(telegram):
    user = telegram.user(110)
    async with running_bot(telegram):
        await user.send("one")
        await user.wait_message("You said: one")
    await user.send("two")  # sent while the bot is down: waits in the queue
    assert [u["message"]["text"] for u in telegram.updates] == ["two"]
    async with running_bot(telegram):
        reply = await user.wait_message("You said: two")
    assert reply.message_id == 4
    assert telegram.updates == []


async def test_wait_message_timeout_shows_the_chat(telegram):
    user = telegram.user(111)
    await user.send("nobody is listening")
    with pytest.raises(TimeoutError) as caught:
        await user.wait_message("anything", timeout=0.2)
    assert "nobody is listening" in str(caught.value) and "'anything'" in str(caught.value)


# ---- getUpdates -----------------------------------------------------------------------------------------------

async def test_get_updates_long_polls_and_offset_confirms(telegram):
    bot = make_bot(telegram)
    try:
        user = telegram.user(120)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await bot.get_updates(timeout=1) == []
        assert loop.time() - started >= 0.9  # it waited for an update that never came

        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await user.send("wake up")
        [update] = await asyncio.wait_for(poll, 5)  # answered at once, not after 30 s
        assert update.message.text == "wake up"

        assert len(await bot.get_updates()) == 1  # not confirmed yet
        assert await bot.get_updates(offset=update.update_id + 1) == []
        await user.send("a")
        await user.send("b")
        await user.send("c")
        assert [u.message.text for u in await bot.get_updates(limit=2)] == ["a", "b"]
        assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["c"]
        await bot.get_updates(allowed_updates=["callback_query"])
        await user.send("filtered out")
        assert [u.message.text for u in await bot.get_updates()] == ["c"]
        assert telegram.dropped_updates[-1]["message"]["text"] == "filtered out"
    finally:
        await bot.session.close()


async def test_a_newer_get_updates_ends_the_older_with_409(telegram):
    async with aiohttp.ClientSession() as session:
        url = f"{telegram.base_url}/bot{TOKEN}/getUpdates"
        older = asyncio.create_task(session.get(url, params={"timeout": "30"}))
        await telegram.wait_for(lambda: telegram.polls_started == 1)
        async with session.get(url, params={"timeout": "0"}) as newer:
            assert newer.status == 200
        response = await asyncio.wait_for(older, 5)
        assert response.status == 409
        assert (await response.json())["description"].startswith("Conflict: terminated by other getUpdates")


# ---- validation as aiogram sees it --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, error",
    [
        ("<b>bold", "can't parse entities: Can't find end tag corresponding to start tag \"b\""),
        ("1 < 2", "can't parse entities: Unsupported start tag \"\" at byte offset 2"),
        ("line<br>break", "can't parse entities: Unsupported start tag \"br\" at byte offset 4"),
        ("<b>x</i>", "can't parse entities: Unmatched end tag"),
        ("Tom & Jerry", "can't parse entities: Unescaped \"&\""),
        ("", "message text is empty"),
        ("  \n ", "message text is empty"),
        ("x" * 4097, "message is too long"),
    ],
)
async def test_send_message_validation(telegram, bot, text, error):
    await telegram.user(130).send("hi")
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_message(130, text)
    assert caught.value.message.startswith(f"Bad Request: {error}")


async def test_valid_html_and_the_limit_after_parsing(telegram, bot):
    await telegram.user(131).send("hi")
    sent = await bot.send_message(131, "<b>" + "x" * 4096 + "</b>")
    assert len(sent.text) == 4096
    sent = await bot.send_message(131, "a &lt; b &amp;&amp; <i>c</i> &#8364; <a href=\"https://e.com/?a=1&b=2\">l</a>")
    assert sent.text == "a < b && c € l"
    assert sent.entities[1].url == "https://e.com/?a=1&b=2"
    plain = await bot.send_message(131, "Tom & <Jerry>", parse_mode=None)
    assert plain.text == "Tom & <Jerry>"


async def test_button_and_chat_errors(telegram, bot):
    user = telegram.user(132)
    await user.send("hi")
    await user.wait_message()
    too_long = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 65)]])
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(132, "data", reply_markup=too_long)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999_999, "nobody")
    telegram.user(133)
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation"):
        await bot.send_message(133, "never wrote to the bot")
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("new", chat_id=132, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("new", chat_id=132, message_id=1)
    shown = user.last
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(shown.html, chat_id=132, message_id=shown.message_id,
                                    reply_markup=counter_keyboard(0))
    edited = await bot.edit_message_text("new text", chat_id=132, message_id=shown.message_id)
    assert edited.reply_markup is None and user.last.buttons == []  # no reply_markup: the keyboard goes
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(132, 999)
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("12345")


async def test_chat_action_and_reply_parameters(telegram, bot):
    user = telegram.user(134)
    asked = await user.send("hi")
    await user.wait_message()
    await bot.send_chat_action(134, "typing")
    assert user.chat_actions == ["typing"]
    reply = await bot.send_message(134, "re", reply_parameters={"message_id": asked.message_id})
    assert reply.reply_to_message.text == "hi"
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(134, "re", reply_parameters={"message_id": 999})


# ---- HTTP surface -------------------------------------------------------------------------------------------

async def test_unknown_method_unemulated_method_and_case(telegram):
    user = telegram.user(140)
    await user.send("hi")
    assert await raw_post(telegram, "frobnicate") == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    status, body = await raw_post(telegram, "sendVideo", json={"chat_id": 140, "video": "x"})
    assert status == 501 and "does not emulate sendVideo" in body["description"]
    status, body = await raw_post(telegram, "SENDMESSAGE", json={"chat_id": 140, "text": "case"})
    assert status == 200 and body["result"]["text"] == "case"
    assert telegram.calls_of("sendMessage")[-1].method == "sendMessage"


async def test_json_urlencoded_multipart_and_get_bodies(telegram):
    user = telegram.user(141)
    await user.send("hi")
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}

    status, body = await raw_post(telegram, "sendMessage", json={"chat_id": "141", "text": "json",
                                                                 "reply_markup": markup})
    assert status == 200 and body["result"]["reply_markup"] == markup
    status, body = await raw_post(telegram, "sendMessage", data={"chat_id": "141", "text": "form",
                                                                 "reply_markup": json.dumps(markup)})
    assert status == 200 and user.last.buttons[0][0].callback_data == "a"
    form = aiohttp.FormData()
    form.add_field("chat_id", "141")
    form.add_field("text", "multi <b>part</b>")
    form.add_field("parse_mode", "HTML")
    form.add_field("reply_markup", json.dumps({"keyboard": [[{"text": "K"}]]}))
    status, body = await raw_post(telegram, "sendMessage", data=form)
    assert status == 200 and body["result"]["text"] == "multi part" and user.reply_keyboard == [["K"]]
    assert telegram.calls_of("sendMessage")[-1].params["chat_id"] == 141

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{telegram.base_url}/bot{TOKEN}/getMe") as response:
            me = await response.json()
    assert me["result"]["username"] == "sandbox_pay_bot" and me["result"]["id"] == 42

    status, body = await raw_post(telegram, "sendMessage", data={"chat_id": "141", "text": "x",
                                                                 "reply_markup": "{broken"})
    assert status == 400 and "can't parse reply_markup JSON object" in body["description"]


async def test_restricted_token(telegram):
    strict = TelegramDouble(token=TOKEN, bot_id=7)
    await strict.start()
    wrong, right = make_bot(strict, "1:wrong"), make_bot(strict)
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await wrong.get_me()
        assert (await right.get_me()).id == 7
        assert strict.tokens_seen == {"1:wrong", TOKEN}
    finally:
        await wrong.session.close()
        await right.session.close()
        await strict.stop()


# ---- faults on command ----------------------------------------------------------------------------------------

@pytest.fixture
async def plain_bot(telegram: TelegramDouble) -> AsyncIterator[Bot]:
    """A Bot that is not polling: each call is one request the test makes."""
    bot = make_bot(telegram)
    yield bot
    await bot.session.close()


async def chat(telegram: TelegramDouble, user_id: int):
    user = telegram.user(user_id)
    await user.send("hi")  # Telegram lets a bot write only to users who wrote first
    return user


async def test_429_answers_like_flood_control_and_sends_nothing(telegram, plain_bot):
    user = await chat(telegram, 160)
    telegram.fail_next("sendMessage", "429", retry_after=7)
    status, body = await raw_post(telegram, "sendMessage", json={"chat_id": 160, "text": "flood"})
    assert (status, body) == (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
                                    "parameters": {"retry_after": 7}})
    assert user.bot_messages == []  # the effect did not happen

    telegram.fail_next("sendMessage", "429", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as caught:
        await plain_bot.send_message(160, "through aiogram")
    assert caught.value.retry_after == 3
    assert user.bot_messages == []

    await plain_bot.send_message(160, "after the wait")  # one fault, one call
    assert [m.text for m in user.bot_messages] == ["after the wait"]
    assert [(c.status, c.fault, c.ok) for c in telegram.calls_of("sendMessage")] == [
        (429, "429", False), (429, "429", False), (200, None, True)]
    first = telegram.calls_of("sendMessage")[0]
    assert first.response == body and first.params["text"] == "flood" and first.answered


@pytest.mark.parametrize("mode, description", [("500", "Internal Server Error"), ("502", "Bad Gateway"),
                                               ("503", "Service Unavailable")])
async def test_5xx_answers_telegrams_error_shape_and_does_nothing(telegram, plain_bot, mode, description):
    user = await chat(telegram, 161)
    telegram.fail_next("sendMessage", mode)
    status, body = await raw_post(telegram, "sendMessage", json={"chat_id": 161, "text": "lost"})
    assert (status, body) == (int(mode), {"ok": False, "error_code": int(mode), "description": description})
    telegram.fail_next("editMessageText", mode)
    shown = await plain_bot.send_message(161, "original")
    with pytest.raises(TelegramServerError, match=description):
        await plain_bot.edit_message_text("edited", chat_id=161, message_id=shown.message_id)
    assert [(m.text, m.edited) for m in user.bot_messages] == [("original", False)]
    assert [(c.method, c.status, c.fault) for c in telegram.calls if c.method != "getUpdates"] == [
        ("sendMessage", int(mode), mode), ("sendMessage", 200, None), ("editMessageText", int(mode), mode)]


async def test_faults_queue_per_method_in_order(telegram, plain_bot):
    user = await chat(telegram, 162)
    telegram.fail_next("sendMessage", "429", retry_after=2)
    telegram.fail_next("SENDMESSAGE", "502")  # any case names the same method
    hold = telegram.hold_next("sendMessage")
    telegram.fail_next("sendChatAction", "500")
    assert telegram.pending_faults("sendMessage") == ["429", "502", "hold"]

    with pytest.raises(TelegramServerError):
        await plain_bot.send_chat_action(162, "typing")  # its own queue: the sendMessage faults stay
    assert telegram.pending_faults("sendMessage") == ["429", "502", "hold"]
    with pytest.raises(TelegramRetryAfter):
        await plain_bot.send_message(162, "one")
    with pytest.raises(TelegramServerError):
        await plain_bot.send_message(162, "two")
    hold.release()  # released before it is reached: the request goes straight through
    await plain_bot.send_message(162, "three")
    await plain_bot.send_message(162, "four")
    assert telegram.pending_faults("sendMessage") == []
    assert [m.text for m in user.bot_messages] == ["three", "four"]
    assert [(c.params["text"], c.fault) for c in telegram.calls_of("sendMessage")] == [
        ("one", "429"), ("two", "502"), ("three", "hold"), ("four", None)]


@pytest.mark.parametrize("method, mode, kwargs, error", [
    ("sendMessage", "timeout", {}, "unknown fault mode 'timeout'"),
    ("sendMessage", "418", {}, "unknown fault mode '418'"),
    ("sendMessage", "404", {}, "unknown fault mode '404'"),
    ("sendMessage", "5xx", {}, "unknown fault mode '5xx'"),
    ("sendMessage", "hold", {}, "hold_next"),
    ("sendMessage", "refuse", {}, "for deleteMessage"),
    ("sendMessage", "500", {"retry_after": 3}, "retry_after goes with a '429'"),
    ("sendMessage", "429", {"retry_after": -1}, "whole number of seconds"),
    ("sendMessage", "429", {"retry_after": 1.5}, "whole number of seconds"),
    ("sendMesage", "429", {}, "no method 'sendMesage'"),
])
async def test_fail_next_rejects_what_it_cannot_do(telegram, method, mode, kwargs, error):
    with pytest.raises(ValueError, match=error):
        telegram.fail_next(method, mode, **kwargs)
    with pytest.raises(ValueError, match="no method"):
        telegram.hold_next("sendMesage")
    assert telegram.pending_faults("sendMessage") == []


async def test_refused_delete_leaves_the_message(telegram, plain_bot):
    user = await chat(telegram, 163)
    first, second = await plain_bot.send_message(163, "card 8600…"), await plain_bot.send_message(163, "x")
    telegram.fail_next("deleteMessage", "refuse")
    status, body = await raw_post(telegram, "deleteMessage", json={"chat_id": 163, "message_id": first.message_id})
    assert (status, body) == (400, {"ok": False, "error_code": 400,
                                    "description": "Bad Request: message can't be deleted"})
    assert not user.message(first.message_id).deleted
    assert await plain_bot.delete_message(163, first.message_id)  # the fault was for one call
    assert user.message(first.message_id).deleted

    telegram.refuse_deletes = True  # every delete, until switched off
    for _ in range(2):
        with pytest.raises(TelegramBadRequest, match="message can't be deleted"):
            await plain_bot.delete_message(163, second.message_id)
    telegram.fail_next("deleteMessage", "429", retry_after=4)  # a queued fault comes first
    with pytest.raises(TelegramRetryAfter):
        await plain_bot.delete_message(163, second.message_id)
    assert not user.message(second.message_id).deleted
    telegram.refuse_deletes = False
    assert await plain_bot.delete_message(163, second.message_id)
    assert [(c.status, c.fault) for c in telegram.calls_of("deleteMessage")] == [
        (400, "refuse"), (200, None), (400, "refuse"), (400, "refuse"), (429, "429"), (200, None)]


async def test_hold_before_the_effect_parks_until_released(telegram, plain_bot):
    user = await chat(telegram, 164)
    hold = telegram.hold_next("sendMessage")
    sending = asyncio.create_task(plain_bot.send_message(164, "held"))
    await hold.reached()
    assert hold.is_reached and not sending.done()
    assert user.bot_messages == [] and telegram.calls_of("sendMessage") == []  # recorded once answered
    hold.release()
    sent = await asyncio.wait_for(sending, 5)
    assert sent.text == "held" and [m.text for m in user.bot_messages] == ["held"]
    [call] = telegram.calls_of("sendMessage")
    assert (call.status, call.fault, call.ok, call.response["result"]["text"]) == (200, "hold", True, "held")


async def test_hold_before_the_effect_dropped_leaves_no_message(telegram, plain_bot):
    user = await chat(telegram, 165)
    hold = telegram.hold_next("sendMessage", apply=False)
    sending = asyncio.create_task(plain_bot.send_message(165, "never shown"))
    await hold.reached()
    hold.release(proceed=False)
    with pytest.raises(TelegramNetworkError):  # the connection closed without an answer
        await asyncio.wait_for(sending, 5)
    assert user.bot_messages == []
    [call] = telegram.calls_of("sendMessage")
    assert (call.status, call.response, call.ok, call.fault, call.answered) == (0, {}, False, "hold", False)


async def test_hold_after_the_effect_shows_the_message_before_the_answer(telegram, plain_bot):
    user = await chat(telegram, 166)
    hold = telegram.hold_next("sendMessage", apply=True)
    sending = asyncio.create_task(plain_bot.send_message(166, "already in the chat"))
    await hold.reached()
    assert [m.text for m in user.bot_messages] == ["already in the chat"] and not sending.done()
    hold.release(proceed=False)  # Telegram delivered it; the bot never learns
    with pytest.raises(TelegramNetworkError):
        await asyncio.wait_for(sending, 5)
    assert [m.text for m in user.bot_messages] == ["already in the chat"]
    [call] = telegram.calls_of("sendMessage")
    assert (call.status, call.fault, call.answered) == (0, "hold", False)

    hold = telegram.hold_next("sendMessage", apply=True)
    sending = asyncio.create_task(plain_bot.send_message(166, "answered late"))
    await hold.reached()
    hold.release()
    assert (await asyncio.wait_for(sending, 5)).text == "answered late"
    assert telegram.calls_of("sendMessage")[-1].status == 200


async def test_a_held_call_wakes_ledger_waiters(telegram, plain_bot):
    await chat(telegram, 167)
    hold = telegram.hold_next("sendMessage")
    sending = asyncio.create_task(plain_bot.send_message(167, "x"))
    waiting = asyncio.create_task(telegram.wait_for(lambda: len(telegram.calls_of("sendMessage")) == 1))
    await hold.reached()
    assert not waiting.done()
    hold.release()
    await asyncio.wait_for(waiting, 5)  # woken by the ledger, not by an update
    await sending


async def test_stop_drops_held_requests_and_unreached_holds(telegram):
    user = await chat(telegram, 168)
    parked = telegram.hold_next("sendMessage", apply=False)
    queued = telegram.hold_next("sendMessage", apply=True)
    telegram.fail_next("sendMessage", "429")
    sending = asyncio.create_task(raw_post(telegram, "sendMessage", json={"chat_id": 168, "text": "held"}))
    await parked.reached()
    await asyncio.wait_for(telegram.stop(), 10)
    with pytest.raises(aiohttp.ClientError):  # dropped unanswered, not left hanging
        await asyncio.wait_for(sending, 5)
    assert (parked.proceed, queued.proceed) == (False, False)
    assert telegram.pending_faults("sendMessage") == ["429"]  # holds leave the queue; other faults stay
    assert user.bot_messages == []
    [call] = telegram.calls_of("sendMessage")
    assert (call.status, call.fault) == (0, "hold")

    await telegram.start()  # a restarted double: the queued 429 is next, then calls go through
    assert (await raw_post(telegram, "sendMessage", json={"chat_id": 168, "text": "a"}))[0] == 429
    assert (await raw_post(telegram, "sendMessage", json={"chat_id": 168, "text": "b"}))[0] == 200
    assert [m.text for m in user.bot_messages] == ["b"]


async def test_a_429_reaches_a_polling_dispatcher_as_retry_after(telegram, bot):
    user = telegram.user(169)
    telegram.fail_next("sendMessage", "429", retry_after=9)
    await user.send("first")
    await telegram.wait_for(lambda: len(telegram.calls_of("sendMessage")) == 1)
    await user.send("second")
    await user.wait_message("You said: second")
    assert [m.text for m in user.bot_messages] == ["You said: second"]  # the first answer was never sent
    assert [(c.params["text"], c.status, c.fault) for c in telegram.calls_of("sendMessage")] == [
        ("You said: first", 429, "429"), ("You said: second", 200, None)]


# ---- terminal -----------------------------------------------------------------------------------------------

async def script(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def test_terminal_script_runs_to_the_end(telegram, bot):
    user = telegram.user(150)
    out = io.StringIO()
    code = await run_terminal(user, input_lines=script("/start", "tap: Help", "2", "press: ➕ Add", "/contact"),
                              out=out)
    printed = out.getvalue()
    assert code == 0, printed
    assert "🤖 Hi there! Share your phone." in printed
    assert "⌨  [1] 📱 Share   [2] Help" in printed
    assert "🤖 You said: Help" in printed and "[1] ➕ Add   [2] Same" in printed
    assert "🔔 Bad Request: message is not modified" in printed
    assert "✎ Count: 1" in printed
    assert "🤖 Phone +998901234567 is yours" in printed and "⌨  (keyboard removed)" in printed


async def test_terminal_script_stops_at_a_missing_button(telegram, bot):
    user = telegram.user(151)
    out = io.StringIO()
    code = await run_terminal(user, input_lines=script("hello", "press: Pay now", "never reached"), out=out,
                              answer_timeout=0.3)
    assert code == 1
    assert "step 2 (press: Pay now): no button 'Pay now'; buttons now: ➕ Add, Same, Docs" in out.getvalue()
    assert [m.text for m in user.messages if not m.from_bot] == ["hello"]


def test_web_app_init_data_is_signed_per_the_mini_app_spec():
    from aiogram.utils.web_app import safe_parse_webapp_init_data

    from bot.sandbox.telegram import TelegramDouble

    double = TelegramDouble()
    double.user(5151, first_name="Dilnoza", language_code="uz")
    init_data = double.web_app_init_data(5151, "123:secret-token")
    parsed = safe_parse_webapp_init_data("123:secret-token", init_data)
    assert parsed.user.id == 5151 and parsed.user.language_code == "uz"
    with pytest.raises(ValueError):
        safe_parse_webapp_init_data("123:another-token", init_data)
    with pytest.raises(ValueError):
        safe_parse_webapp_init_data("123:secret-token", init_data.replace("5151", "5152"))
