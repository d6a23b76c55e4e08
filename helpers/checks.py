"""Checking answers: what a chapter recovered against the ground truth, and the exercises.

Examples
--------
>>> from helpers import checks
>>> print(checks.comparison([("bias level", 1001.23, 1001.0, "ADU")]))
quantity      recovered      truth          difference
bias level    1001.23 ADU    1001.00 ADU    +0.23 ADU  (+0.0 %)
"""
from __future__ import annotations

import numpy as np


def _fmt(value, digits):
    return f"{value:.{digits}f}"


def comparison(rows, digits=2, relative=True):
    """A small table of recovered values next to the truth, with their difference.

    Parameters
    ----------
    rows : list of tuples
        ``(quantity, recovered, truth, unit)``; numbers are rounded to ``digits`` decimals (and the relative
        difference to 0.1 %), so that the printed table is the same on every machine.
    relative : bool
        Also give the difference in per cent of the truth (leave it out for offsets and magnitudes, where a
        percentage means nothing).
    """
    lines = []
    for name, recovered, true, unit in rows:
        unit = f" {unit}" if unit else ""
        diff = recovered - true
        rel = f"  ({100 * diff / true:+.1f} %)" if true and relative else ""
        lines.append((name, _fmt(recovered, digits) + unit, _fmt(true, digits) + unit,
                      f"{diff:+.{digits}f}{unit}{rel}"))
    widths = [max(len(r[i]) for r in lines + [("quantity", "recovered", "truth", "difference")]) for i in range(3)]
    header = f"{'quantity':<{widths[0]}}    {'recovered':<{widths[1]}}    {'truth':<{widths[2]}}    difference"
    body = [f"{a:<{widths[0]}}    {b:<{widths[1]}}    {c:<{widths[2]}}    {d}" for a, b, c, d in lines]
    return "\n".join([header] + body)


def check(answer, expected, tolerance=0.0, relative=False, hint=""):
    """Check an exercise answer and say so in words (no exception: a wrong answer is part of learning).

    Parameters
    ----------
    answer, expected : number, str or sequence
    tolerance : float
        Allowed absolute difference (or relative, with ``relative=True``) for numbers.
    hint : str
        Shown when the answer is wrong.

    Examples
    --------
    >>> check(0.49, 0.5, tolerance=0.02)
    'Correct.'
    >>> check(..., 3)
    'Replace ... with your answer and run the cell again.'
    >>> check("V", "B", hint="look at the FILTER keyword")
    'Not yet: look at the FILTER keyword'
    """
    if answer is Ellipsis or (isinstance(answer, (list, tuple)) and Ellipsis in answer):
        return "Replace ... with your answer and run the cell again."
    if isinstance(expected, str):
        right = str(answer).strip().lower() == expected.strip().lower()
    else:
        answer_a, expected_a = np.asarray(answer, dtype=float), np.asarray(expected, dtype=float)
        if answer_a.shape != expected_a.shape:
            return f"Not yet: expected {expected_a.size} value(s), got {answer_a.size}. {hint}".strip()
        allowed = tolerance * np.abs(expected_a) if relative else tolerance
        right = bool(np.all(np.abs(answer_a - expected_a) <= allowed))
    return "Correct." if right else f"Not yet: {hint}".strip().rstrip(":")
