"""The local server's store: one SQLite file under both API generations' modules.

:mod:`.app` (2023: Experiment Data) and :mod:`.current` (the current generation: Data
Acquisition, sessions) both build on this module and on nothing of each other's. It holds
what they share: the connection and its lock, the tables, the related models as JSON
bodies with an owner and a public flag, the records of each generation in insertion order,
visibility per portal (:class:`Ctx`), and the Django-style queries (filters, sort, paging,
``include[]``) that run in Python over the visible records, which keeps the lookup
semantics in one small place (:func:`_matches`) and costs nothing at the sizes a test or a
demo stores. One connection guarded by a lock serialises every request; a local test
server needs correctness more than throughput.
"""

from __future__ import annotations

import json
import operator
import re
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

__all__ = ["MAX_PAGE", "RECORD_TABLES", "Ctx", "HttpError", "Response", "Store",
           "field_errors", "public"]

MAX_PAGE = 100
#: Kind of record (as ``include[]`` names it) -> the table holding that generation's records.
RECORD_TABLES: dict[str, str] = {"experimentdata": "experiment_data",
                                 "dataacquisition": "data_acquisition"}
_INTERNAL = frozenset({"owner", "members", "viewers"})
_LOOKUPS = frozenset({"exact", "iexact", "contains", "icontains", "startswith", "istartswith",
                      "endswith", "iendswith", "in", "gt", "gte", "lt", "lte", "isnull"})
# A dotted path of plain keys, safe to hand to SQLite's json_extract.
_JSON_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# Paths whose value every stored record holds as a string, looked up by expression indexes.
_STRING_PATHS = frozenset({"type", "type_json.fileName", "details.fileName"})
_ALL: set[str] = {"\x00any"}  # "no filter on this column" (compared by identity)
_COMPARE = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


@dataclass
class Response:
    """What the HTTP layer sends: a status, a JSON body (None: no body; a str: sent as it
    is, of ``content_type``), headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class HttpError(Exception):
    """Raised inside the app to answer an error status at once."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.response = Response(status, body, headers or {})



