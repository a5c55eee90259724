"""A one-line trend as text: the last values of a series drawn with the eight block heights.

Textual's ``Sparkline`` widget spreads its data over its whole width and rescales it to the series' own
minimum and maximum, so a context utilisation moving from 0.50 to 0.51 fills the line from bottom to top
and two samples stretch across twelve cells. A gauge's trend wants the opposite: one cell per sample,
newest on the right, on the gauge's own fixed scale (0-100 % for fractions), so that a flat line means
"steady" and a tall bar means "high". The text is styled by the caller, so colours stay theme variables.
"""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int, *, low: float | None = None, high: float | None = None) -> str:
    """The last ``width`` values, one cell each, right-aligned (blank cells on the left while filling).

    ``low``/``high`` fix the scale (values outside are clamped); when omitted the visible values' own
    range is used, and a series with no spread is drawn at the lowest height.
    """
    if width <= 0:
        return ""
    shown = list(values)[-width:]
    if not shown:
        return " " * width
    floor = min(shown) if low is None else low
    ceiling = max(shown) if high is None else high
    extent = ceiling - floor
    cells = []
    for value in shown:
        ratio = 0.0 if extent <= 0 else (min(max(value, floor), ceiling) - floor) / extent
        cells.append(BARS[min(int(ratio * len(BARS)), len(BARS) - 1)])
    return " " * (width - len(shown)) + "".join(cells)
