"""Operations on parsed ``q`` trees, and the scopeQ language (clause 4.19).

``evaluate`` works on expanded entities (docs/internals.md) once names are resolved. It
follows CIM 009 clause 4.9: the target of a path is the value member of the attribute type
(``value``, ``object``, ``languageMap`` values, ``valueList``, ``objectList`` objects,
``json``, ``vocab``); any instance (datasetId) and any array element may match; values of
different types never match (``!=`` then holds); datetimes compare as instants; a
Relationship or ListRelationship target only supports ``==`` and ``!=``.

scopeQ follows clause 4.19 with the same leniency as ``q``: ``;`` may be used without
parentheses (AND binds tighter than OR) and the leading ``/`` of a scope is optional
(example 5 writes ``CompanyB``; clause 4.18 makes it optional in scopes too).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache

from hyperville.core.attributes import VALUE_KEYS as ATTRIBUTE_VALUE_KEYS
from hyperville.ngsild.qlang import (
    DATETIME_RE,
    END,
    NAME,
    RESERVED_NAMES,
    And,
    AttrPath,
    Comparison,
    Exists,
    Or,
    Parser,
    Query,
    Range,
    ScopeMatch,
    ScopeQuery,
    check_text,
    compile_regex,
    is_name,
)

_VALUE_KEYS = ATTRIBUTE_VALUE_KEYS
_RELATIONSHIPS = frozenset({"Relationship", "ListRelationship"})
_ENTITY_MEMBERS = frozenset({"createdAt", "modifiedAt"})
_MISSING = object()


# --- rendering and tree walks -------------------------------------------------------------


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _value_text(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(_scalar_text(v) for v in value)
    if isinstance(value, Range):
        return f"{_scalar_text(value.low)}..{_scalar_text(value.high)}"
    return _scalar_text(value)


def to_text(query: Query | ScopeQuery) -> str:
    """Render an AST as canonical text that parses back to an equal AST."""
    if isinstance(query, And | Or):
        # A nested group keeps its parentheses unless precedence already implies them
        # (an AND inside an OR), so parsing gives back the same tree shape.
        sep, grouped = (";", (And, Or)) if isinstance(query, And) else ("|", (Or,))
        return sep.join(
            f"({to_text(t)})" if isinstance(t, grouped) else to_text(t) for t in query.terms
        )
    if isinstance(query, ScopeMatch):
        return query.pattern
    path = query.path
    text = ".".join((path.attr, *path.sub_attrs))
    if path.compound:
        text += "[" + ".".join(path.compound) + "]"
    if isinstance(query, Exists):
        return text
    return text + query.op + _value_text(query.value)


def resolve_names(query: Query, expand: Callable[[str], str]) -> Query:
    """Replace attribute and sub-attribute terms by ``expand(term)``, except reserved names.

    Compound-value keys are JSON member names and are never expanded; values are left as
    they are (``expandValues`` is the caller's business).
    """
    if isinstance(query, And | Or):
        return type(query)(tuple(resolve_names(t, expand) for t in query.terms))
    if isinstance(query, ScopeMatch):
        return query

    def one(name: str) -> str:
        return name if name in RESERVED_NAMES else expand(name)

    path = query.path
    resolved = AttrPath(one(path.attr), tuple(one(s) for s in path.sub_attrs), path.compound)
    return replace(query, path=resolved)


def attr_names(query: Query) -> set[str]:
    """Every top-level attribute name the query references."""
    if isinstance(query, And | Or):
        return set().union(*(attr_names(t) for t in query.terms))
    if isinstance(query, ScopeMatch):
        return set()
    return {query.path.attr}


# --- q evaluation ---------------------------------------------------------------------------


class _Member:
    """A reserved member reached by a path (``temperature.observedAt``, entity createdAt)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


def _dicts(value: object) -> list[dict]:
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _reach(entity: dict, path: AttrPath) -> Iterator[dict | _Member]:
    """Yield every attribute / sub-attribute instance the path names, or reserved member."""
    if path.attr in _ENTITY_MEMBERS:
        if not path.sub_attrs and path.attr in entity:
            yield _Member(entity[path.attr])
        return
    attrs = entity.get("attrs")
    nodes = _dicts(attrs.get(path.attr)) if isinstance(attrs, dict) else []
    for i, name in enumerate(path.sub_attrs):
        if name in RESERVED_NAMES:
            # A reserved member ends the path: it has no sub-attributes of its own.
            if i == len(path.sub_attrs) - 1:
                yield from (_Member(n[name]) for n in nodes if name in n)
            return
        nodes = [sub for node in nodes for sub in _dicts(node.get(name))]
    yield from nodes


def _walk(value: object, keys: tuple[str, ...]) -> object:
    """Evaluate ``value[k1][k2]...`` like an ECMAScript member expression."""
    for key in keys:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isascii() and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return _MISSING
    return value


def _targets(entity: dict, path: AttrPath) -> Iterator[tuple[object, bool]]:
    """Yield ``(target value, is a relationship)`` for every instance the path reaches."""
    for end in _reach(entity, path):
        if isinstance(end, _Member):
            if not path.compound:
                yield end.value, False
            continue
        kind = end.get("type", "Property")
        key = _VALUE_KEYS.get(kind, "value")
        if key not in end:
            continue
        value = end[key]
        if kind == "LanguageProperty":
            # The compound part of a LanguageProperty path picks a language ("*": any).
            if not isinstance(value, dict) or len(path.compound) > 1:
                continue
            lang = path.compound[0] if path.compound else "*"
            yield from ((v, False) for k, v in value.items() if lang in ("*", k))
            continue
        if kind == "ListRelationship" and isinstance(value, list):
            value = [o.get("object") if isinstance(o, dict) else o for o in value]
        if path.compound:
            value = _walk(value, path.compound)
            if value is _MISSING:
                continue
        yield value, kind in _RELATIONSHIPS


@lru_cache(maxsize=4096)
def _instant(text: str) -> datetime | None:
    """The instant a DateTime string denotes (naive means UTC), or None if it is not one."""
    if not DATETIME_RE.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _order(a: object, b: object) -> int | None:
    """-1, 0 or 1 comparing ``a`` to ``b``; None when the types are not comparable."""
    if isinstance(a, bool) or isinstance(b, bool):
        return None
    if isinstance(a, int | float) and isinstance(b, int | float):
        if isinstance(a, float) and math.isnan(a):
            return None
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        ia, ib = _instant(a), _instant(b)
        if ia is not None and ib is not None:
            return (ia > ib) - (ia < ib)
        return (a > b) - (a < b)  # dates, times: ISO 8601 sorts lexicographically
    return None


def _equal(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return _order(a, b) == 0


def _matches(element: object, expected: object) -> bool:
    """Whether one target element equals the ``==`` value: scalar, any-of list or range."""
    if isinstance(expected, tuple):
        return any(_equal(element, v) for v in expected)
    if isinstance(expected, Range):
        low, high = _order(element, expected.low), _order(element, expected.high)
        return low is not None and high is not None and low >= 0 and high <= 0
    return _equal(element, expected)


_ORDERINGS = {">": (1,), ">=": (0, 1), "<": (-1,), "<=": (-1, 0)}


def _compare(query: Comparison, entity: dict) -> bool:
    op, expected = query.op, query.value
    for target, is_relationship in _targets(entity, query.path):
        if is_relationship and op not in ("==", "!="):
            continue
        elements = target if isinstance(target, list) else [target]
        if op == "==":
            hit = any(_matches(e, expected) for e in elements)
        elif op == "!=":
            hit = not any(_matches(e, expected) for e in elements)
        elif op in ("~=", "!~="):
            regex = compile_regex(expected)
            strings = [e for e in elements if isinstance(e, str)]
            found = any(regex.search(s) for s in strings)
            # Non-string targets never match either way (clause 4.9).
            hit = found if op == "~=" else bool(strings) and not found
        else:
            hit = any(_order(e, expected) in _ORDERINGS[op] for e in elements)
        if hit:
            return True
    return False


def evaluate(query: Query, entity: dict) -> bool:
    """Whether an expanded entity matches a resolved ``q`` AST."""
    if isinstance(query, And):
        return all(evaluate(t, entity) for t in query.terms)
    if isinstance(query, Or):
        return any(evaluate(t, entity) for t in query.terms)
    if isinstance(query, Exists):
        if query.path.compound:
            return any(True for _ in _targets(entity, query.path))
        return any(True for _ in _reach(entity, query.path))
    return _compare(query, entity)


# --- scopeQ ---------------------------------------------------------------------------------

_SCOPE_LEVEL = rf"(?:{NAME}|\+)"
_SCOPE_RE = re.compile(rf"/?{_SCOPE_LEVEL}(?:/{_SCOPE_LEVEL})*(?:/#)?|/#")


class _ScopeParser(Parser):
    or_ops = ("|", ",")

    def leaf(self) -> ScopeMatch:
        match = _SCOPE_RE.match(self.text, self.pos)
        if match is None or not all(
            level in ("+", "#") or is_name(level) for level in match.group().split("/") if level
        ):
            self.fail("a scope such as /A/B, /A/+/C, /A/# or /#, or '('")
        self.pos = match.end()
        if self.peek() not in (*END, ","):
            self.fail("';', '|', ',', ')' or end of text after the scope")
        pattern = match.group()
        return ScopeMatch(pattern if pattern.startswith("/") else "/" + pattern)


def parse_scope_q(text: str) -> ScopeQuery:
    """Parse a ``scopeQ`` parameter: ``;`` AND, ``|`` or ``,`` OR, parentheses group.

    Raises BadRequestData naming the position and what was expected; results are cached.
    """
    return _parse_scope_q(check_text(text, "scopeQ"))


@lru_cache(maxsize=1024)
def _parse_scope_q(text: str) -> ScopeQuery:
    return _ScopeParser(text, "scopeQ").parse()


@lru_cache(maxsize=4096)
def _levels(scope: str) -> tuple[str, ...]:
    # Clause 4.18 makes the leading "/" optional: "Madrid" and "/Madrid" are one scope.
    return tuple(scope.removeprefix("/").split("/"))


def _scope_fits(pattern: str, scope: str) -> bool:
    want, have = _levels(pattern), _levels(scope)
    if want[-1] == "#":
        want = want[:-1]
        if len(have) < len(want):
            return False
    elif len(have) != len(want):
        return False
    return all(w in ("+", h) for w, h in zip(want, have, strict=False))


def scope_matches(query: ScopeQuery, scopes: list[str]) -> bool:
    """Whether an entity with these scopes matches a parsed ``scopeQ``."""
    if isinstance(query, And):
        return all(scope_matches(t, scopes) for t in query.terms)
    if isinstance(query, Or):
        return any(scope_matches(t, scopes) for t in query.terms)
    if isinstance(scopes, str):
        scopes = [scopes]
    return any(isinstance(s, str) and _scope_fits(query.pattern, s) for s in scopes or ())
