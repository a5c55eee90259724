"""Keep Textual's rendered lines free of reference cycles, so dropping a frame's lines frees them at once.

Textual 8.2's ``Strip.divide(cuts)`` returns ``[self]`` when the only cut is the strip's own end, and caches
that list in the strip's ``_divide_cache``: strip -> cache -> list -> strip. The compositor divides every
line it draws, and a line that spans a single chop (most lines of most frames) is divided exactly that way,
so nearly every line drawn becomes garbage that only Python's cyclic collector can free. While an answer
streams that is thousands of lines a second; the full collections that clear them walked 60,000+ objects
and paused a frame for 20-60 ms (issue 6's budget: no frame over 50 ms; measured in bench/tui.py's
stream).

:func:`install` wraps ``Strip.divide`` so that case returns a fresh ``[self]`` without caching it (there is
nothing to compute, so the cache saved nothing); every other call goes to Textual unchanged. It checks
first that the installed Textual does cache the strip in itself (a release that fixed this is left alone;
checking the behaviour costs nothing, where reading Textual's version costs ~15 ms of start-up), and it is
idempotent. The app installs it when built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import wraps

from rich.segment import Segment
from textual.strip import Strip

_MARK = "_life_tui_acyclic"
DivideMethod = Callable[[Strip, Iterable[int]], Sequence[Strip]]


def caches_itself(divide: DivideMethod) -> bool:
    """True when ``divide`` keeps a strip divided at its end inside that strip (the cycle)."""
    probe = Strip([Segment("x")])
    pieces = divide(probe, [1])
    cache = getattr(probe, "_divide_cache", None)
    return list(pieces) == [probe] and cache is not None and cache.get((1,)) is pieces


def install() -> bool:
    """Wrap ``Strip.divide`` (see the module docstring); True when the wrapper is in place."""
    current: DivideMethod = Strip.divide
    if getattr(current, _MARK, False):
        return True
    if not caches_itself(current):
        return False

    @wraps(current)  # keeps the docstring, and ``__wrapped__`` names Textual's own
    def divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
        wanted = [cut for cut in cuts if cut <= self.cell_length]
        if wanted == [self.cell_length]:
            return [self]
        return current(self, wanted)

    setattr(divide, _MARK, True)
    Strip.divide = divide  # type: ignore[method-assign]
    return True
