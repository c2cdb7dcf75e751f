"""The card page's script, done over plain HTTP: what the Mini App does in a browser, step by step.

For the end-to-end tests and the terminal demo: it loads the page the bot's button opens, reads the page's own
configuration (Payme's address, the merchant id), binds the card at Payme with the merchant-id-only X-Auth, and
hands the verified token to the bot with Telegram-signed initData. The real page is driven in Chromium by
tests/browser; this one shares its protocol, not its code.
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
    body: dict


async def bind_card(page_url: str, init_data: str, *, number: str, expire_mmyy: str, code: str = "666666",
                    token_override: str | None = None) -> PageResult:
    """Loads the page, binds the card at Payme, posts the token; returns what the bot's endpoint answered."""
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(page_url)
        page.raise_for_status()
        config = json.loads(CONFIG.search(page.text).group(1).replace("<\\/", "</"))
        headers = {"X-Auth": config["merchantId"], "Accept-Language": config["lang"]}

        async def payme(method: str, params: dict) -> dict:
            answer = (await http.post(config["paymeUrl"], headers=headers,
                                      json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})).json()
            if "error" in answer:
                raise PaymeError(answer["error"])
            return answer["result"]

        token = (await payme("cards.create", {"card": {"number": number, "expire": expire_mmyy},
                                               "save": True}))["card"]["token"]
        await payme("cards.get_verify_code", {"token": token})
        token = (await payme("cards.verify", {"token": token, "code": code}))["card"]["token"]
        answer = await http.post(urljoin(page_url, config["tokenUrl"]),
                                 json={"initData": init_data, "token": token_override or token})
        return PageResult(answer.status_code, answer.json())


class PaymeError(Exception):
    def __init__(self, error: dict) -> None:
        super().__init__(str(error.get("code")))
        self.code = error.get("code")
        self.message = error.get("message")
