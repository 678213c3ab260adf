"""`java.util.Random`, bit for bit: Elasticsearch's LP planner draws its tie-breaking weights
and its rounding decisions from `new Random(738921734)`, so reproducing its plans needs the
same stream (a 48-bit linear congruential generator, Knuth 3.2.1)."""

from __future__ import annotations

import math

import numpy as np

_MULTIPLIER = 0x5DEECE66D
_ADDEND = 0xB
_MASK = (1 << 48) - 1
_DOUBLE_UNIT = 2.0**-53


class JavaRandom:
    """The generator and the draws the planner uses, computed as Java 17 computes them."""

    def __init__(self, seed: int) -> None:
        self._seed = (seed ^ _MULTIPLIER) & _MASK

    def next_bits(self, bits: int) -> int:
        """`Random.next(bits)`: the top `bits` of the new state, as a signed 32-bit int."""
        self._seed = (self._seed * _MULTIPLIER + _ADDEND) & _MASK
        value = self._seed >> (48 - bits)
        return value - (1 << 32) if value >= 1 << 31 else value

    def next_double(self) -> float:
        """Uniform in [0, 1) from 53 random bits (26 + 27)."""
        return ((self.next_bits(26) << 27) + self.next_bits(27)) * _DOUBLE_UNIT

    def next_double_between(self, origin: float, bound: float) -> float:
        """`nextDouble(origin, bound)` (RandomSupport.boundedNextDouble); origin < bound."""
        if not origin < bound:
            raise ValueError("bound must be greater than origin")
        r = self.next_double() * (bound - origin) + origin
        return math.nextafter(bound, origin) if r >= bound else r

    def next_doubles_between(self, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
        """`nextDouble(lows[k], highs[k])` for k = 0, 1, ... in turn, vectorised: the k-th
        state is `a^k·s + c·(a^k − 1)/(a − 1)` mod 2^48, built by doubling; uint64 products
        wrap modulo 2^64, which keeps them exact modulo 2^48."""
        count = len(lows)
        if count == 0:
            return np.zeros(0)
        states = _states(self._seed, 2 * count)
        self._seed = int(states[-1])
        high_bits = (states[0::2] >> np.uint64(22)).astype(np.int64)
        low_bits = (states[1::2] >> np.uint64(21)).astype(np.int64)
        r = ((high_bits << 27) + low_bits) * _DOUBLE_UNIT
        r = r * (highs - lows) + lows
        over = r >= highs
        if over.any():
            r[over] = np.nextafter(highs[over], lows[over])
        return r


def _states(seed: int, count: int) -> np.ndarray:
    """The next `count` states of the generator after `seed`, as uint64."""
    mask = np.uint64(_MASK)
    states = np.empty(count, dtype=np.uint64)
    states[0] = (seed * _MULTIPLIER + _ADDEND) & _MASK
    multiplier, addend, filled = _MULTIPLIER, _ADDEND, 1  # the step of `filled` states at once
    with np.errstate(over="ignore"):
        while filled < count:
            take = min(filled, count - filled)
            states[filled : filled + take] = (np.uint64(multiplier) * states[:take] + np.uint64(addend)) & mask
            multiplier, addend = (multiplier * multiplier) & _MASK, (multiplier * addend + addend) & _MASK
            filled += take
    return states
