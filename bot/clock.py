"""The one clock. Everything that reads the time asks the clock it was given, never the wall clock itself.

The application makes one `SystemClock` and hands it to the store; the engine and the outbox read the
time through the store (`ConversationSlot.now`, `TicketStore.clock`), so one message, one ticket and
one delivery attempt never mix two sources. Tests hand in a `ManualClock` and move it forward.

Dates that people see (deadlines, "this year") are England's: `local_date` turns a moment into the
date it is in England.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

ENGLAND = ZoneInfo("Europe/London")


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current moment, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that moves only when told to (tests, benchmarks, `--today` style what-ifs)."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = _aware(start)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, moment: dt.datetime) -> None:
        self._now = _aware(moment)

    def advance(self, seconds: float = 0, **delta: float) -> dt.datetime:
        self._now += dt.timedelta(seconds=seconds, **delta)
        return self._now


def local_date(moment: dt.datetime) -> dt.date:
    """The date it is in England at `moment`."""
    return _aware(moment).astimezone(ENGLAND).date()


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("the clock works in timezone-aware datetimes")
    return moment.astimezone(dt.UTC)


SYSTEM_CLOCK = SystemClock()
