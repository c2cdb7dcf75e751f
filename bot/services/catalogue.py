"""The provider's service catalogue and each service's form, cached for CATALOGUE_TTL seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.forms import Field, fields_from_provider
from bot.domain.synonyms import search
from bot.providers.paylov import PaylovClient


@dataclass(frozen=True)
class Category:
    id: int
    name: str


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    category: Category
    min_amount: int
    max_amount: int
    has_info: bool
    can_cancel: bool
    payable: bool


@dataclass(frozen=True)
class ServiceForm:
    service: Service
    fields: list[Field]
    response_titles: dict[str, tuple[str, str | None]]  # name -> (title, postfix)


class _Cache:
    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self._ttl, self._clock = ttl, clock
        self._values: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, load: Callable[[], Any]) -> Any:
        """One load per key at a time: a burst of users on a cold cache makes one provider call."""
        async with self._locks.setdefault(key, asyncio.Lock()):
            hit = self._values.get(key)
            if hit is not None and self._clock() - hit[0] < self._ttl:
                return hit[1]
            value = await load()
            self._values[key] = (self._clock(), value)
            return value


class CatalogueService:
    def __init__(self, paylov: PaylovClient, *, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._paylov = paylov
        self._cache = _Cache(ttl, clock)

    async def services(self) -> list[Service]:
        """Active services only: an inactive one is never shown."""
        return await self._cache.get("list", self._load_services)

    async def categories(self) -> list[Category]:
        seen: dict[int, Category] = {}
        for service in await self.services():
            seen.setdefault(service.category.id, service.category)
        return list(seen.values())

    async def in_category(self, category_id: int) -> list[Service]:
        return [service for service in await self.services() if service.category.id == category_id]

    async def find(self, query: str) -> list[Service]:
        """By name in either script, then by everyday word ("свет", "tok", "hot water": bot.domain.synonyms)."""
        services = await self.services()
        return [services[index] for index in search(query, [service.name for service in services])]

    async def service(self, service_id: str) -> Service | None:
        return next((service for service in await self.services() if service.id == service_id), None)

    async def form(self, service_id: str) -> ServiceForm:
        return await self._cache.get(f"fields:{service_id}", lambda: self._load_form(service_id))

    async def _load_services(self) -> list[Service]:
        return [_service(item) for item in await self._paylov.list_services() if item.is_active]

    async def _load_form(self, service_id: str) -> ServiceForm:
        data = await self._paylov.service_fields(service_id)
        return ServiceForm(
            service=_service(data),
            fields=fields_from_provider(data.fields),
            response_titles={item.name: (item.title, item.postfix) for item in data.response_fields},
        )


def _service(item) -> Service:
    return Service(
        id=item.service_id,
        name=item.name,
        category=Category(id=item.category.id, name=item.category.name),
        min_amount=int(item.amount.min),
        max_amount=int(item.amount.max),
        has_info=bool(item.has_info_method),
        can_cancel=bool(item.can_cancel),
        payable=bool(item.payment_available),
    )
