"""A small JSON Schema checker for the subset our shipped schemas use.

Why not jsonschema: importing it costs ~50 ms (more than all of ``bsingest extract`` on a
sidecar file), and our schemas use a handful of keywords. Unknown keywords are refused
when a schema is loaded, so a schema can not silently outgrow this checker; the test suite
compares its verdicts with jsonschema's on generated documents.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["SUPPORTED", "check", "quick_object", "unsupported_keywords"]

#: Keywords this checker understands (annotations included).
SUPPORTED = frozenset({
    "$schema", "$id", "title", "description", "type", "properties", "required",
    "additionalProperties", "items", "minimum", "exclusiveMinimum", "minLength", "enum",
})

_TYPES = {
    "object": lambda v: isinstance(v, Mapping),
    "array": lambda v: isinstance(v, list | tuple),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    # JSON has one number type: 3.0 is an integer, True is not a number.
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def unsupported_keywords(schema: Any) -> set[str]:
    """Keywords in ``schema`` (recursively) that :func:`check` does not implement."""
    found: set[str] = set()
    if isinstance(schema, Mapping):
        found |= set(schema) - SUPPORTED
        for sub in (schema.get("properties") or {}).values():
            found |= unsupported_keywords(sub)
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), Mapping):
                found |= unsupported_keywords(schema[key])
    return found


def check(schema: Mapping[str, Any], value: Any, path: str = "") -> list[str]:
    """Every violation of ``schema`` by ``value``, as ``path: message``."""
    where = path or "(object)"
    expected = schema.get("type")
    if expected is not None and not _TYPES[expected](value):
        return [f"{where}: {value!r} is not of type {expected!r}"]
    kind = type(value)
    if kind is dict and "enum" not in schema:
        return _check_object(schema, value, path)  # what the tests below end in for a dict
    problems: list[str] = []
    if kind is str and "enum" not in schema and "minLength" not in schema:
        return problems  # its type was all a schema can ask of a string without these
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} is not one of {schema['enum']!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where}: {value!r} is less than the minimum of {schema['minimum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            problems.append(
                f"{where}: {value!r} is less than or equal to the minimum of "
                f"{schema['exclusiveMinimum']}")
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        problems.append(f"{where}: {value!r} is shorter than {schema['minLength']} characters")
    if kind is str or kind is int or kind is float or kind is bool:
        return problems  # no ABC checks for the leaves
    if isinstance(value, Mapping):
        problems += _check_object(schema, value, path)
    if isinstance(value, list | tuple) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            problems += check(schema["items"], item, f"{path}.{i}" if path else str(i))
    return problems


_NOTES = frozenset({"description", "title", "$schema", "$id"})  # keywords that check nothing
_EXACT = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,)}


def _passes(schema: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """A test that is True only for values :func:`check` finds no problem with, for the
    plain property schemas most fields have (a type, perhaps a minimum or an enum), and
    arrays of such values or of objects :func:`quick_object` tests (a probe's electrode
    groups: 384 channel numbers); None for any other. False means "ask :func:`check`",
    which says what is wrong. A number that is not finite fails too: no schema keyword
    refuses NaN, the rules beside the schema do (``bsingest.recordtypes``)."""
    asks = set(schema) - _NOTES
    if schema.get("type") == "array":
        return _array_passes(schema) if asks == {"type", "items"} else None
    kinds = _EXACT.get(schema.get("type", ""))
    if kinds is None or not asks <= {"type", "minimum", "exclusiveMinimum", "enum", "minLength"}:
        return None
    low, above = schema.get("minimum"), schema.get("exclusiveMinimum")
    enum = schema.get("enum")
    if enum is not None and not all(isinstance(e, str) for e in enum):
        return None
    # minLength asks only of strings (check() ignores it for other types); most record
    # fields are non-empty strings (fileName, format, type), tested here without a walk.
    shortest = schema.get("minLength")
    if shortest is not None and kinds != (str,):
        return None

    def passes(v: Any) -> bool:
        # type(v), not isinstance: a bool is no integer, a subclass is left to check().
        if type(v) not in kinds:
            return False
        if type(v) is float and not math.isfinite(v):
            return False
        if low is not None and not v >= low:
            return False
        if above is not None and not v > above:
            return False
        if shortest is not None and len(v) < shortest:
            return False
        return enum is None or v in enum

    return passes


def _array_passes(schema: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """:func:`_passes` for ``{"type": "array", "items": ...}``: a list whose every item
    passes the items' own test; None when the items have none."""
    items = schema["items"]
    if not isinstance(items, Mapping):
        return None
    each = quick_object(items) if items.get("type") == "object" else _passes(items)
    if each is None:
        return None
    test = each
    if items.get("type") == "integer" and set(items) - _NOTES <= {"type", "minimum"}:
        low = items.get("minimum")

        def whole(v: Any) -> bool:
            # Channel numbers: one pass in C for their type, one for their least.
            return type(v) is list and (not v or (set(map(type, v)) == {int} and (
                low is None or min(v) >= low)))

        return whole

    def passes(v: Any) -> bool:
        return type(v) is list and all(test(item) for item in v)

    return passes


# Per properties mapping (the schemas are loaded once and kept): key -> quick test.
_QUICK: dict[int, tuple[Mapping[str, Any], dict[str, Callable[[Any], bool] | None]]] = {}


def _quick(props: Mapping[str, Any]) -> dict[str, Callable[[Any], bool] | None]:
    found = _QUICK.get(id(props))
    if found is None or found[0] is not props:
        found = _QUICK[id(props)] = (props, {k: _passes(v) if isinstance(v, Mapping) else None
                                             for k, v in props.items()})
    return found[1]


def _check_object(schema: Mapping[str, Any], value: Mapping[str, Any], path: str) -> list[str]:
    problems: list[str] = []
    props = schema.get("properties") or {}
    quick = _quick(props) if props else {}
    for key in schema.get("required") or ():
        if key not in value:
            problems.append(f"{path or '(object)'}: {key!r} is a required property")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            passes = quick.get(key)
            if passes is not None and passes(item):
                continue
            problems += check(props[key], item, f"{path}.{key}" if path else str(key))
            continue
        if extra is False:
            problems.append(f"{path or '(object)'}: unexpected property {key!r}")
        elif isinstance(extra, Mapping):
            problems += check(extra, item, f"{path}.{key}" if path else str(key))
    return problems


_OBJECT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties"})


def quick_object(schema: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """A test, made once per schema, that is True only for a dict in which :func:`check`
    finds no problem, when each of its values passes its property's plain test (see
    :func:`_passes`); False means "ask :func:`check`", which says what is wrong. None for
    a schema that asks more of an object than its properties' plain tests, its required
    keys and whether other keys may appear."""
    if schema.get("type") != "object" or set(schema) - _NOTES - _OBJECT_KEYWORDS:
        return None
    extra = schema.get("additionalProperties", True)
    if extra is not True and extra is not False:
        return None
    props = schema.get("properties") or {}
    tests = _quick(props) if props else {}
    required = tuple(schema.get("required") or ())
    closed = extra is False

    def passes(value: Any) -> bool:
        if type(value) is not dict:
            return False
        for key in required:
            if key not in value:
                return False
        for key, item in value.items():
            test = tests.get(key)
            if test is None:
                if closed or key in props:  # not allowed, or a schema of its own to walk
                    return False
            elif not test(item):
                return False
        return True

    return passes
