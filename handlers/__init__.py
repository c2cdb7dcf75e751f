"""Routers in match order: commands and /cancel first (they win in any state), features, the fallback last."""

from __future__ import annotations

from aiogram import Router

from bot.middlewares.menu_buttons import MenuButtonsFirst

from handlers import (
    card_guard,
    cards,
    cashback,
    checkout,
    commands,
    errors,
    fallback,
    history,
    homes,
    menu,
    pay,
    pictures,
    refunds,
    start,
)


def build_routers() -> list[Router]:
    """Fresh routers per Dispatcher: a router can belong to one parent only, and tests build many. On each, a menu
    button's text goes to the menu, never to the step in progress (MenuButtonsFirst)."""
    routers = [
        errors.create_router(),
        commands.create_router(),
        card_guard.create_router(),  # a card number anywhere else is deleted before a step can echo it
        start.create_router(),
        menu.create_router(),
        cards.create_router(),
        cashback.create_router(),
        refunds.create_router(),
        history.create_router(),
        pictures.create_router(),  # receipt pictures, History's chart
        homes.create_router(),
        checkout.create_router(),
        pay.create_router(),  # its search takes any other text typed in the menu, so it comes after the features
        fallback.create_router(),
    ]
    for router in routers:
        router.message.outer_middleware(MenuButtonsFirst())
    return routers
