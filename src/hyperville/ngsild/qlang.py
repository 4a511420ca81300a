"""The NGSI-LD query languages ``q`` (CIM 009 clause 4.9) and ``scopeQ`` (clause 4.19).

Here: the AST and the ``q`` parser. In :mod:`~hyperville.ngsild.qlang_eval`, re-exported
here: ``to_text``, ``resolve_names``, ``attr_names``, ``evaluate``, the scopeQ functions.

Where the parser departs from the bare ABNF, on purpose: parentheses nest freely (spec
example 6 nests two levels); unquoted URIs and bare words (``gender==Male``, example 12) are
strings; a regex may be a quoted JSON string, an unquoted one ends at the first ``;``, ``|``
or unbalanced ``)`` outside its own groups and classes; ``a[b][c]`` equals ``a[b.c]`` and
member keys may hold ``-`` (language tags), digits (array index) or be ``*`` (any
language); names may be prefixed (``p:name``, clause 4.6.2). Whitespace outside quoted
strings is rejected (the ABNF has none), as are linked-entity paths (``a{b}``) and ``!a``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, NoReturn

from hyperville.core.errors import BadRequestData

if TYPE_CHECKING:
    from hyperville.ngsild.qlang_eval import (
        attr_names,
        evaluate,
        parse_scope_q,
        resolve_names,
        scope_matches,
        to_text,
    )

__all__ = ["And", "AttrPath", "Comparison", "Exists", "Or", "Query", "Range", "ScopeMatch",
           "ScopeQuery", "attr_names", "evaluate", "parse_q", "parse_scope_q",
           "resolve_names", "scope_matches", "to_text"]  # fmt: skip

MAX_QUERY_LENGTH = 10_000
MAX_DEPTH = 64
RESERVED_NAMES = frozenset({"observedAt", "createdAt", "modifiedAt", "unitCode", "datasetId"})
ORDERING_OPS = frozenset({">", ">=", "<", "<="})
PATTERN_OPS = frozenset({"~=", "!~="})


def _typed(value: object) -> object:
    if isinstance(value, tuple):
        return tuple(_typed(v) for v in value)
    if isinstance(value, Range):
        return (Range, _typed(value.low), _typed(value.high))
    return (type(value), value)


class _TypedEq:
    """Equality and hash keeping ``True``, ``1``, ``1.0`` apart: ASTs serve as cache keys."""

    def _key(self) -> object:
        return _typed(tuple(vars(self).values()))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True)
class AttrPath:
    """``attr.sub1.sub2[key1.key2]``: attribute, sub-attribute chain, compound-value keys."""

    attr: str
    sub_attrs: tuple[str, ...] = ()
    compound: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Range(_TypedEq):
    """An inclusive range ``low..high``; both bounds are numbers, or both are strings."""

    low: object
    high: object


@dataclass(frozen=True, eq=False)
class Comparison(_TypedEq):
    """``path op value``; value is a scalar, a tuple of scalars, a Range or a regex string."""

    path: AttrPath
    op: str
    value: object


@dataclass(frozen=True)
class Exists:
    """A bare attribute path: the entity has the target element."""

    path: AttrPath


@dataclass(frozen=True)
class And:
    """All terms hold (``;``)."""

    terms: tuple


@dataclass(frozen=True)
class Or:
    """At least one term holds (``|``, or ``,`` in scopeQ)."""

    terms: tuple


@dataclass(frozen=True)
class ScopeMatch:
    """A scopeQ leaf: ``/A/B``, ``/A/+/C`` (one level), ``/A/#`` (A and below), ``/#``."""

    pattern: str


Query = Comparison | Exists | And | Or
ScopeQuery = ScopeMatch | And | Or

NAME = r"[^\W\d_]\w*"  # \w is Unicode letters, numbers and "_": the spec's TermChar
_NAME_RE = re.compile(rf"{NAME}(?::{NAME})?")
_KEY_RE = re.compile(r"[\w-]+|\*")
_OP_RE = re.compile(r"==|!=|!~=|~=|>=|<=|>|<")
_STRING_RE = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"')
_TIME = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
DATETIME_RE = re.compile(rf"\d{{4}}-\d{{2}}-\d{{2}}T{_TIME}")
# One alternation tried in order; the lookahead makes a token end where a value may end, so
# "true:x" falls through to a URI and "2024-01-01..2024-12-31" splits into a range.
_SCALAR_RE = re.compile(
    rf"(?:(?P<dt>{DATETIME_RE.pattern})|(?P<date>\d{{4}}-\d{{2}}-\d{{2}})|(?P<time>{_TIME})"
    r"|(?P<num>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<bool>true|false)"
    r'|(?P<uri>[A-Za-z][A-Za-z0-9+.\-]*:[^\s"(),;|]+)'
    rf"|(?P<word>{NAME}))(?=[,;|)]|\.\.|\Z)"
)
_TOKEN_RE = re.compile(r"[^\s,;|)]*")
END = ("", ";", "|", ")")


@lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """The compiled form of a ``~=`` pattern, compiled once per distinct pattern."""
    return re.compile(pattern)


def is_name(text: str) -> bool:
    # [^\W\d_] still admits non-decimal numbers such as "²"; the spec wants a letter first.
    return all(part[:1].isalpha() for part in text.split(":"))


class Parser:
    """A recursive-descent parser over one string; ``pos`` is the 0-based cursor."""

    or_ops: tuple[str, ...] = ("|",)

    def __init__(self, text: str, label: str) -> None:
        self.text, self.label, self.pos, self.depth = text, label, 0, 0

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def fail(self, expected: str, at: int | None = None) -> NoReturn:
        at = self.pos if at is None else at
        rest = self.text[at : at + 12]
        found = repr(rest) if rest[:1].strip() else "whitespace" if rest else "end of text"
        raise BadRequestData(
            f"Invalid {self.label} at position {at}: expected {expected}, found {found}"
        )

    def parse(self) -> object:
        node = self.or_expr()
        if self.peek() == ")":
            self.fail("';', '|' or end of text (unbalanced ')')")
        if self.pos < len(self.text):
            self.fail("';', '|' or end of text")
        return node

    def or_expr(self) -> object:
        terms = [self.and_expr()]
        while self.peek() in self.or_ops:
            self.pos += 1
            terms.append(self.and_expr())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def and_expr(self) -> object:
        terms = [self.primary()]
        while self.peek() == ";":
            self.pos += 1
            terms.append(self.primary())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def primary(self) -> object:
        if self.peek() != "(":
            return self.leaf()
        start = self.pos
        if self.depth >= MAX_DEPTH:
            self.fail(f"at most {MAX_DEPTH} nested parentheses")
        self.depth += 1
        self.pos += 1
        node = self.or_expr()
        if self.peek() != ")":
            self.fail(f"')' to close the '(' at position {start}")
        self.pos += 1
        self.depth -= 1
        return node


