"""ml-commons guardrails, the pure part: Java regexes, the stop-words percolator, the
guardrail model's verdict.

A model's `guardrails` (`type` `local_regex`, the default, or `model`) hold an
`input_guardrail` and an `output_guardrail`; predict applies them to remote models only, on
the rendered connector payload going in and the raw model response coming out. The calls
into other models and indices live in `predict.py`; everything here is a function of its
arguments.

- `regex`: Java's `Pattern.matcher(text).matches()`, a full match, rejects. Patterns are
  translated from Java syntax where Python's differs (`java_regex`).
- `stop_words` `[{index_name, source_fields}]`: ml-commons runs a percolate query on the
  index (percolator field `query`) with a document that has the text in every source field;
  a hit rejects. Its listener treats a failed search (a missing index, say) as a pass, so
  does `stop_words_verdict`. The stored queries are evaluated here with a small subset of
  the query DSL (`percolate`), on text analysed as `query_dsl.analyze` does (every index maps
  strings as text).
- `model`: the guardrail model's `dataAsMap.response`, serialised the way Gson does, must
  fully match `response_validation_regex`.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterable

from .budgeted_regex import BudgetedPattern
from .errors import MlError
from .query_dsl import analyze, compile_query

INPUT = "input_guardrail"
OUTPUT = "output_guardrail"
LOCAL_REGEX = "local_regex"
MODEL = "model"
INPUT_TRIGGERED = "guardrails triggered for user input"
OUTPUT_TRIGGERED = "guardrails triggered for LLM output"

#: Java regex constructs Python's `re` spells differently (Python 3.11 already has
#: possessive quantifiers and atomic groups).
_JAVA_QUOTE = re.compile(r"\\Q(.*?)(?:\\E|$)", re.DOTALL)
_JAVA_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z])")
_JAVA_END = re.compile(r"(?<!\\)((?:\\\\)*)\\([zZ])")


def java_regex(pattern: str) -> BudgetedPattern:
    """Compile a `java.util.regex` pattern: `\\Q..\\E` quoting, `(?<name>..)` groups and the
    `\\z` / `\\Z` anchors are translated; `\\p{..}` classes and other Java-only syntax are
    not, and fail like any invalid pattern (`re.error`). Matches run with a time budget
    (`RegexBudgetExceeded`), since the patterns come from users."""

    def end_anchor(match: re.Match[str]) -> str:
        # Java \z is Python \Z; Java \Z also allows one final line terminator.
        return match.group(1) + (r"\Z" if match.group(2) == "z" else r"(?=\n?\Z)")

    translated = _JAVA_QUOTE.sub(lambda m: re.escape(m.group(1)), pattern)
    translated = _JAVA_NAMED_GROUP.sub("(?P<", translated)
    translated = _JAVA_END.sub(end_anchor, translated)
    return BudgetedPattern(translated)


def regex_rejects(text: str, patterns: Iterable[str]) -> bool:
    """Whether any pattern fully matches `text` (ml-commons' regex check fails then)."""
    return any(java_regex(pattern).fullmatch(text) is not None for pattern in patterns)


# -- stop words: the percolate query ---------------------------------------------------


class UnsupportedQuery(ValueError):
    """A stored percolator query outside the subset evaluated here."""


def percolate(query: dict[str, Any], document: dict[str, str]) -> bool:
    """Whether the stored `query` matches `document` (field → text).

    `bool` (nesting any of these), `match_phrase` and `query_string` (fields, quoted phrases,
    `*`/`?` wildcards, AND/OR/NOT, parentheses, `default_field`, `default_operator`) are
    evaluated here; every other clause by `query_dsl.compile_query`, as a search would."""
    if not isinstance(query, dict) or len(query) != 1:
        raise UnsupportedQuery(f"not a single query: {json.dumps(query)}")
    kind, spec = next(iter(query.items()))
    if kind == "bool":
        return _bool(spec, document)
    if kind == "query_string":
        return _query_string(spec, document)
    if kind == "match_phrase":
        if not isinstance(spec, dict) or len(spec) != 1:
            raise UnsupportedQuery("[match_phrase] needs exactly one field")
        field, value = next(iter(spec.items()))
        phrase = analyze(str(value.get("query", "") if isinstance(value, dict) else value))
        return any(_contains_phrase(tokens, phrase) for tokens in _field_tokens(document, field))
    try:
        matcher = compile_query(query)
    except MlError as exc:
        raise UnsupportedQuery(exc.reason) from None
    return matcher("", document)


def _field_tokens(document: dict[str, str], field: str) -> list[list[str]]:
    if field in ("*", "_all"):
        return [analyze(text) for text in document.values()]
    return [analyze(document[field])] if field in document else []


def _contains_phrase(tokens: list[str], phrase: list[str]) -> bool:
    width = len(phrase)
    return width > 0 and any(tokens[i : i + width] == phrase for i in range(len(tokens) - width + 1))


def _bool(spec: Any, document: dict[str, str]) -> bool:
    if not isinstance(spec, dict):
        raise UnsupportedQuery("[bool] needs an object")

    def clauses(name: str) -> list[dict[str, Any]]:
        value = spec.get(name, [])
        return value if isinstance(value, list) else [value]

    required = clauses("must") + clauses("filter")
    optional = clauses("should")
    if not all(percolate(q, document) for q in required):
        return False
    if any(percolate(q, document) for q in clauses("must_not")):
        return False
    # without must/filter, at least one should clause has to match
    return bool(required) or not optional or any(percolate(q, document) for q in optional)


# query_string: a tiny recursive-descent parser over the common syntax


_QS_TOKEN = re.compile(r'\s*(\(|\)|"(?:[^"\\]|\\.)*"|[^\s()"]+(?:"(?:[^"\\]|\\.)*")?)')


@dataclass(frozen=True, slots=True)
class _Clause:
    field: str
    text: str
    phrase: bool


def _query_string(spec: Any, document: dict[str, str]) -> bool:
    if not isinstance(spec, dict) or not isinstance(spec.get("query"), str):
        raise UnsupportedQuery("[query_string] needs a [query] string")
    tokens = [m.group(1) for m in _QS_TOKEN.finditer(spec["query"])]
    default_field = str(spec.get("default_field", "*"))
    default_and = str(spec.get("default_operator", "or")).lower() == "and"
    parser = _QueryStringParser(tokens, default_field, default_and, document)
    result = parser.expression()
    if parser.position != len(tokens):
        raise UnsupportedQuery(f"cannot parse query_string [{spec['query']}]")
    return result


class _QueryStringParser:
    def __init__(self, tokens: list[str], default_field: str, default_and: bool, document: dict[str, str]) -> None:
        self.tokens = tokens
        self.position = 0
        self.default_field = default_field
        self.default_and = default_and
        self.document = document

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expression(self) -> bool:
        """OR binds loosest; juxtaposition uses the default operator."""
        result = self.conjunction()
        while self.peek() == "OR":
            self.take()
            right = self.conjunction()
            result = result or right
        return result

    def conjunction(self) -> bool:
        result = self.unary()
        while self.peek() not in (None, ")", "OR"):
            explicit_and = self.peek() == "AND"
            if explicit_and:
                self.take()
            right = self.unary()
            result = (result and right) if explicit_and or self.default_and else (result or right)
        return result

    def unary(self) -> bool:
        token = self.peek()
        if token is None:
            raise UnsupportedQuery("query_string ends early")
        if token == "NOT":
            self.take()
            return not self.unary()
        if token == "(":
            self.take()
            result = self.expression()
            if self.peek() != ")":
                raise UnsupportedQuery("query_string has an unclosed parenthesis")
            self.take()
            return result
        if re.fullmatch(r"[\w.*]+:", token):
            # "field: value" (Lucene allows the space): the field applies to what follows
            self.take()
            outer, self.default_field = self.default_field, token[:-1]
            try:
                return self.unary()
            finally:
                self.default_field = outer
        return self.clause(self.take())

    def clause(self, token: str) -> bool:
        field, text = self.default_field, token
        match = re.fullmatch(r'([\w.*]+):(.+)', token)
        if match:
            field, text = match.group(1), match.group(2)
        phrase = len(text) >= 2 and text.startswith('"') and text.endswith('"')
        return _query_string_clause(_Clause(field, text[1:-1] if phrase else text, phrase), self.document)


def _query_string_clause(clause: _Clause, document: dict[str, str]) -> bool:
    for tokens in _field_tokens(document, clause.field):
        if clause.phrase:
            if _contains_phrase(tokens, analyze(clause.text)):
                return True
        elif any(ch in clause.text for ch in "*?"):
            if any(fnmatch.fnmatchcase(token, clause.text.lower()) for token in tokens):
                return True
        elif set(analyze(clause.text)) & set(tokens):  # a bare term: any of its words
            return True
    return False


def stop_words_verdict(
    text: str, stop_words: list[dict[str, Any]], stored_queries: Callable[[str], list[dict[str, Any]] | None]
) -> tuple[bool, list[str]]:
    """(rejected, problems): percolate `text` through each stop-words index.

    `stored_queries(index_name)` gives the index's percolator queries (None: no such
    index). A missing index or an unsupported query counts as a failed search, which
    ml-commons lets pass; `problems` says which, for the event log."""
    problems: list[str] = []
    for entry in stop_words:
        index_name, fields = entry.get("index_name"), entry.get("source_fields")
        if index_name is None or not fields:
            continue
        queries = stored_queries(index_name)
        if queries is None:
            problems.append(f"no such index [{index_name}]")
            continue
        document = {field: text for field in fields}
        try:
            if any(percolate(query, document) for query in queries):
                return True, problems
        except UnsupportedQuery as exc:
            problems.append(f"[{index_name}]: {exc}")
    return False, problems


# -- the guardrail model ---------------------------------------------------------------------

#: Gson escapes these by default (HTML-safe output).
_GSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "=": "\\u003d", "'": "\\u0027"}


def gson_json(value: Any) -> str:
    """`new Gson().toJson(value)`: compact, HTML characters escaped, floats as Java prints
    doubles, null map entries dropped."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # an Integer (a JsonPath pick); Gson's own parse makes doubles
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        escaped = "".join(_GSON_ESCAPES.get(ch, ch) for ch in text)
        return escaped.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if isinstance(value, dict):
        items = (f"{gson_json(str(k))}:{gson_json(v)}" for k, v in value.items() if v is not None)
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(gson_json(v) for v in value) + "]"
    raise TypeError(f"not JSON: {value!r}")


def _java_double(x: float) -> str:
    """`Double.toString`: plain between 10^-3 and 10^7, else computerised scientific."""
    if math.isnan(x) or math.isinf(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        return repr(x)
    sign, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    text = "".join(map(str, digits))
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{len(text) - 1 + int(exponent)}"


def model_accepts(response: Any, validation_regex: str) -> bool:
    """Whether the guardrail model's `dataAsMap.response`, as Gson serialises it, fully
    matches `response_validation_regex` (so a string answer carries its quotes)."""
    return java_regex(validation_regex).fullmatch(gson_json(response)) is not None
