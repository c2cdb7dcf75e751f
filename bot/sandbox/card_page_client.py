"""The card page's script, done over plain HTTP: what the Mini App does in a browser, step by step.

For the end-to-end tests and the terminal demo: it loads the page the bot's button opens, reads the page's own
configuration (Payme's address, the merchant id, the page's one-time binding session), binds the card at Payme with
the merchant-id-only X-Auth, and hands the verified token to the bot with Telegram-signed initData. The steps are
also offered one by one (open_page, bind_at_payme, post_token), so a test can post a token twice, post another
user's token, or post from another user's page. The real page is driven in Chromium by tests/browser; this one
shares its protocol, not its code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

CONFIG = re.compile(r'<script id="config" type="application/json">(.*?)</script>', re.S)


@dataclass
class PageResult:
    status: int
    body: dict  # {} when the answer was not JSON
    content_type: str = ""


@dataclass
class CardPage:
    """The page as loaded: its address, its configuration and the headers it came with."""

    url: str
    config: dict
    headers: httpx.Headers

    @property
    def token_url(self) -> str:
        return urljoin(self.url, self.config["tokenUrl"])


async def open_page(page_url: str) -> CardPage:
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(page_url)
        page.raise_for_status()
    config = json.loads(CONFIG.search(page.text).group(1).replace("<\\/", "</"))
    return CardPage(page_url, config, page.headers)


async def bind_at_payme(page: CardPage, *, number: str, expire_mmyy: str, code: str = "666666") -> str:
    """cards.create, cards.get_verify_code and cards.verify, as the page's script calls them; the verified token."""
    config = page.config
    headers = {"X-Auth": config["merchantId"], "Accept-Language": config["lang"]}
    async with httpx.AsyncClient(timeout=30) as http:

        async def payme(method: str, params: dict) -> dict:
            answer = (await http.post(config["paymeUrl"], headers=headers,
                                      json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})).json()
            if "error" in answer:
                raise PaymeError(answer["error"])
            return answer["result"]

        token = (await payme("cards.create", {"card": {"number": number, "expire": expire_mmyy},
                                               "save": True}))["card"]["token"]
        await payme("cards.get_verify_code", {"token": token})
        return (await payme("cards.verify", {"token": token, "code": code}))["card"]["token"]


async def post_token(page: CardPage, init_data: str, token: str) -> PageResult:
    """What the page posts to the bot once Payme verified the card."""
    body = {"initData": init_data, "token": token}
    if page.config.get("session"):
        body["session"] = page.config["session"]
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(page.token_url, json=body)
    try:
        parsed = answer.json()
    except ValueError:
        parsed = {}
    return PageResult(answer.status_code, parsed if isinstance(parsed, dict) else {},
                      answer.headers.get("content-type", ""))


async def bind_card(page_url: str, init_data: str, *, number: str, expire_mmyy: str, code: str = "666666",
                    token_override: str | None = None) -> PageResult:
    """Loads the page, binds the card at Payme, posts the token; returns what the bot's endpoint answered."""
    page = await open_page(page_url)
    token = await bind_at_payme(page, number=number, expire_mmyy=expire_mmyy, code=code)
    return await post_token(page, init_data, token_override or token)


class PaymeError(Exception):
    def __init__(self, error: dict) -> None:
        super().__init__(str(error.get("code")))
        self.code = error.get("code")
        self.message = error.get("message")
