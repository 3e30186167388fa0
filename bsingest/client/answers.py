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

from ..errors import ApiError

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


def unwrap(body: Any, path: str, *, many: bool) -> Any:
    """The records inside an envelope: a known key first, else the one list/object."""
    if not isinstance(body, dict):
        raise ApiError("GET", path, 200, f"unexpected answer: {str(body)[:200]}")
    ones, lots = ENVELOPES.get(path, ((), ()))
    wanted = list if many else dict
    for key in lots if many else ones:
        if isinstance(body.get(key), wanted):
            return body[key]
    candidates = [v for k, v in body.items() if isinstance(v, wanted) and k != "meta"]
    if len(candidates) == 1:
        return candidates[0]
    if not many and "id" in body:
        return body  # a bare record
    raise ApiError("GET", path, 200, f"cannot find the records in keys {sorted(body)}")


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
