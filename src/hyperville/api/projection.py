"""The ``pick`` / ``omit`` projection language (ETSI GS CIM 009 v1.8, 4.21).

A projection is a list of entity members, each optionally followed by a brace-enclosed
projection applied to the entities it links to (with ``join``)::

    ProjectionList      = ProjectionAttribute *( ("," / "|") ProjectionAttribute )
    ProjectionAttribute = AttrName [ "{" ProjectionList "}" ]

``pick=id,locatedAt{id,name}`` keeps ``id`` and ``locatedAt`` of the entity, and ``id`` and
``name`` of the entity ``locatedAt`` points to. With ``omit``, ``locatedAt{name}`` keeps
``locatedAt`` and omits ``name`` from the linked entity; a bare name is omitted.

:func:`parse_projection` returns a :class:`Projection`: a mapping of member keys (``id``,
``type``, ``scope`` as such, other names expanded to IRIs) to the nested projection of
the linked entities, or None when the member has no braces.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hyperville.core.errors import BadRequestData

Projection = dict[str, "Projection | None"]
"""Member key (``id``, ``type``, ``scope`` or an attribute IRI) -> nested projection or None."""

CORE_MEMBERS = frozenset(("id", "type", "scope"))
_TOKEN = re.compile(r"\s*([{}|,]|[^{}|,\s]+)")
_NAME = re.compile(r"^[A-Za-z0-9_@$][A-Za-z0-9_\-.:/#@$~%]*$")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:  # only trailing whitespace can fail to match
            break
        out.append(match.group(1))
        position = match.end()
    return out


def parse_projection(text: str, what: str, expand: Callable[[str], str]) -> Projection:
    """Parse a ``pick``/``omit`` value; syntax errors raise BadRequestData."""
    tokens = _tokens(text)
    position = 0

    def error(message: str) -> BadRequestData:
        return BadRequestData(f"invalid {what} expression {text!r}: {message}")

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def name_of(token: str | None) -> str:
        if token is None or token in "{},|":
            raise error(f"an attribute name is expected, not {token or 'the end'!r}")
        if not _NAME.match(token):
            raise error(f"{token!r} is not a valid attribute name")
        return token if token in CORE_MEMBERS else expand(token)

    def projection_list() -> Projection:
        nonlocal position
        out: Projection = {}
        while True:
            key = name_of(peek())
            position += 1
            nested = None
            if peek() == "{":
                position += 1
                nested = projection_list()
                if peek() != "}":
                    raise error("a '{' is not closed")
                position += 1
            out[key] = _merge(out.get(key), nested) if key in out else nested
            if peek() in (",", "|"):
                position += 1
                continue
            return out

    if not tokens:
        raise error("it is empty")
    result = projection_list()
    if peek() is not None:
        raise error(f"unexpected {peek()!r}")
    return result


def _merge(a: Projection | None, b: Projection | None) -> Projection | None:
    if a is None or b is None:
        return a if b is None else b
    merged = dict(a)
    for key, value in b.items():
        merged[key] = _merge(merged.get(key), value) if key in merged else value
    return merged


def top_level(projection: Projection | None) -> frozenset[str] | None:
    """The member keys of a projection's first level (what the codec filters on)."""
    return None if projection is None else frozenset(projection)


def omitted(projection: Projection | None) -> frozenset[str] | None:
    """The members an ``omit`` projection removes: those without braces (``locatedAt{name}``
    keeps ``locatedAt`` and omits ``name`` of the linked entity)."""
    if projection is None:
        return None
    return frozenset(key for key, nested in projection.items() if nested is None)
