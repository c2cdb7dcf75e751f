"""The card page's token endpoint, attacked and retried (issue 14, item 4): a token is saved only through a live
one-time session the chat opened for the same Telegram user whose signed initData comes with it; a token saved for
one user is never saved for another and never removed at Payme on someone else's behalf; a repeat of the same
session and token gets the first answer and the card stays; every answer is JSON in the user's language, also when
the chat could not be told. Through the Telegram double, the Payme emulator and the page's protocol over HTTP; on
SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from bot.sandbox import scenarios
from bot.sandbox.card_page_client import bind_at_payme, open_page, post_token
from bot.sandbox.scenarios import registered
from bot.storage.models import Card
from tests.conftest import BOT_TOKEN

SEED_CARD = "8600069195406311"
OTHER_CARD = "8600495473316478"


def signed(telegram, user) -> str:
    return telegram.web_app_init_data(user.user_id, BOT_TOKEN)


async def cards_of(app, user_id: int) -> list[Card]:
    async with app.services.sessionmaker() as session:
        return list(await session.scalars(select(Card).where(Card.user_id == user_id).order_by(Card.id)))


async def still_verified_at_payme(app, token: str) -> bool:
    return (await app.services.payme.cards_check(token)).verify


def notices(user) -> list:
    return [m for m in user.bot_messages if "is added" in m.text]


async def test_a_token_verified_by_one_user_is_refused_for_another_and_stays_with_its_owner(
        payme_app, telegram, payme):
    alice = await registered(telegram, 961)
    bob = await registered(telegram, 962, language="ru")
    alice_page = await open_page(await scenarios.open_card_page(alice))
    token = await bind_at_payme(alice_page, number=SEED_CARD, expire_mmyy="0399")
    assert (await post_token(alice_page, signed(telegram, alice), token)).status == 200
    await alice.wait_message("is added")

    # Bob learnt Alice's token and posts it from his own page, with his own signed initData.
    bob_page = await open_page(await scenarios.open_card_page_in_any_language(bob))
    answer = await post_token(bob_page, signed(telegram, bob), token)

    assert answer.status == 409 and answer.content_type.startswith("application/json")
    assert answer.body["ok"] is False and answer.body["error"] == "token_taken"
    assert answer.body["message"] == ("Эта карта уже добавлена в другом аккаунте Telegram, "
                                      "поэтому её нельзя добавить здесь.")
    assert await cards_of(payme_app, bob.user_id) == []
    [card] = await cards_of(payme_app, alice.user_id)
    assert card.active and card.provider_card_id == token
    assert payme.calls("cards.remove") == [] and await still_verified_at_payme(payme_app, token)
    assert not any("добавлена" in m.text for m in bob.bot_messages)  # nor is Bob told of a card


async def test_one_token_posted_by_two_users_at_once_is_saved_for_one_of_them(payme_app, telegram, payme):
    alice = await registered(telegram, 975)
    bob = await registered(telegram, 976)
    alice_page = await open_page(await scenarios.open_card_page(alice))
    bob_page = await open_page(await scenarios.open_card_page(bob))
    token = await bind_at_payme(alice_page, number=SEED_CARD, expire_mmyy="0399")

    answers = await asyncio.gather(post_token(alice_page, signed(telegram, alice), token),
                                   post_token(bob_page, signed(telegram, bob), token))
    assert sorted((a.status, a.body.get("error")) for a in answers) == [(200, None), (409, "token_taken")]
    saved = await cards_of(payme_app, alice.user_id) + await cards_of(payme_app, bob.user_id)
    assert [c.provider_card_id for c in saved] == [token]
    assert payme.calls("cards.remove") == [] and await still_verified_at_payme(payme_app, token)


async def test_a_page_opened_for_one_user_refuses_another_user_s_initdata_and_stays_usable(
        payme_app, telegram, payme):
    alice = await registered(telegram, 963)
    bob = await registered(telegram, 964)
    alice_page = await open_page(await scenarios.open_card_page(alice))
    # Bob got hold of Alice's page address and binds his own card through it.
    bobs_token = await bind_at_payme(alice_page, number=OTHER_CARD, expire_mmyy="0399")
    answer = await post_token(alice_page, signed(telegram, bob), bobs_token)
    assert answer.status == 403 and answer.body["error"] == "page_unknown"
    assert answer.body["message"] == "Please open this page with the “Add a card” button in the bot."
    assert await cards_of(payme_app, bob.user_id) == [] and await cards_of(payme_app, alice.user_id) == []

    # The intruder did not use Alice's session up: her own card still goes through it.
    token = await bind_at_payme(alice_page, number=SEED_CARD, expire_mmyy="0399")
    assert (await post_token(alice_page, signed(telegram, alice), token)).status == 200
    assert [c.masked_number for c in await cards_of(payme_app, alice.user_id)] == ["860006******6311"]


async def test_one_page_binds_one_card_and_a_second_token_is_refused(payme_app, telegram, payme):
    user = await registered(telegram, 965)
    page = await open_page(await scenarios.open_card_page(user))
    first = await bind_at_payme(page, number=SEED_CARD, expire_mmyy="0399")
    assert (await post_token(page, signed(telegram, user), first)).status == 200
    second = await bind_at_payme(page, number=OTHER_CARD, expire_mmyy="0399")

    answer = await post_token(page, signed(telegram, user), second)
    assert answer.status == 409 and answer.body["error"] == "page_used"
    assert answer.body["message"] == ("This page has already added a card. To add another card, "
                                      "tap “Add a card” in the bot again.")
    assert [c.provider_card_id for c in await cards_of(payme_app, user.user_id)] == [first]
    assert payme.calls("cards.remove") == []


async def test_a_repeated_post_gets_the_first_answer_and_the_card_stays(payme_app, telegram, payme):
    user = await registered(telegram, 966)
    page = await open_page(await scenarios.open_card_page(user))
    token = await bind_at_payme(page, number=SEED_CARD, expire_mmyy="0399")
    first = await post_token(page, signed(telegram, user), token)
    await user.wait_message("is added")
    # The page lost the answer and posts the same token again.
    again = await post_token(page, signed(telegram, user), token)

    assert first.status == again.status == 200
    assert first.body == again.body == {
        "ok": True, "card": {"masked": "860006******6311", "name": "UZCARD •6311"},
        "message": "The card UZCARD •6311 is added. You can return to the chat.",
    }
    [card] = await cards_of(payme_app, user.user_id)
    assert card.active and card.provider_card_id == token
    assert payme.calls("cards.remove") == [] and await still_verified_at_payme(payme_app, token)
    assert len(notices(user)) == 1  # the chat is told once


async def test_a_post_that_arrives_while_the_first_is_in_hand_is_not_saved_twice(payme_app, telegram, payme):
    user = await registered(telegram, 967)
    page = await open_page(await scenarios.open_card_page(user))
    token = await bind_at_payme(page, number=SEED_CARD, expire_mmyy="0399")
    other = await bind_at_payme(page, number=OTHER_CARD, expire_mmyy="0399")
    held = payme.hold_next("cards.check")  # the first post is inside the bot, asking Payme
    first = asyncio.create_task(post_token(page, signed(telegram, user), token))
    await held.reached()

    same = await post_token(page, signed(telegram, user), token)
    assert same.status == 409 and same.body["error"] == "in_progress"
    assert same.body["message"] == "The card is still being saved. Please wait a moment and try again."
    different = await post_token(page, signed(telegram, user), other)
    assert different.status == 409 and different.body["error"] == "page_used"

    held.release()
    assert (await first).status == 200
    later = await post_token(page, signed(telegram, user), token)
    assert later.status == 200 and later.body == (await first).body
    assert [c.provider_card_id for c in await cards_of(payme_app, user.user_id)] == [token]
    assert len(payme.calls("cards.check")) == 1 and payme.calls("cards.remove") == []


async def test_many_posts_at_once_save_the_card_once(payme_app, telegram, payme):
    user = await registered(telegram, 968)
    page = await open_page(await scenarios.open_card_page(user))
    token = await bind_at_payme(page, number=SEED_CARD, expire_mmyy="0399")
    answers = await asyncio.gather(*(post_token(page, signed(telegram, user), token) for _ in range(8)))

    saved = [a for a in answers if a.status == 200]
    assert saved and all(a.body == saved[0].body for a in saved)
    assert all(a.status == 200 or a.body["error"] == "in_progress" for a in answers)
    assert len(payme.calls("cards.check")) == 1  # one post won the session; the others never reached Payme
    assert [c.provider_card_id for c in await cards_of(payme_app, user.user_id)] == [token]
    assert payme.calls("cards.remove") == []
    await user.wait_message("is added")


async def test_a_page_without_a_session_is_refused_in_json(payme_app, telegram, payme):
    user = await registered(telegram, 969, language="uz")
    url = await scenarios.open_card_page_in_any_language(user)
    page = await open_page(url)
    token = await bind_at_payme(page, number=SEED_CARD, expire_mmyy="0399")
    page.config["session"] = None  # an old address, from before binding sessions, or one typed by hand
    answer = await post_token(page, signed(telegram, user), token)
    assert answer.status == 403 and answer.body["error"] == "page_unknown"
    assert answer.body["message"] == "Iltimos, bu sahifani botdagi “Karta qo‘shish” tugmasi orqali oching."
    assert await cards_of(payme_app, user.user_id) == []


async def test_when_the_chat_cannot_be_told_the_page_still_gets_json_and_the_card_is_kept(
        payme_app, telegram, payme, caplog):
    user = await registered(telegram, 970, language="ru")
    page = await open_page(await scenarios.open_card_page_in_any_language(user))
    token = await bind_at_payme(page, number=SEED_CARD, expire_mmyy="0399")
    telegram.fail_next("sendMessage", "500")  # Telegram refuses the notice (with the card list)
    caplog.set_level(logging.INFO)

    answer = await post_token(page, signed(telegram, user), token)
    assert answer.status == 200 and answer.content_type.startswith("application/json")
    assert answer.body["ok"] is True and answer.body["card"]["masked"] == "860006******6311"
    assert answer.body["message"] == "Карта UZCARD •6311 добавлена. Можно вернуться в чат."
    [card] = await cards_of(payme_app, user.user_id)
    assert card.active and payme.calls("cards.remove") == []
    assert telegram.calls_of("sendMessage")[-1].fault == "500" and not telegram.pending_faults("sendMessage")
    told = [r for r in caplog.records if "could not be told" in r.getMessage()]
    assert told and told[0].levelno == logging.WARNING
    assert not any(token in r.getMessage() or token in (r.exc_text or "") for r in caplog.records)

    # A retry of the page gets the same answer, and "duplicate" is never said.
    again = await post_token(page, signed(telegram, user), token)
    assert again.status == 200 and again.body == answer.body


async def test_a_payment_waiting_for_the_card_resumes_when_the_notice_fails(payme_app, telegram, payme):
    user = await registered(telegram, 971)
    await scenarios.hot_water_to_cards(user)
    await user.wait_message("no saved cards yet")
    await user.press("➕ Add a card")
    message = await user.wait_message("Payme's secure page")
    page = await open_page(message.button("💳 Open the card page").web_app)
    token = await bind_at_payme(page, number=SEED_CARD, expire_mmyy="0399")
    telegram.fail_next("sendMessage", "502")  # the "card added" notice is refused

    answer = await post_token(page, signed(telegram, user), token)
    assert answer.status == 200 and answer.body["ok"] is True
    await user.wait_message("Choose the card to pay 7,000 sum")  # the payment goes on all the same
