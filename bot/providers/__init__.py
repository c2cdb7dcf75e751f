"""Async clients of the payment providers, over one shared httpx.AsyncClient."""
