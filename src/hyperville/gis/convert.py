"""Field values → NGSI-LD values, by the type a mapping gives them; ids from templates.

Every converter returns the value to store or raises ``ValueError`` with a message for people
(the importer adds the file, layer, row and field). Empty values (None, "", NaN) never reach
them: an empty cell is an absent attribute, a gap for the completeness report.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from urllib.parse import quote

from hyperville.gis.mapping import AttributeMap

_TRUE = frozenset(("true", "t", "1", "yes", "y", "oui", "o", "vrai", "v"))
_FALSE = frozenset(("false", "f", "0", "no", "n", "non", "faux"))
_FR_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_URI_SAFE = "-._~:/?#[]@!$&'()*+,;=%"


def is_empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def text_of(value: object) -> str:
    """A field value as text: 12.0 → "12" (codes read as reals), strings stripped."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def fill(template: str, key: str, value: object) -> str:
    """``template`` with ``{key}`` replaced by the value, percent-encoded where a URI needs it."""
    return template.replace("{" + key + "}", quote(text_of(value), safe=_URI_SAFE))


def _number(value: object) -> float | int:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        number = value
    else:
        text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _integer(value: object, scale: float | None) -> int:
    number = _number(value)
    if scale is not None:
        number *= scale
    if isinstance(number, float):
        if abs(number - round(number)) > 1e-9 * max(1.0, abs(number)):
            raise ValueError(f"{value!r} is not an integer")
        number = round(number)
    return int(number)


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean (true/false, oui/non, 1/0)")


def _datetime(value: object, what: str) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).strip()
    match = _FR_DATE.match(text)
    try:
        if match:
            d, m, y, hh, mm, ss = match.groups()
            return datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a {what} (YYYY-MM-DD or DD/MM/YYYY)") from None


def _utc(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text + "Z"


def convert(value: object, spec: AttributeMap) -> object:
    """The value to store for a non-empty field value."""
    kind = spec.type
    if kind == "auto":
        return value.strip() if isinstance(value, str) else value
    if kind == "string":
        return text_of(value)
    if kind == "number":
        number = _number(value)
        return number * spec.scale if spec.scale is not None else number
    if kind == "integer":
        return _integer(value, spec.scale)
    if kind == "boolean":
        return _boolean(value)
    if kind == "date":
        moment = _datetime(value, "date")
        if moment.time() != datetime.min.time() and not isinstance(value, datetime | date):
            raise ValueError(f"{value!r} is not a date (it has a time of day)")
        return moment.date().isoformat()
    return _utc(_datetime(value, "date-time"))
