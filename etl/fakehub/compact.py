"""Key-sharing dicts (PEP 412) for generated items and mapping entries: real `dict`s at about a third of the memory."""

from __future__ import annotations

from typing import Any


class _Item:
    """Exists only to lend its __dict__: all instance dicts of one class share a single key table."""


class _Entry:
    """Same trick for list-form inferenceProviderMapping entries (millions of them at scale)."""

    def __init__(self, provider: str, provider_id: str, status: str, task: str, is_author: bool) -> None:
        self.provider = provider
        self.providerId = provider_id
        self.status = status
        self.task = task
        self.isModelAuthor = is_author


def new_item() -> dict[str, Any]:
    """An empty dict that shares its key table with every other generated item.

    It is an ordinary `dict` to every consumer (orjson, ==, copy, mutation); only its storage is shared. A plain
    dict with the ~25 Hub keys costs ~800 bytes, this ~300: half a gigabyte saved at a million models.
    """
    return _Item().__dict__


def new_entry(provider: str, provider_id: str, status: str, task: str, is_author: bool = False) -> dict[str, Any]:
    """A mapping entry `{"provider", "providerId", "status", "task", "isModelAuthor"}` as a key-sharing dict."""
    return _Entry(provider, provider_id, status, task, is_author).__dict__
