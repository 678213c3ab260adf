"""User-supplied regexes (guardrails, connector response rules) run with a time budget.

Java's and Python's `re` engines backtrack, so a pattern like `(a+)+$` takes exponential
time on a text that almost matches; on the simulator's one event loop that would stall
every client. Patterns are still compiled (and refused) by `re`, so their syntax and error
messages stay those of the standard module; matching runs on the `regex` engine, which
accepts the same syntax and can stop a match after a timeout.
"""

from __future__ import annotations

import re
from typing import Callable

import regex

#: Wall seconds one match may take before it is abandoned.
MATCH_BUDGET_SECONDS = 0.1


class RegexBudgetExceeded(Exception):
    """A match ran over `MATCH_BUDGET_SECONDS`."""

    def __init__(self, pattern: str) -> None:
        super().__init__(
            f"regex [{pattern}] ran over its budget of [{int(MATCH_BUDGET_SECONDS * 1000)}ms] and was stopped"
        )
        self.pattern = pattern


class BudgetedPattern:
    """A compiled pattern whose matches (the `re` methods, same results) stop after the budget."""

    def __init__(self, pattern: str) -> None:
        re.compile(pattern)  # re.error for what the standard module refuses
        try:
            self._compiled = regex.compile(pattern)
        except regex.error as exc:
            raise re.error(str(exc), pattern) from None
        self.pattern = pattern

    def fullmatch(self, text: str) -> regex.Match[str] | None:
        return self._run(self._compiled.fullmatch, text)

    def search(self, text: str) -> regex.Match[str] | None:
        return self._run(self._compiled.search, text)

    def _run(self, method: Callable[..., regex.Match[str] | None], text: str) -> regex.Match[str] | None:
        try:
            return method(text, timeout=MATCH_BUDGET_SECONDS)
        except TimeoutError:
            raise RegexBudgetExceeded(self.pattern) from None
