"""The BrainSTEM-compatible service logic, without HTTP: auth, seeds, portals, 2023 records.

Both API generations over one SQLite file (:mod:`.store`): the 2023 one under ``/rest/``
(this module: Experiment Data, token auth) and the current one under ``/api/``
(:mod:`.current`: Data Acquisition, sessions; personal access tokens and the device flow of
:mod:`.device` are served from here). Each keeps its own records and related models, as
two deployments would; the users are the same. The store holds what both share (the
connection and its lock, the related models, visibility, Django-style queries);
:mod:`.current` needs nothing of this module, so the modules import downwards only:
``app -> current -> store``, ``app -> store``.

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
import secrets
import sqlite3
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from bsingest.records import APIS, EXPERIMENT_DATA_FIELDS, check_record

from .current import CurrentApi
from .device import DeviceAuth, DeviceFlow
from .store import Ctx, HttpError, Response, Store, field_errors, public

__all__ = ["App", "Response", "Seed", "User", "load_seed"]

#: Related models: ``app/model`` -> (table kind, envelope of one, envelope of many).
RELATED: dict[str, tuple[str, str, str]] = {
    "stem/dataset": ("dataset", "dataset", "datasets"),
    "modules/action": ("action", "action", "actions"),
    "resources/hardwaredevice": ("hardwaredevice", "hardware_device", "hardware_devices"),
}
EXPERIMENT_DATA = "modules/experimentdata"
RECORD_FIELDS = EXPERIMENT_DATA_FIELDS
#: A personal access token lives this long after its last use (seconds): a year.
PAT_LIFETIME = 365 * 24 * 3600
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
        unknown = set(apis) - set(APIS)
        if unknown or not apis:
            raise ValueError(f"apis {apis!r}: choose one or both of {APIS}")
        self.db_path = Path(db_path)
        self.legacy_envelope = legacy_envelope
        self.apis = tuple(apis)
        self.store = Store(self.db_path)
        # The store's lock and connection, as tests and benchmarks reach them.
        self._lock, self._db = self.store.lock, self.store.db
        self.current = CurrentApi(self.store, legacy_envelope=legacy_envelope)
        with self._lock:
            seed = seed if seed is not None else load_seed()
            fresh = self._db.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0
            if fresh:
                self._load(seed)
            if self._db.execute("SELECT value FROM meta WHERE key = 'seeded_current'"
                                ).fetchone() is None:
                self.current.load_seed(seed)
        self.seed = self._read_seed(seed)
        self.device = DeviceFlow(device_auth or DeviceAuth(), self.issue_pat,
                                 self.seed.main_user)

    def close(self) -> None:
        """Close the database connection."""
        self.store.close()

    # -- the 2023 seed ---------------------------------------------------------------

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
        ctx = Ctx(portal, user)
        with self._lock:
            if path == EXPERIMENT_DATA:
                return self._experiment_data(method, id, query, body, ctx)
            kind, one, many = RELATED[path]
            if id is None:
                items = [o for o in self.store.objects(kind) if ctx.can_see(o)]
                return self.store.page(many, [public(o) for o in items], query)
            obj = self.store.object(kind, id)
            if obj is None or not ctx.can_see(obj):
                raise HttpError(404, {"detail": "Not found."})
            return Response(200, {one: public(obj)})

    def _experiment_data(self, method: str, id: str | None, query: list[tuple[str, str]],
                         body: Any, ctx: Ctx) -> Response:
        if method == "GET" and id is None:
            visible = {d["id"] for d in self.store.objects("dataset") if ctx.can_see(d)}
            return self.store.list_records("experiment_data", "dataset", "type_json",
                                           "experiment_data", query, visible,
                                           allowed=set(RECORD_FIELDS), includes=_INCLUDES)
        if method == "POST":
            record = self._validated(body, None, ctx)
            record["id"] = str(uuid.uuid4())
            self._db.execute("INSERT INTO experiment_data (id, dataset, body) VALUES (?, ?, ?)",
                             (record["id"], record["dataset"], json.dumps(record)))
            return Response(201, {"experiment_data": record})
        existing = self.store.record("experiment_data", id or "")
        dataset = self.store.object("dataset", existing["dataset"]) if existing else None
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

    def _validated(self, body: Any, existing: dict[str, Any] | None, ctx: Ctx) -> dict:
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
            raise HttpError(400, field_errors(problems))
        refs = self._reference_errors(record, ctx)
        if refs:
            raise HttpError(400, refs)
        return record

    def _reference_errors(self, record: dict[str, Any], ctx: Ctx) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        dataset = self.store.object("dataset", record["dataset"])
        if dataset is None or not ctx.can_see(dataset):
            errors["dataset"] = [f'Invalid pk "{record["dataset"]}" - object does not exist.']
        for action_id in record["actions"]:
            action = self.store.object("action", action_id)
            if action is None or not ctx.can_see(action, related=True):
                errors.setdefault("actions", []).append(
                    f'Invalid pk "{action_id}" - object does not exist.')
        device_id = record.get("hardware_device")
        if device_id is not None:
            device = self.store.object("hardwaredevice", device_id)
            if device is None or not ctx.can_see(device, related=True):
                errors["hardware_device"] = [f'Invalid pk "{device_id}" - object does not exist.']
        return errors

    # -- queries ---------------------------------------------------------------------


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
