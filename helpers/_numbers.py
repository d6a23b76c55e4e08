"""Checking the numbers a student passes in: one clear message instead of a raw Python or numpy error.

Private: the public functions call :func:`number` on their numeric arguments.

Examples
--------
>>> from helpers._numbers import number
>>> number(5, "threshold", above=0)
5.0
>>> number("5", "threshold", above=0)
Traceback (most recent call last):
...
TypeError: threshold must be a number, got '5' (a str); write 5, not '5'
"""
import math

__all__ = ["number"]


def number(value, name, above=None, at_least=None):
    """``value`` as a float: a TypeError for what is not a number, a ValueError for NaN, infinity or a value out
    of range (``> above``, ``>= at_least``), each naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        hint = f"; write {value.strip()}, not {value!r}" if isinstance(value, str) else ""
        raise TypeError(f"{name} must be a number, got {value!r} (a {type(value).__name__}){hint}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a single number, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if above is not None and not value > above:
        raise ValueError(f"{name} must be more than {above:g}, got {value:g}")
    if at_least is not None and not value >= at_least:
        raise ValueError(f"{name} must be at least {at_least:g}, got {value:g}")
    return value
