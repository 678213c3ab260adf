"""`java.util.Random`, bit for bit: Elasticsearch's LP planner draws its tie-breaking weights
and its rounding decisions from `new Random(738921734)`, so reproducing its plans needs the
same stream (a 48-bit linear congruential generator, Knuth 3.2.1)."""

from __future__ import annotations

import math

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
