"""Reading the server's answers: records out of their envelopes, error bodies for messages.

Records are taken from whichever envelope key holds them (``data_acquisitions`` /
``data_acquisition``, and the older ``dataacquisition`` for both). An HTML error page (a
proxy's) is summarised by its title, never pasted; any echo of the token is masked
before a body is quoted.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import httpx

from ..errors import BadAnswer
from ..recordtypes import is_uuid

__all__ = ["ENVELOPES", "Params", "Records", "fields", "summary", "unwrap", "whole"]

# Aliases, because the method BrainstemClient.list shadows the builtin inside the class.
Params = list[tuple[str, str]]
Records = list[dict[str, Any]]

#: ``app/model`` -> (keys of one record, keys of a list), the current spelling first.
ENVELOPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "modules/experimentdata": (("experiment_data",), ("experiment_data",)),
    "stem/dataset": (("dataset",), ("datasets",)),
    "modules/action": (("action",), ("actions",)),
    "resources/hardwaredevice": (("hardware_device", "hardwaredevice"),
                                 ("hardware_devices", "hardwaredevice")),
    # Earlier deployments of the current generation used "dataacquisition" for both.
    "modules/dataacquisition": (("data_acquisition", "dataacquisition"),
                                ("data_acquisitions", "dataacquisition")),
    "stem/session": (("session",), ("sessions",)),
    "stem/project": (("project",), ("projects",)),
    "modules/procedure": (("procedure",), ("procedures",)),
    "modules/equipment": (("equipment",), ("equipment", "equipments")),
}

_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


def unwrap(body: Any, path: str, *, many: bool, method: str = "GET", url: str = "",
           status: int = 200, mask: Callable[[str], str] = str) -> Any:
    """The records inside an envelope: a known key first, else the one list/object.

    Every record must be an object with a UUID ``id`` (the contract's): one without is
    not something bsingest can compare, journal or address later, so an answer holding
    one is a :class:`BadAnswer` naming the request (``method``, ``url``, ``status``);
    ``mask`` hides the token in what it quotes of the body.
    """
    def bad(reason: str) -> BadAnswer:
        return BadAnswer(method, url or path, status, mask(reason))

    if not isinstance(body, dict):
        wanted_text = "the records in an envelope" if many else "a record"
        raise bad(f"expected {wanted_text} (a JSON object), got {_kind(body)}: "
                  f"{str(body)[:200]}")
    ones, lots = ENVELOPES.get(path, ((), ()))
    wanted = list if many else dict
    found: Any = None
    for key in lots if many else ones:
        if isinstance(body.get(key), wanted):
            found = body[key]
            break
    else:
        candidates = [v for k, v in body.items() if isinstance(v, wanted) and k != "meta"]
        if len(candidates) == 1:
            found = candidates[0]
        elif not many and "id" in body:
            found = body  # a bare record
        else:
            raise bad(f"cannot find the {'records' if many else 'record'} in keys "
                      f"{sorted(map(str, body))[:20]}")
    for i, record in enumerate(found if many else [found]):
        which = f"record {i + 1} of {len(found)}" if many else "the record"
        if not isinstance(record, dict):
            raise bad(f"{which} is {_kind(record)}, not an object")
        rid = record.get("id")
        if "id" not in record:
            raise bad(f"{which} has no id")
        if not is_uuid(rid):
            shown = repr(rid)[:80] if isinstance(rid, str | int | float) else _kind(rid)
            raise bad(f"{which} has id {shown}, not a UUID")
    return found


def _kind(value: Any) -> str:
    """What a JSON value is, for a message."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def summary(resp: httpx.Response, mask: Callable[[str], str]) -> str:
    """A response body for a message: an HTML page by its title, anything else masked."""
    text = resp.text
    kind = resp.headers.get("content-type", "").lower()
    if "html" in kind or text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        found = _TITLE.search(text[:65536])
        title = " ".join(html.unescape(found.group(1)).split())[:120] if found else ""
        return mask(f"an HTML page titled {title!r}" if title else "an HTML page")
    return mask(text)


def fields(resp: httpx.Response) -> dict[str, list[str]]:
    """The fields a 400 answer complains about, each with its messages."""
    try:
        body = resp.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {"detail": [str(body)]}
    return {str(k): [str(m) for m in v] if isinstance(v, list) else [str(v)]
            for k, v in body.items()}


def whole(records: Records, count: int) -> bool:
    """Whether paged ``records`` are all ``count`` of them, none seen twice.

    Offset paging over a listing that changes between pages skips or repeats records: a
    deletion before the offset moves one record up into a page already read (fewer
    distinct ids than ``count``), an insertion moves one down into the next page (an id
    seen twice). Records added at the end, as a listing in creation order receives them,
    disturb nothing.
    """
    ids = [r.get("id") for r in records if isinstance(r, dict)]
    if len(ids) != len(records) or None in ids:
        return True  # nothing to tell them apart by
    return len(set(ids)) == len(ids) >= count
