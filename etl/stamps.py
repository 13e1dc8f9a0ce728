"""UTC timestamps as hfsnap stores them: ISO 8601 with microseconds and a `Z` (they sort as text)."""

from __future__ import annotations

from datetime import UTC, datetime

STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_stamp(moment: datetime) -> str:
    """`2026-11-30T21:04:41.123456Z`: the form of every stored run and check time."""
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def parse_stamp(text: str) -> datetime:
    """An ISO 8601 time as stored or as the Hub sends it (`Z` or an offset); naive if it names no zone."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
