"""How the vitals panes (gauges, wallet, traces) write numbers: money, durations, rates, token counts.

One place for the formats so the three panes agree (a cost reads the same in the wallet and in a trace
row) and so snapshot tests see stable text. Pure functions of their arguments: no clock, no locale.
"""

from __future__ import annotations

MICRO_PER_USD = 1_000_000


def money(micro: int | None, *, unmetered: str = "unmetered") -> str:
    """``$12.34`` (cents) from $1 up, ``$0.0042`` (four decimals) below, ``unmetered`` for None."""
    if micro is None:
        return unmetered
    usd = micro / MICRO_PER_USD
    sign = "-" if usd < 0 else ""
    usd = abs(usd)
    if usd >= 1000:
        return f"{sign}${usd:,.0f}"
    if usd >= 1 or usd == 0:
        return f"{sign}${usd:.2f}"
    return f"{sign}${usd:.4f}"


def money_usd(usd: float | None) -> str:
    return money(None if usd is None else round(usd * MICRO_PER_USD))


def percent(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"


def duration_ms(ms: float) -> str:
    """``850ms``, ``1.2s``, ``3m04s``, ``2h05m``."""
    if ms < 1000:
        return f"{ms:.0f}ms"
    return duration_s(ms / 1000)


def duration_s(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def runway(hours: float | None) -> str:
    """Runway in hours, ``∞`` when there is no burn (None)."""
    if hours is None:
        return "∞"
    return duration_s(max(hours, 0.0) * 3600)


def tokens(count: int) -> str:
    """``950``, ``12.3k``, ``1.2M``."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"


def clock_time(occurred_at_us: int) -> str:
    """``HH:MM:SS`` (UTC) of an event time: deterministic under a fake clock, unlike local time."""
    seconds = occurred_at_us // 1_000_000
    return f"{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