class _QParser(Parser):
    def leaf(self) -> Query:
        path = self.attr_path()
        match = _OP_RE.match(self.text, self.pos)
        if match is None:
            if self.peek() in END:
                return Exists(path)
            if self.peek() == "=":
                self.fail("'==' (a single '=' is not an operator)")
            self.fail("an operator, ';', '|', ')' or end of text")
        op, op_pos = match.group(), self.pos
        self.pos = match.end()
        value = self.regex() if op in PATTERN_OPS else self.value(op, op_pos)
        if self.peek() not in END:
            self.fail("';', '|', ')' or end of text after the value")
        return Comparison(path, op, value)

    def name(self, expected: str) -> str:
        match = _NAME_RE.match(self.text, self.pos)
        if match is None or not is_name(match.group()):
            if self.peek() == "!":
                self.fail(f"{expected} (negation '!' is not part of the NGSI-LD query language)")
            self.fail(expected)
        self.pos = match.end()
        return match.group()

    def attr_path(self) -> AttrPath:
        attr = self.name("an attribute name or '('")
        subs: list[str] = []
        while self.peek() == ".":
            self.pos += 1
            subs.append(self.name("a sub-attribute name after '.'"))
        keys: list[str] = []
        while self.peek() == "[":
            self.pos += 1
            while True:
                match = _KEY_RE.match(self.text, self.pos)
                if match is None:
                    self.fail("a member name inside '[...]'")
                keys.append(match.group())
                self.pos = match.end()
                if self.peek() != ".":
                    break
                self.pos += 1
            if self.peek() != "]":
                self.fail("'.' or ']'")
            self.pos += 1
        if self.peek() == "{":
            self.fail("an operator (linked-entity paths 'a{b}' are not supported)")
        return AttrPath(attr, tuple(subs), tuple(keys))

    def value(self, op: str, op_pos: int) -> object:
        items = [self.item()]
        while self.peek() == ",":
            self.pos += 1
            items.append(self.item())
        if len(items) > 1:
            for item, at in items:
                if isinstance(item, Range):
                    self.fail("a single value in a value list, not a range", at)
        value = items[0][0] if len(items) == 1 else tuple(item for item, _ in items)
        if op in ORDERING_OPS and isinstance(value, tuple | Range | bool):
            self.fail(f"a single number, string, date or time after '{op}'", op_pos + len(op))
        return value

    def item(self) -> tuple[object, int]:
        start = self.pos
        low = self.scalar()
        if not self.text.startswith("..", self.pos):
            return low, start
        self.pos += 2
        if self.peek() in (*END, ","):
            self.fail("the upper bound of the range")
        high = self.scalar()
        if isinstance(low, bool) or isinstance(high, bool):
            self.fail("range bounds that are numbers, strings, dates or times", start)
        if isinstance(low, str) != isinstance(high, str):
            self.fail("range bounds of the same type", start)
        return Range(low, high), start

    def scalar(self) -> object:
        if self.peek() == '"':
            return self.string()
        if self.text.startswith("..", self.pos):
            self.fail("the lower bound of the range")
        match = _SCALAR_RE.match(self.text, self.pos)
        if match is None:
            if self.peek() in (*END, ","):
                self.fail("a value")
            end = _TOKEN_RE.match(self.text, self.pos).end()
            if self.text[end : end + 1].isspace():  # point at the space, not the token
                self.fail("',', ';', '|', ')' or end of text", end)
            self.fail("a value: number, quoted string, true, false, date, time or URI")
        kind, text, at = match.lastgroup, match.group(), self.pos
        self.pos = match.end()
        if kind == "bool":
            return text == "true"
        if kind != "num":
            return text
        try:
            number = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:  # ints beyond Python's digit limit
            self.fail("a number of reasonable size", at)
        if not math.isfinite(number):
            self.fail("a finite number", at)
        return number

    def string(self) -> str:
        match = _STRING_RE.match(self.text, self.pos)
        if match is None:
            self.fail("a closed JSON string (unterminated, or a raw control character)")
        try:
            text = json.loads(match.group())
        except ValueError:
            self.fail("a JSON string with valid escapes")
        self.pos = match.end()
        return text

    def regex(self) -> str:
        start = self.pos
        pattern = self.string() if self.peek() == '"' else self.raw_regex()
        if not pattern:
            self.fail("a regular expression", start)
        try:
            compile_regex(pattern)
        except (re.error, RecursionError, OverflowError, ValueError) as exc:
            raise BadRequestData(
                f"Invalid q at position {start}: bad regular expression ({exc})"
            ) from None
        return pattern

    def raw_regex(self) -> str:
        """Scan an unquoted regex up to a ``;``/``|``/``)`` outside its groups and classes."""
        text, i, depth, class_start = self.text, self.pos, 0, -1
        while i < len(text):
            c = text[i]
            if c == "\\":
                i += 2
                continue
            if class_start >= 0:
                if c == "]" and i > class_start:  # "]" first in a class is a literal
                    class_start = -1
            elif c == "[":
                class_start = i + 1 + (text[i + 1 : i + 2] == "^")
            elif c == "(":
                depth += 1
            elif depth == 0 and c in ");|":
                break
            elif c == ")":
                depth -= 1
            i += 1
        start, self.pos = self.pos, min(i, len(text))
        return text[start : self.pos]


def check_text(text: object, label: str) -> str:
    """Reject what is not a non-empty string of at most MAX_QUERY_LENGTH characters."""
    if not isinstance(text, str):
        raise BadRequestData(f"Invalid {label}: expected a string")
    if not text:
        raise BadRequestData(f"Invalid {label}: it is empty")
    if len(text) > MAX_QUERY_LENGTH:
        raise BadRequestData(f"Invalid {label}: longer than {MAX_QUERY_LENGTH} characters")
    return text


def parse_q(text: str) -> Query:
    """Parse a ``q`` parameter; raise BadRequestData naming the position and what was expected.

    Results are cached: the AST is immutable, so sharing it between requests is safe.
    """
    return _parse_q(check_text(text, "q"))


@lru_cache(maxsize=2048)
def _parse_q(text: str) -> Query:
    return _QParser(text, "q").parse()


def __getattr__(name: str) -> object:
    # qlang_eval imports the AST from here; loading it lazily (PEP 562) avoids a circular
    # import whichever module comes first. Only names not defined here reach this hook.
    if name in __all__:
        from hyperville.ngsild import qlang_eval

        return getattr(qlang_eval, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
