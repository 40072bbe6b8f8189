from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the time, so that use cases can be tested at any moment."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...
