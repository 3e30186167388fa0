"""The BrainSTEM-compatible service logic, without HTTP: SQLite storage, auth, portals.

Both API generations over one SQLite file: the 2023 one under ``/rest/`` (this module:
Experiment Data, token auth) and the current one under ``/api/`` (:mod:`.current`: Data
Acquisition, sessions, personal access tokens, the device flow of :mod:`.device`). Each
keeps its own records and related models, as two deployments would; the users are the
same. Storage: users, personal access tokens, the related models (datasets, actions,
hardware devices; projects, sessions, subjects, procedures, equipment) as JSON bodies with
an owner and a public flag, and the records of each generation in insertion order. One
connection guarded by a lock serialises every request; a local test server needs
correctness more than throughput. Filters, sort and paging run in
Python over the visible records, which keeps the Django lookup semantics in one small
place (:func:`_matches`) and costs nothing at the sizes a test or a demo stores.

Visibility, per portal (the contract's portals):

- ``private``: datasets the user owns or is a member of, their records (read-write);
  actions and hardware devices the user owns, or public ones (read);
- ``public``: published datasets and their records, public actions and devices
  (read-only, no token needed);
- ``super``: everything, staff only.

``type_json`` is validated by :func:`bsingest.records.check_record`, the client's own
rules, and 400 bodies map each field to a list of messages, as Django REST does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import operator
import re
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from bsingest.records import APIS, EXPERIMENT_DATA_FIELDS, check_record

from .device import DeviceAuth, DeviceFlow

__all__ = ["App", "Response", "Seed", "User", "load_seed"]

#: Related models: ``app/model`` -> (table kind, envelope of one, envelope of many).
RELATED: dict[str, tuple[str, str, str]] = {
    "stem/dataset": ("dataset", "dataset", "datasets"),
    "modules/action": ("action", "action", "actions"),
    "resources/hardwaredevice": ("hardwaredevice", "hardware_device", "hardware_devices"),
}
EXPERIMENT_DATA = "modules/experimentdata"
RECORD_FIELDS = EXPERIMENT_DATA_FIELDS
MAX_PAGE = 100
#: A personal access token lives this long after its last use (seconds): a year.
PAT_LIFETIME = 365 * 24 * 3600
_INTERNAL = frozenset({"owner", "members", "viewers"})
_LOOKUPS = frozenset({"exact", "iexact", "contains", "icontains", "startswith", "istartswith",
                      "endswith", "iendswith", "in", "gt", "gte", "lt", "lte", "isnull"})
# A dotted path of plain keys, safe to hand to SQLite's json_extract.
_JSON_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# Paths whose value every stored record holds as a string, looked up by expression indexes.
_STRING_PATHS = frozenset({"type", "type_json.fileName", "details.fileName"})
_ALL: set[str] = {"\x00any"}  # "no filter on this column" (compared by identity)
_COMPARE = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
_INCLUDES = {"dataset": "dataset", "actions": "action", "hardware_device": "hardwaredevice"}


@dataclass(frozen=True)
class User:
    """A user of the local server (demo data)."""

    id: str
    username: str
    token: str = field(repr=False)
    is_staff: bool = False
    pat: str = field(default="", repr=False)  # personal access token of the current generation


@dataclass(frozen=True)
class Seed:
    """The ids of the seeded objects, for tests and demos.

    2023 (``/rest/``): ``datasets``, ``actions``, ``hardware_device(s)``,
    ``experiment_data``; each user's ``token``. Current generation (``/api/``): each user's
    ``pat``; ``projects``, ``sessions``, ``subjects``, ``procedures``, ``equipments`` (name
    -> id), ``data_acquisitions`` (ids); and for the main user: ``session`` (the main
    session, the same id as the main 2023 dataset), ``project`` (its project),
    ``procedure``, ``equipment``, ``pat``; ``foreign_session`` (another user's session the
    main user cannot see) and ``readonly_session`` (one the main user may read, not change).
    """

    main_user: str
    users: dict[str, User]
    datasets: dict[str, str]            # name -> id
    actions: dict[str, str]             # name -> id
    hardware_device: str                # the first device's id
    hardware_devices: dict[str, str]    # name -> id
    experiment_data: tuple[str, ...]    # ids of the seeded records
    projects: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    subjects: dict[str, str] = field(default_factory=dict)
    procedures: dict[str, str] = field(default_factory=dict)
    equipments: dict[str, str] = field(default_factory=dict)
    data_acquisitions: tuple[str, ...] = ()
    session: str = ""
    project: str = ""
    procedure: str = ""
    equipment: str = ""
    pat: str = field(default="", repr=False)
    foreign_session: str = ""
    readonly_session: str = ""


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


def load_seed(path: Path | None = None) -> dict[str, Any]:
    """The seed fixture: ``path``, or the one shipped in ``bsingest/data/seed.json``."""
    if path is not None:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    text = resources.files("bsingest.data").joinpath("seed.json").read_text("utf-8")
    return json.loads(text)


class App:
    """The service over one SQLite file; every public method is thread-safe.

    Parameters
    ----------
    db_path
        The SQLite file; seeded when new (a file from before the current generation gets
        its part of the seed added).
    seed
        The seed fixture; None: ``bsingest/data/seed.json``.
    legacy_envelope
        Answer Data Acquisition lists and details under the key ``dataacquisition``, as
        earlier deployments of the current generation did, instead of
        ``data_acquisitions`` / ``data_acquisition``.
    device_auth
        Options of the device authorization flow (interval, expiry, auto-approval).
    apis
        The generations served: ``"2023"`` (``/rest/``, ``/api-token-auth/``) and
        ``"2026"`` (``/api/``, ``/device/``); a path of a generation not served answers 404,
        as a deployment of the other one does.
    """

    def __init__(self, db_path: Path, seed: Mapping[str, Any] | None = None, *,
                 legacy_envelope: bool = False, device_auth: DeviceAuth | None = None,
                 apis: tuple[str, ...] = APIS) -> None:
        from .current import CurrentApi  # it builds on this module

        unknown = set(apis) - set(APIS)
        if unknown or not apis:
            raise ValueError(f"apis {apis!r}: choose one or both of {APIS}")
        self.db_path = Path(db_path)
        self.legacy_envelope = legacy_envelope
        self.apis = tuple(apis)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.db_path, check_same_thread=False,
                                   isolation_level=None)
        self._db.row_factory = sqlite3.Row
        # WAL with synchronous=NORMAL: durable across a crash of this process, without an
        # fsync per request (a test run creates hundreds of records).
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._create_tables()
            seed = seed if seed is not None else load_seed()
            fresh = self._db.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0
            if fresh:
                self._load(seed)
            self.current = CurrentApi(self)
            if self._db.execute("SELECT value FROM meta WHERE key = 'seeded_current'"
                                ).fetchone() is None:
                self.current.load_seed(seed)
        self.seed = self._read_seed(seed)
        self.device = DeviceFlow(device_auth or DeviceAuth(), self.issue_pat,
                                 self.seed.main_user)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    # -- storage ---------------------------------------------------------------------

    def _create_tables(self) -> None:
        self._db.executescript("""
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

    def _load(self, seed: Mapping[str, Any]) -> None:
        users = {u["username"]: u for u in seed["users"]}
        self._db.execute("BEGIN")
        for u in seed["users"]:
            self._db.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                             (u["id"], u["username"], _hash_password(u["password"]),
                              u["token"], int(bool(u.get("is_staff")))))
        for key, kind in (("datasets", "dataset"), ("actions", "action"),
                          ("hardware_devices", "hardwaredevice")):
            for obj in seed.get(key, []):
                owner = users[obj["owner"]]["id"] if obj.get("owner") else None
                body = dict(obj)
                body["members"] = [users[m]["id"] for m in obj.get("members", [])]
                self._db.execute("INSERT INTO objects VALUES (?, ?, ?, ?, ?)",
                                 (kind, obj["id"], owner, int(bool(obj.get("is_public"))),
                                  json.dumps(body)))
        for rec in seed.get("experiment_data", []):
            problems = check_record(rec)
            if problems:
                raise ValueError(f"seed record {rec.get('id')}: {'; '.join(problems)}")
            body = {k: rec.get(k) for k in RECORD_FIELDS}
            self._db.execute("INSERT INTO experiment_data (id, dataset, body) VALUES (?, ?, ?)",
                             (rec["id"], rec["dataset"], json.dumps(body)))
        self._db.execute("COMMIT")

    def _read_seed(self, seed: Mapping[str, Any]) -> Seed:
        users = {u["username"]: User(u["id"], u["username"], u["token"],
                                     bool(u.get("is_staff")), u.get("pat", ""))
                 for u in seed["users"]}
        devices = {d["name"]: d["id"] for d in seed.get("hardware_devices", [])}
        main = seed.get("main_user", seed["users"][0]["username"])
        return Seed(
            main_user=seed.get("main_user", seed["users"][0]["username"]),
            users=users,
            datasets={d["name"]: d["id"] for d in seed.get("datasets", [])},
            actions={a["name"]: a["id"] for a in seed.get("actions", [])},
            hardware_device=next(iter(devices.values()), ""),
            hardware_devices=devices,
            experiment_data=tuple(r["id"] for r in seed.get("experiment_data", [])),
            **self.current.seed_ids(seed, main),
        )

    def record_count(self, dataset: str | None = None) -> int:
        """Experiment Data records stored, in one dataset or in all."""
        with self._lock:
            if dataset is None:
                row = self._db.execute("SELECT COUNT(*) FROM experiment_data").fetchone()
            else:
                row = self._db.execute("SELECT COUNT(*) FROM experiment_data WHERE dataset = ?",
                                       (dataset,)).fetchone()
        return int(row[0])

    def acquisition_count(self, session: str | None = None) -> int:
        """Data Acquisition records stored, in one session or in all."""
        with self._lock:
            if session is None:
                row = self._db.execute("SELECT COUNT(*) FROM data_acquisition").fetchone()
            else:
                row = self._db.execute("SELECT COUNT(*) FROM data_acquisition "
                                       "WHERE session = ?", (session,)).fetchone()
        return int(row[0])

    # -- authentication --------------------------------------------------------------

    def obtain_token(self, body: Any) -> Response:
        """``POST /api-token-auth/``."""
        if not isinstance(body, Mapping):
            raise HttpError(400, {"non_field_errors": ["Expected username and password."]})
        missing = {k: ["This field is required."] for k in ("username", "password")
                   if not body.get(k)}
        if missing:
            raise HttpError(400, missing)
        with self._lock:
            row = self._db.execute("SELECT password, token FROM users WHERE username = ?",
                                   (str(body["username"]),)).fetchone()
        if row is None or not _check_password(str(body["password"]), row["password"]):
            raise HttpError(400, {"non_field_errors":
                                  ["Unable to log in with provided credentials."]})
        return Response(200, {"token": row["token"]})

    def authenticate(self, header: str | None, portal: str) -> sqlite3.Row | None:
        """The user of a 2023 ``Authorization: Token <key>``; anonymous (None) only on ``public``.

        A personal access token (``Bearer``) is the current generation's: refused here,
        as a 2023 deployment (Django REST's token authentication) does.
        """
        user = self._user_of(header, "Token", "SELECT users.* FROM users WHERE token = ?")
        if user is None and portal != "public":
            raise _unauthorized("Authentication credentials were not provided.")
        if portal == "super" and user is not None and not user["is_staff"]:
            raise HttpError(403, {"detail": "You do not have permission to perform this action."})
        return user

    def authenticate_pat(self, header: str | None, portal: str) -> sqlite3.Row | None:
        """The user of an ``Authorization: Bearer <personal access token>``; anonymous
        (None) only on ``public``. A 2023 ``Token`` key is refused, as brainstem.org does."""
        user = self._user_of(header, "Bearer", "SELECT users.*, pats.created AS pat_used, "
                             "pats.client_name AS pat_client, pats.token AS pat FROM pats "
                             "JOIN users ON users.id = pats.user_id WHERE pats.token = ?")
        if user is None:
            if portal != "public":
                raise _unauthorized("Authentication credentials were not provided.", "Bearer")
            return None
        # A token lives a year after its last use (brainstem.org's sliding year); the seed's
        # demo tokens never expire.
        now = time.time()
        if user["pat_client"] != "seed":
            if now - user["pat_used"] > PAT_LIFETIME:
                raise _unauthorized("Token expired: sign in again for a new one.", "Bearer")
            if now - user["pat_used"] > 3600:  # slide, without a write per request
                with self._lock:
                    self._db.execute("UPDATE pats SET created = ? WHERE token = ?",
                                     (now, user["pat"]))
        return user

    def expire_pat(self, token: str) -> None:
        """Age a personal access token past its lifetime (tests of a client's re-sign-in)."""
        with self._lock:
            self._db.execute("UPDATE pats SET created = ?, client_name = "
                             "CASE client_name WHEN 'seed' THEN 'seed (expired)' "
                             "ELSE client_name END WHERE token = ?",
                             (time.time() - PAT_LIFETIME - 1, token))

    def issue_pat(self, username: str, client_name: str) -> str:
        """A new personal access token for ``username`` (what the device flow hands out)."""
        token = "bspat_" + secrets.token_hex(20)
        with self._lock:
            row = self._db.execute("SELECT id FROM users WHERE username = ?",
                                   (username,)).fetchone()
            if row is None:
                raise KeyError(f"no user {username!r}")
            self._db.execute("INSERT INTO pats VALUES (?, ?, ?, ?)",
                             (token, row["id"], client_name, time.time()))
        return token

    def check_password(self, username: str, password: str) -> bool:
        """Whether ``password`` is ``username``'s (the device verification page signs in)."""
        with self._lock:
            row = self._db.execute("SELECT password FROM users WHERE username = ?",
                                   (username,)).fetchone()
        return row is not None and _check_password(password, row["password"])

    def _user_of(self, header: str | None, scheme: str, query: str) -> sqlite3.Row | None:
        if not header:
            return None
        given, _, key = header.strip().partition(" ")
        if given.lower() != scheme.lower() or not key.strip():
            what = "key" if scheme == "Token" else "personal access token"
            raise _unauthorized(f"Invalid token header: this API takes 'Authorization: "
                                f"{scheme} <{what}>'.", scheme)
        with self._lock:
            user = self._db.execute(query, (key.strip(),)).fetchone()
        if user is None:
            raise _unauthorized("Invalid token.", scheme)
        return user

    # -- the device authorization flow (current generation) ---------------------------

    def device_start(self, body: Any, base_url: str) -> Response:
        """``POST /api/auth/device/`` with ``{"client_name": ...}``."""
        name = body.get("client_name") if isinstance(body, Mapping) else None
        if not isinstance(name, str) or not name.strip():
            raise HttpError(400, {"client_name": ["This field is required."]})
        return Response(200, self.device.start(name.strip()[:100], base_url))

    def device_poll(self, body: Any) -> Response:
        """``POST /api/auth/device/token/`` with ``{"device_code": ...}``: always 200."""
        code = body.get("device_code") if isinstance(body, Mapping) else None
        if not isinstance(code, str) or not code:
            raise HttpError(400, {"device_code": ["This field is required."]})
        return Response(200, self.device.poll(code))

    def device_page(self, method: str, query: list[tuple[str, str]], body: Any) -> Response:
        """``/device/``: where a demo user signs in and approves or denies a code."""
        from .device import page

        if method == "GET":
            code = dict(query).get("user_code", "")
            return Response(200, page(code, self.device.client_name(code)),
                            content_type="text/html; charset=utf-8")
        form = body if isinstance(body, Mapping) else {}
        code = str(form.get("user_code", ""))
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        if not self.check_password(username, password):
            return Response(403, page(code, self.device.client_name(code),
                                      "Wrong username or password."),
                            content_type="text/html; charset=utf-8")
        try:
            if form.get("action") == "deny":
                self.device.deny(code)
                done = "Denied: the tool will say so and stop."
            else:
                self.device.approve(code, username)
                done = "Approved: you may close this page and return to the tool."
        except KeyError:
            done = "No sign-in waits with this code (it expired, or was used)."
        return Response(200, page(None, None, done), content_type="text/html; charset=utf-8")

    # -- the REST endpoints ----------------------------------------------------------

    def handle_current(self, method: str, portal: str, path: str, id: str | None,
                       query: list[tuple[str, str]], body: Any,
                       user: sqlite3.Row | None) -> Response:
        """One request to ``/api/{portal}/{path}/[{id}/]`` (the current generation)."""
        with self._lock:
            return self.current.handle(method, portal, path, id, query, body, user)

    def handle(self, method: str, portal: str, path: str, id: str | None,
               query: list[tuple[str, str]], body: Any, user: sqlite3.Row | None) -> Response:
        """One request to ``/rest/{portal}/{path}/[{id}/]``."""
        if path != EXPERIMENT_DATA and path not in RELATED:
            raise HttpError(404, {"detail": "Not found."})
        writes = method in ("POST", "PATCH", "PUT", "DELETE")
        if path != EXPERIMENT_DATA and writes:
            raise HttpError(405, {"detail": f'Method "{method}" not allowed.'})
        if method not in ("GET", "POST", "PATCH", "DELETE"):
            raise HttpError(405, {"detail": f'Method "{method}" not allowed.'})
        if (method == "POST") != (id is None) and method != "GET":
            raise HttpError(405, {"detail": f'Method "{method}" not allowed.'})
        if writes and portal == "public":
            raise HttpError(403, {"detail": "The public portal is read-only."})
        ctx = _Ctx(portal, user)
        with self._lock:
            if path == EXPERIMENT_DATA:
                return self._experiment_data(method, id, query, body, ctx)
            kind, one, many = RELATED[path]
            if id is None:
                items = [o for o in self._objects(kind) if ctx.can_see(o)]
                return self._page(many, [_public(o) for o in items], query)
            obj = self._object(kind, id)
            if obj is None or not ctx.can_see(obj):
                raise HttpError(404, {"detail": "Not found."})
            return Response(200, {one: _public(obj)})

    def _experiment_data(self, method: str, id: str | None, query: list[tuple[str, str]],
                         body: Any, ctx: _Ctx) -> Response:
        if method == "GET" and id is None:
            visible = {d["id"] for d in self._objects("dataset") if ctx.can_see(d)}
            return self._list("experiment_data", "dataset", "type_json", "experiment_data",
                              query, visible, allowed=set(RECORD_FIELDS), includes=_INCLUDES)
        if method == "POST":
            record = self._validated(body, None, ctx)
            record["id"] = str(uuid.uuid4())
            self._db.execute("INSERT INTO experiment_data (id, dataset, body) VALUES (?, ?, ?)",
                             (record["id"], record["dataset"], json.dumps(record)))
            return Response(201, {"experiment_data": record})
        existing = self._record(id or "")
        dataset = self._object("dataset", existing["dataset"]) if existing else None
        if existing is None or dataset is None or not ctx.can_see(dataset):
            raise HttpError(404, {"detail": "Not found."})
        if method == "GET":
            return Response(200, {"experiment_data": existing})
        if method == "DELETE":
            self._db.execute("DELETE FROM experiment_data WHERE id = ?", (existing["id"],))
            return Response(204)
        record = self._validated(body, existing, ctx)
        self._db.execute("UPDATE experiment_data SET dataset = ?, body = ? WHERE id = ?",
                         (record["dataset"], json.dumps(record), existing["id"]))
        return Response(200, {"experiment_data": record})

    def _validated(self, body: Any, existing: dict[str, Any] | None, ctx: _Ctx) -> dict:
        """A POST body, or an existing record with a PATCH applied, checked fully."""
        if not isinstance(body, Mapping):
            raise HttpError(400, {"non_field_errors": ["Expected a JSON object."]})
        patch = {k: v for k, v in body.items() if k != "id"}  # id is read-only
        problems = check_record(patch, partial=existing is not None)
        if not problems:
            base = existing or {k: None for k in RECORD_FIELDS}
            record = {k: patch.get(k, base.get(k)) for k in RECORD_FIELDS}
            if record["actions"] is None:
                record["actions"] = []
            if record["type_json"] is None:
                record["type_json"] = {}
            problems = check_record(record)
        if problems:
            raise HttpError(400, _field_errors(problems))
        refs = self._reference_errors(record, ctx)
        if refs:
            raise HttpError(400, refs)
        return record

    def _reference_errors(self, record: dict[str, Any], ctx: _Ctx) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        dataset = self._object("dataset", record["dataset"])
        if dataset is None or not ctx.can_see(dataset):
            errors["dataset"] = [f'Invalid pk "{record["dataset"]}" - object does not exist.']
        for action_id in record["actions"]:
            action = self._object("action", action_id)
            if action is None or not ctx.can_see(action, related=True):
                errors.setdefault("actions", []).append(
                    f'Invalid pk "{action_id}" - object does not exist.')
        device_id = record.get("hardware_device")
        if device_id is not None:
            device = self._object("hardwaredevice", device_id)
            if device is None or not ctx.can_see(device, related=True):
                errors["hardware_device"] = [f'Invalid pk "{device_id}" - object does not exist.']
        return errors

    # -- queries ---------------------------------------------------------------------

    def _page(self, envelope: str, items: list[dict], query: list[tuple[str, str]], *,
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
        if kind == "dataacquisition":  # records live in their own table
            return self.current.record(ref) or ref
        obj = self._object(kind, ref)
        return _public(obj) if obj else ref

    def _objects(self, kind: str) -> list[dict]:
        rows = self._db.execute("SELECT owner, is_public, body FROM objects WHERE kind = ? "
                                "ORDER BY rowid", (kind,)).fetchall()
        return [_row_object(r) for r in rows]

    def _object(self, kind: str, id: str) -> dict | None:
        row = self._db.execute("SELECT owner, is_public, body FROM objects "
                               "WHERE kind = ? AND id = ?", (kind, id)).fetchone()
        return _row_object(row) if row else None

    def _list(self, table: str, column: str, blob: str, envelope: str,
              query: list[tuple[str, str]], visible: set[str], *, allowed: set[str],
              includes: Mapping[str, str | None]) -> Response:
        """A list of the records of ``table`` whose ``column`` (dataset, session) is visible.

        A page of one dataset in insertion order (``filter{dataset}=...&limit=&offset=``,
        how a client reads a whole dataset) is counted and cut by SQLite, so reading a
        10,000-record dataset does not parse it once per page; anything else is filtered
        by :meth:`_page` over the rows :meth:`_rows` narrows down.
        """
        wanted = _column_filter(query, column)
        if wanted is None:
            items = [r for r in self._rows(table, column, blob, query) if r[column] in visible]
            return self._page(envelope, items, query, allowed=allowed, includes=includes)
        _, _, include, limit, offset = _parse_query(query, includes)
        ids = sorted(visible if wanted is _ALL else visible & wanted)
        marks = ", ".join("?" * len(ids))
        where = f"FROM {table} WHERE {column} IN ({marks})"
        count = self._db.execute(f"SELECT COUNT(*) {where}", ids).fetchone()[0]
        rows = self._db.execute(f"SELECT body {where} ORDER BY seq LIMIT ? OFFSET ?",
                                [*ids, limit, offset]).fetchall()
        page = [json.loads(r["body"]) for r in rows]
        if include:
            page = [self._embed(r, include, includes) for r in page]
        return Response(200, {envelope: page, "count": int(count)})

    def _rows(self, table: str, column: str, blob: str,
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
        return [json.loads(r["body"]) for r in self._db.execute(sql, args).fetchall()]

    def _record(self, id: str) -> dict | None:
        row = self._db.execute("SELECT body FROM experiment_data WHERE id = ?", (id,)).fetchone()
        return json.loads(row["body"]) if row else None


@dataclass(frozen=True)
class _Ctx:
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


def _public(obj: Mapping[str, Any]) -> dict:
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


def _field_errors(problems: list[str]) -> dict[str, list[str]]:
    """``"type_json.nChannels: msg"`` -> ``{"type_json": ["nChannels: msg"]}``."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        where, _, message = problem.partition(": ")
        head, _, rest = where.partition(".")
        errors.setdefault(head, []).append(f"{rest}: {message}" if rest else message)
    return errors


def _unauthorized(detail: str, scheme: str = "Token") -> HttpError:
    return HttpError(401, {"detail": detail}, {"WWW-Authenticate": scheme})


def _hash_password(password: str) -> str:
    salt = secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 10_000).hex()
    return f"pbkdf2_sha256$10000${salt}${digest}"


def _check_password(password: str, stored: str) -> bool:
    _, rounds, salt, digest = stored.split("$")
    mine = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(rounds)).hex()
    return hmac.compare_digest(mine, digest)
