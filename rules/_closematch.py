"""``difflib.get_close_matches(word, candidates, n=1, cutoff)`` over a fixed candidate list,
asked many times (one "did you mean" per finding), without comparing every candidate fully.

difflib keeps a candidate when ``real_quick_ratio``, ``quick_ratio`` and ``ratio`` all reach
the cutoff, and returns the best ``(ratio, candidate)``.  Each is an upper bound of the next
(``2 * matches / total`` with ever fewer matches).  Here the candidates sit in buckets of
equal length and equal counts of every non-digit character: the length bound and a multiset
bound (``quick_ratio`` counting any digit as matching any digit) are decided once per bucket;
``quick_ratio`` itself (the characters two strings share, counted with multiplicity) from
the character counts kept per candidate; and ``ratio`` (the expensive one) with difflib's own
``SequenceMatcher``, in decreasing order of ``quick_ratio``, stopping once that falls below
the best ratio found: nothing after it can beat or tie it.  The answer is difflib's,
candidate for candidate (tests/test_closematch.py compares them).
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Optional


def _calculate_ratio(matches: int, length: int) -> float:
    return 2.0 * matches / length if length else 1.0  # difflib's formula, so the floats agree


_NO_DIGITS = str.maketrans("", "", "0123456789")


class CloseMatcher:
    """The candidates in buckets of equal length, equal number of digits and equal counts of
    every other character (a candidate's own counts are taken when its bucket passes)."""

    def __init__(self, candidates: Iterable[str]) -> None:
        buckets: dict[tuple[int, int, str], tuple[list[tuple[str, int]], list[str]]] = {}
        for c in candidates:
            rest = c.translate(_NO_DIGITS)
            key = (len(c), len(c) - len(rest), "".join(sorted(rest)))
            bucket = buckets.get(key)
            if bucket is None:
                bucket = buckets[key] = (list(Counter(rest).items()), [])
            bucket[1].append(c)
        self._buckets = [(k[0], k[1], other, members) for k, (other, members) in buckets.items()]

    def best(self, word: str, cutoff: float, exclude: Optional[str] = None) -> Optional[str]:
        """``(difflib.get_close_matches(word, [c for c in candidates if c != exclude], n=1,
        cutoff=cutoff) or [None])[0]``."""
        lb = len(word)
        wcount = Counter(word)
        wget = wcount.get
        wdigits = lb - len(word.translate(_NO_DIGITS))
        passing: list[tuple[float, str]] = []
        for la, digits, other, members in self._buckets:
            total = la + lb
            if _calculate_ratio(min(la, lb), total) < cutoff:  # real_quick_ratio
                continue
            # quick_ratio of any member <= this bound: the digits may match any digit
            bound = digits if digits < wdigits else wdigits
            for ch, n in other:
                m = wget(ch)
                if m:
                    bound += n if n < m else m
            if _calculate_ratio(bound, total) < cutoff:
                continue
            for cand in members:
                if cand == exclude:
                    continue
                matches = 0
                for ch, n in Counter(cand).items():
                    m = wget(ch)
                    if m:
                        matches += n if n < m else m
                q = _calculate_ratio(matches, total)  # quick_ratio
                if q >= cutoff:
                    passing.append((q, cand))
        if not passing:
            return None
        passing.sort(key=lambda t: t[0], reverse=True)
        import difflib  # deferred: only a finding's hint gets here (cold start)

        s = difflib.SequenceMatcher()
        s.set_seq2(word)
        best: Optional[tuple[float, str]] = None
        for q, cand in passing:
            if best is not None and q < best[0]:
                break  # ratio <= quick_ratio < best: neither better nor tied
            s.set_seq1(cand)
            r = s.ratio()
            if r >= cutoff and (best is None or (r, cand) > best):
                best = (r, cand)
        return best[1] if best else None