class Store:
    """The SQLite file both API generations keep their data in.

    Callers hold :attr:`lock` around every use of :attr:`db` (one connection serialises
    every request).
    """

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self.lock = threading.Lock()
        self.db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        # WAL with synchronous=NORMAL: durable across a crash of this process, without an
        # fsync per request (a test run creates hundreds of records).
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        with self.lock:
            self._create_tables()

    def close(self) -> None:
        """Close the database connection."""
        with self.lock:
            self.db.close()

    def _create_tables(self) -> None:
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS users (
                id TEXT PRIMARY KEY, username TEXT UNIQUE NOT NULL, password TEXT NOT NULL,
                token TEXT UNIQUE NOT NULL, is_staff INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS objects (
                kind TEXT NOT NULL, id TEXT NOT NULL, owner TEXT, is_public INTEGER NOT NULL,
                body TEXT NOT NULL, PRIMARY KEY (kind, id));
            CREATE TABLE IF NOT EXISTS experiment_data (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
                dataset TEXT NOT NULL, body TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS experiment_data_dataset ON experiment_data (dataset);
            CREATE INDEX IF NOT EXISTS experiment_data_file ON experiment_data
                (dataset, json_extract(body, '$.type_json.fileName'));
            CREATE TABLE IF NOT EXISTS pats (
                token TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_name TEXT,
                created REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS data_acquisition (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
                session TEXT NOT NULL, body TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS data_acquisition_session ON data_acquisition (session);
            CREATE INDEX IF NOT EXISTS data_acquisition_file ON data_acquisition
                (session, json_extract(body, '$.details.fileName'));
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """)

    def page(self, envelope: str, items: list[dict], query: list[tuple[str, str]], *,
              allowed: set[str] | None = None,
              includes: Mapping[str, str | None] | None = None) -> Response:
        """One page of ``items`` after the query's filters and sort, with ``count``.

        ``allowed``: the fields a filter or sort may name (None: any public one);
        ``includes``: the fields ``include[]`` may embed -> the kind of object they name
        (None: a read-only list this server does not model, left as it is).
        """
        filters, sort, include, limit, offset = _parse_query(query, includes or {})
        for path, lookup, value in filters:
            _check_field(path, allowed, "filter")
            items = [it for it in items if _matches(_get(it, path), lookup, value)]
        for key in reversed(sort):
            desc = key.startswith("-")
            path = key.lstrip("-")
            _check_field(path, allowed, "sort")
            items.sort(key=partial(_sort_by, path), reverse=desc)
        count = len(items)
        page = items[offset:offset + limit]
        if include:
            page = [self._embed(r, include, includes or {}) for r in page]
        return Response(200, {envelope: page, "count": count})

    def _embed(self, record: dict, include: list[str],
               kinds: Mapping[str, str | None]) -> dict:
        out = dict(record)
        for name in include:
            kind, value = kinds[name], record.get(name)
            if kind is None or value is None:
                continue
            if isinstance(value, list):
                out[name] = [self._embedded(kind, v) for v in value]
            else:
                out[name] = self._embedded(kind, value)
        return out

    def _embedded(self, kind: str, ref: Any) -> Any:
        """The object ``ref`` names, as the API shows it; the id itself if there is none."""
        if not isinstance(ref, str):
            return ref
        if kind in RECORD_TABLES:  # records live in their own table
            return self.record(RECORD_TABLES[kind], ref) or ref
        obj = self.object(kind, ref)
        return public(obj) if obj else ref

    def objects(self, kind: str) -> list[dict]:
        rows = self.db.execute("SELECT owner, is_public, body FROM objects WHERE kind = ? "
                                "ORDER BY rowid", (kind,)).fetchall()
        return [_row_object(r) for r in rows]

    def object(self, kind: str, id: str) -> dict | None:
        row = self.db.execute("SELECT owner, is_public, body FROM objects "
                               "WHERE kind = ? AND id = ?", (kind, id)).fetchone()
        return _row_object(row) if row else None

    def list_records(self, table: str, column: str, blob: str, envelope: str,
              query: list[tuple[str, str]], visible: set[str], *, allowed: set[str],
              includes: Mapping[str, str | None]) -> Response:
        """A list of the records of ``table`` whose ``column`` (dataset, session) is visible.

        A page of one dataset in insertion order (``filter{dataset}=...&limit=&offset=``,
        how a client reads a whole dataset) is counted and cut by SQLite, so reading a
        10,000-record dataset does not parse it once per page; anything else is filtered
        by :meth:`page` over the rows :meth:`rows` narrows down.
        """
        wanted = _column_filter(query, column)
        if wanted is None:
            items = [r for r in self.rows(table, column, blob, query) if r[column] in visible]
            return self.page(envelope, items, query, allowed=allowed, includes=includes)
        _, _, include, limit, offset = _parse_query(query, includes)
        ids = sorted(visible if wanted is _ALL else visible & wanted)
        marks = ", ".join("?" * len(ids))
        where = f"FROM {table} WHERE {column} IN ({marks})"
        count = self.db.execute(f"SELECT COUNT(*) {where}", ids).fetchone()[0]
        rows = self.db.execute(f"SELECT body {where} ORDER BY seq LIMIT ? OFFSET ?",
                                [*ids, limit, offset]).fetchall()
        page = [json.loads(r["body"]) for r in rows]
        if include:
            page = [self._embed(r, include, includes) for r in page]
        return Response(200, {envelope: page, "count": int(count)})

    def rows(self, table: str, column: str, blob: str,
              query: list[tuple[str, str]]) -> list[dict]:
        """The records of ``table`` in insertion order, pre-filtered in SQL.

        A session's recovery looks (``filter{dataset}=...&filter{type_json.fileName}=...``)
        must not parse every record of a 10,000-record dataset: exact filters on the
        indexed ``column`` and on string values inside ``blob`` are applied by SQLite first.
        The SQL keeps a superset (a non-string value is left to :func:`_matches`), and the
        query's filters still run on what it returns, so the answer is the same.
        """
        where, args = _sql_prefilter(query, column, blob)
        sql = f"SELECT body FROM {table}{where} ORDER BY seq"
        return [json.loads(r["body"]) for r in self.db.execute(sql, args).fetchall()]

    def record(self, table: str, id: str) -> dict | None:
        """One record of ``table`` (:data:`RECORD_TABLES`) as stored, or None."""
        row = self.db.execute(f"SELECT body FROM {table} WHERE id = ?", (id,)).fetchone()
        return json.loads(row["body"]) if row else None


@dataclass(frozen=True)
class Ctx:
    """Who asks (a user row, or None: anonymous) and through which portal."""

    portal: str
    user: sqlite3.Row | None

    def can_see(self, obj: Mapping[str, Any], *, related: bool = False) -> bool:
        """Datasets: own or shared (private), published (public), all (super).

        ``related``: actions and devices named in a record may also be public ones.
        """
        if self.portal == "super":
            return True
        if self.portal == "public":
            return bool(obj["_public"])
        uid = self.user["id"] if self.user is not None else None
        mine = (obj["_owner"] == uid or uid in obj.get("members", ())
                or uid in obj.get("viewers", ()))
        return mine or (related and bool(obj["_public"]))

    def can_change(self, obj: Mapping[str, Any]) -> bool:
        """Owner or member (not a mere viewer), on the private or super portal."""
        if self.portal == "super":
            return True
        if self.portal != "private" or self.user is None:
            return False
        uid = self.user["id"]
        return obj["_owner"] == uid or uid in obj.get("members", ())



def _row_object(row: sqlite3.Row) -> dict:
    obj = json.loads(row["body"])
    obj["_owner"] = row["owner"]
    obj["_public"] = bool(row["is_public"])
    return obj


def public(obj: Mapping[str, Any]) -> dict:
    """An object as the API shows it: without the store's owner, flags and roles."""
    return {k: v for k, v in obj.items() if not k.startswith("_") and k not in _INTERNAL}


def _parse_query(query: list[tuple[str, str]], includes: Mapping[str, str | None]
                 ) -> tuple[list[tuple[str, str, str]], list[str], list[str], int, int]:
    filters: list[tuple[str, str, str]] = []
    sort: list[str] = []
    include: list[str] = []
    limit, offset = MAX_PAGE, 0
    for key, value in query:
        if key.startswith("filter{") and key.endswith("}"):
            spec = key[len("filter{"):-1]
            path, _, lookup = spec.rpartition(".")
            if lookup not in _LOOKUPS:
                path, lookup = spec, "exact"
            filters.append((path, lookup, value))
        elif key == "sort[]":
            sort.append(value)
        elif key == "include[]":
            name = value.removesuffix(".*")
            if name not in includes:
                raise HttpError(400, {"detail": f"Invalid include: {value}"})
            include.append(name)
        elif key in ("limit", "offset"):
            try:
                number = int(value)
            except ValueError:
                raise HttpError(400, {"detail": f"{key} must be a whole number"}) from None
            if number < 0:
                raise HttpError(400, {"detail": f"{key} must not be negative"})
            if key == "limit":
                limit = min(max(number, 1), MAX_PAGE)
            else:
                offset = number
    return filters, sort, include, limit, offset


def _filter_spec(key: str) -> tuple[str, str] | None:
    """(path, lookup) of a ``filter{...}`` query key, as :func:`_parse_query` reads it."""
    if not (key.startswith("filter{") and key.endswith("}")):
        return None
    spec = key[len("filter{"):-1]
    path, _, lookup = spec.rpartition(".")
    return (path, lookup) if lookup in _LOOKUPS else (spec, "exact")


def _column_filter(query: list[tuple[str, str]], column: str) -> set[str] | None:
    """The values a query's filters allow in ``column`` (:data:`_ALL`: any), when those
    filters are all it asks besides paging and includes; else None."""
    wanted: set[str] = _ALL
    for key, value in query:
        if key == "sort[]":
            return None
        spec = _filter_spec(key)
        if spec is None:
            continue
        path, lookup = spec
        if path not in (column, f"{column}.id") or lookup not in ("exact", "in"):
            return None
        values = set(value.split(",")) if lookup == "in" else {value}
        wanted = values if wanted is _ALL else values & wanted
    return wanted


def _sql_prefilter(query: list[tuple[str, str]], column: str,
                   blob: str) -> tuple[str, list[str]]:
    """A WHERE clause keeping every row that the query's exact filters could match.

    ``column`` is compared as it is; a path of plain keys inside the record (``type``,
    ``type_json.fileName``) by ``json_extract`` where its value is a string, while rows
    where it is a number, list or object are kept for :func:`_matches` to judge.
    """
    clauses: list[str] = []
    args: list[str] = []
    for key, value in query:
        spec = _filter_spec(key)
        if spec is None or spec[1] not in ("exact", "in"):
            continue
        path, lookup = spec
        values = value.split(",") if lookup == "in" else [value]
        marks = ", ".join("?" * len(values))
        if path in (column, f"{column}.id"):
            clauses.append(f"{column} IN ({marks})")
            args += values
        elif path in _STRING_PATHS:
            # Always a string (both schemas say so), so compared exactly, by the path
            # written out: the form the expression indexes on these paths can serve.
            clauses.append(f"json_extract(body, '$.{path}') IN ({marks})")
            args += values
        elif _JSON_KEY.match(path) and not path.startswith(f"{column}."):
            json_path = "$." + path
            clauses.append(f"(json_extract(body, ?) IN ({marks}) OR json_type(body, ?) "
                           "NOT IN ('text', 'null'))")
            args += [json_path, *values, json_path]
    return (" WHERE " + " AND ".join(clauses), args) if clauses else ("", [])


def _check_field(path: str, allowed: set[str] | None, what: str) -> None:
    head = path.split(".", 1)[0]
    if (not head or head.startswith("_") or head in _INTERNAL
            or (allowed is not None and head not in allowed)):
        raise HttpError(400, {"detail": f'Invalid {what} field: "{path}"'})


def _get(item: Mapping[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif part == "id" and isinstance(value, str):
            pass  # a reference is its id: filter{session.id}= as filter{session}=
        elif part == "id" and isinstance(value, list):
            value = [v.get("id") if isinstance(v, Mapping) else v for v in value]
        else:
            return None
    return value


def _matches(value: Any, lookup: str, query: str) -> bool:
    if isinstance(value, list):  # a to-many field matches when any member does
        return any(_matches(v, lookup, query) for v in value)
    if lookup == "isnull":
        return (value is None) == (query.lower() in ("true", "1"))
    if value is None:
        return False
    if lookup == "in":
        return any(_equal(value, q) for q in query.split(","))
    if lookup == "exact":
        return _equal(value, query)
    if lookup in _COMPARE:
        compare = _COMPARE[lookup]
        if isinstance(value, str):
            return bool(compare(value, query))
        try:
            return bool(compare(float(value), float(query)))
        except (TypeError, ValueError):
            return False
    text, q = str(value), query
    if lookup.startswith("i"):
        text, q, lookup = text.casefold(), q.casefold(), lookup[1:]
    return {"exact": text == q, "contains": q in text, "startswith": text.startswith(q),
            "endswith": text.endswith(q)}[lookup]


def _equal(value: Any, query: str) -> bool:
    if isinstance(value, bool):
        return query.lower() == ("true" if value else "false")
    if isinstance(value, int | float):
        try:
            return float(value) == float(query)
        except ValueError:
            return False
    return str(value) == query


def _sort_by(path: str, item: Mapping[str, Any]) -> tuple[int, Any]:
    return _sort_key(_get(item, path))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool | int | float):
        return (1, float(value))
    return (2, str(value))


def field_errors(problems: list[str]) -> dict[str, list[str]]:
    """``"type_json.nChannels: msg"`` -> ``{"type_json": ["nChannels: msg"]}``."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        where, _, message = problem.partition(": ")
        head, _, rest = where.partition(".")
        errors.setdefault(head, []).append(f"{rest}: {message}" if rest else message)
    return errors
