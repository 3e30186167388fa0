"""The current generation of the API (``/api/{portal}/...``) over the shared store.

``brainstem-api-2026.md``: Data Acquisition (``modules/dataacquisition``: ``session``,
``procedures``, ``equipment``, ``notes``, ``type``, ``type_schema_version``, ``details``,
``image``, ``order``), sessions (``stem/session``: list, detail, create), projects,
subjects, procedures, equipment and hardware devices (read-only here). Portals
``private`` (what the user's projects hold; writes) and ``public`` (published, read-only,
no token needed). Query parameters, paging and 400 bodies as in 2023: the same code, in
:mod:`.store`. This module needs nothing of :mod:`.app`, which serves it.

Rights come from projects, as on brainstem.org: a project has an owner, ``members`` who
may change it and ``viewers`` who may only read it. A session is visible to whoever may
read one of its projects and may be changed (data added to it) by whoever may change one
of them; creating a session needs change rights on every project it names.

Validation is as strict as the contract: ``details`` by its type's schema in the version
``type_schema_version`` names (:func:`bsingest.details.check_acquisition`, the client's
own rules), any other key refused, a session the user may not change refused with a
message that says so.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bsingest.details import ACQUISITION_FIELDS, SCHEMA_VERSION, check_acquisition
from bsingest.recordtypes import is_uuid  # the one UUID rule

from .store import Ctx, HttpError, Response, Store, field_errors, public

__all__ = ["DATA_ACQUISITION", "MODELS", "CurrentApi"]

DATA_ACQUISITION = "modules/dataacquisition"
#: ``app/model`` -> (kind in the store, envelope of one, envelope of many).
MODELS: dict[str, tuple[str, str, str]] = {
    DATA_ACQUISITION: ("dataacquisition", "data_acquisition", "data_acquisitions"),
    "stem/session": ("session", "session", "sessions"),
    "stem/project": ("project", "project", "projects"),
    "stem/subject": ("subject", "subject", "subjects"),
    "modules/procedure": ("procedure", "procedure", "procedures"),
    "modules/equipment": ("equipment", "equipment", "equipments"),
    "resources/hardwaredevice": ("hardwaredevice", "hardware_device", "hardware_devices"),
}
#: Per kind: the fields ``include[]`` may embed -> the kind they name (None: a read-only
#: list this server does not model, answered as it is).
INCLUDES: dict[str, dict[str, str | None]] = {
    "dataacquisition": {"session": "session", "procedures": "procedure",
                        "equipment": "equipment"},
    "session": {"projects": "project", "dataacquisition": "dataacquisition",
                "behaviors": None, "manipulations": None, "epochs": None},
    "project": {"sessions": "session", "subjects": "subject", "collections": None,
                "cohorts": None},
    "subject": {"projects": "project", "procedures": "procedure", "subjectlogs": None},
    "procedure": {"subject": "subject", "equipment": "equipment"},
    "equipment": {"hardwaredevice": "hardwaredevice"},
    "hardwaredevice": {},
}
SESSION_NAME_LIMIT = 100
_SESSION_WRITABLE = frozenset({"name", "description", "projects", "date_time", "tags",
                               "extra_fields"})
# Read-only session fields a client may send back unchanged; ignored, as Django REST does.
_SESSION_READ_ONLY = frozenset({"id", "dataacquisition", "behaviors", "manipulations",
                                "epochs", "links", "name_used_in_storage"})
_UNMODELLED = ("behaviors", "manipulations", "epochs")


class CurrentApi:
    """The ``/api/`` endpoints over the :class:`~.store.Store`; callers hold its lock.

    ``legacy_envelope``: answer Data Acquisition lists and details under the key
    ``dataacquisition``, as earlier deployments of the current generation did.
    """

    def __init__(self, store: Store, *, legacy_envelope: bool = False) -> None:
        self.store = store
        self.legacy_envelope = legacy_envelope
        self._db: sqlite3.Connection = store.db

    # -- seed ------------------------------------------------------------------------

    def load_seed(self, seed: Mapping[str, Any]) -> None:
        """Store the seed's current-generation part (caller holds the lock)."""
        db = self._db
        ids = {r["username"]: r["id"] for r in db.execute("SELECT id, username FROM users")}
        db.execute("BEGIN")
        for u in seed["users"]:
            if u.get("pat") and u["username"] in ids:
                db.execute("INSERT OR IGNORE INTO pats VALUES (?, ?, ?, ?)",
                           (u["pat"], ids[u["username"]], "seed", time.time()))
        for key, kind in (("projects", "project"), ("sessions", "session"),
                          ("subjects", "subject"), ("procedures", "procedure"),
                          ("equipment", "equipment")):
            for obj in seed.get(key, []):
                body = dict(obj)
                for role in ("members", "viewers"):
                    body[role] = [ids[m] for m in obj.get(role, [])]
                db.execute("INSERT OR IGNORE INTO objects VALUES (?, ?, ?, ?, ?)",
                           (kind, obj["id"], ids.get(obj.get("owner", "")),
                            int(bool(obj.get("is_public"))), json.dumps(body)))
        for rec in seed.get("data_acquisitions", []):
            problems = check_acquisition({k: v for k, v in rec.items() if k != "id"})
            if problems:
                db.execute("ROLLBACK")
                raise ValueError(f"seed data acquisition {rec.get('id')}: {'; '.join(problems)}")
            db.execute("INSERT OR IGNORE INTO data_acquisition (id, session, body) "
                       "VALUES (?, ?, ?)", (rec["id"], rec["session"],
                                            json.dumps(_acquisition(rec))))
        db.execute("INSERT OR REPLACE INTO meta VALUES ('seeded_current', '1')")
        db.execute("COMMIT")

    @staticmethod
    def seed_ids(seed: Mapping[str, Any], main: str) -> dict[str, Any]:
        """The current generation's fields of :class:`~.app.Seed`."""
        projects = seed.get("projects", [])
        sessions = seed.get("sessions", [])
        by_project = {p["id"]: p for p in projects}

        def role(session: Mapping[str, Any]) -> str:
            """What ``main`` may do with a session: change, read or nothing."""
            roles = []
            for pid in session.get("projects", []):
                p = by_project.get(pid, {})
                if p.get("owner") == main or main in p.get("members", []):
                    roles.append("change")
                elif main in p.get("viewers", []):
                    roles.append("read")
            return "change" if "change" in roles else roles[0] if roles else "none"

        named = {s["name"]: s for s in sessions}
        main_session = named.get(seed.get("main_session", "")) or next(
            (s for s in sessions if role(s) == "change"), None)
        users = {u["username"]: u for u in seed["users"]}
        return {
            "projects": {p["name"]: p["id"] for p in projects},
            "sessions": {s["name"]: s["id"] for s in sessions},
            "subjects": {s["name"]: s["id"] for s in seed.get("subjects", [])},
            "procedures": {p["name"]: p["id"] for p in seed.get("procedures", [])},
            "equipments": {e["name"]: e["id"] for e in seed.get("equipment", [])},
            "data_acquisitions": tuple(r["id"] for r in seed.get("data_acquisitions", [])),
            "session": main_session["id"] if main_session else "",
            "project": (main_session or {}).get("projects", [""])[0],
            "procedure": next((p["id"] for p in seed.get("procedures", [])
                               if p.get("owner") == main), ""),
            "equipment": next((e["id"] for e in seed.get("equipment", [])
                               if e.get("owner") == main), ""),
            "pat": users.get(main, {}).get("pat", ""),
            "foreign_session": next((s["id"] for s in sessions if role(s) == "none"
                                     and not s.get("is_public")), ""),
            "readonly_session": next((s["id"] for s in sessions if role(s) == "read"), ""),
        }

    # -- requests --------------------------------------------------------------------

    def handle(self, method: str, portal: str, path: str, id: str | None,
               query: list[tuple[str, str]], body: Any, user: sqlite3.Row | None) -> Response:
        """One request to ``/api/{portal}/{path}/[{id}/]`` (caller holds the lock)."""
        if portal not in ("private", "public") or path not in MODELS:
            raise HttpError(404, {"detail": "Not found."})
        if method not in ("GET", "POST", "PATCH", "DELETE"):
            raise HttpError(405, {"detail": f'Method "{method}" not allowed.'})
        if method != "GET" and (method == "POST") != (id is None):
            raise HttpError(405, {"detail": f'Method "{method}" not allowed.'})
        writable = path == DATA_ACQUISITION or (path == "stem/session" and method == "POST")
        if method != "GET" and not writable:
            raise HttpError(405, {"detail": f'Method "{method}" not allowed.'})
        if method != "GET" and portal == "public":
            raise HttpError(403, {"detail": "The public portal is read-only."})
        ctx = Ctx(portal, user)
        kind, one, many = MODELS[path]
        if path == DATA_ACQUISITION:
            return self._acquisitions(method, id, query, body, ctx)
        if method == "POST":
            return self._create_session(body, ctx)
        if id is None:
            items = [self._shown(kind, o) for o in self._objects(kind)
                     if self._sees(ctx, kind, o)]
            return self.store.page(many, items, query, includes=INCLUDES[kind])
        obj = self.store.object(kind, id)
        if obj is None or not self._sees(ctx, kind, obj):
            raise HttpError(404, {"detail": "Not found."})
        return Response(200, {one: self._shown(kind, obj)})

    # -- data acquisition ------------------------------------------------------------

    def _acquisitions(self, method: str, id: str | None, query: list[tuple[str, str]],
                      body: Any, ctx: Ctx) -> Response:
        legacy = self.legacy_envelope
        one = "dataacquisition" if legacy else "data_acquisition"
        many = "dataacquisition" if legacy else "data_acquisitions"
        if method == "GET" and id is None:
            seen = {s["id"] for s in self._objects("session") if self._sees(ctx, "session", s)}
            return self.store.list_records("data_acquisition", "session", "details", many,
                                           query, seen, allowed=set(ACQUISITION_FIELDS),
                                           includes=INCLUDES["dataacquisition"])
        if method == "POST":
            record = self._validated(body, None, ctx)
            record["id"] = str(uuid.uuid4())
            self._db.execute("INSERT INTO data_acquisition (id, session, body) VALUES (?, ?, ?)",
                             (record["id"], record["session"], json.dumps(record)))
            return Response(201, {one: record})
        existing = self.record(id or "")
        session = self.store.object("session", existing["session"]) if existing else None
        if existing is None or session is None or not self._sees(ctx, "session", session):
            raise HttpError(404, {"detail": "Not found."})
        if method == "GET":
            return Response(200, {one: existing})
        if not self._may_change(ctx, session):
            raise HttpError(403, {"detail": f"You may read session {session['name']!r} but not "
                                            "change it: you have no change rights on its "
                                            "projects."})
        if method == "DELETE":
            self._db.execute("DELETE FROM data_acquisition WHERE id = ?", (existing["id"],))
            return Response(204)
        record = self._validated(body, existing, ctx)
        self._db.execute("UPDATE data_acquisition SET session = ?, body = ? WHERE id = ?",
                         (record["session"], json.dumps(record), existing["id"]))
        return Response(200, {one: record})

    def _validated(self, body: Any, existing: dict[str, Any] | None, ctx: Ctx) -> dict:
        """A POST body, or an existing record with a PATCH applied, checked fully."""
        if not isinstance(body, Mapping):
            raise HttpError(400, {"non_field_errors": ["Expected a JSON object."]})
        patch = {k: v for k, v in body.items() if k not in ("id", "image")}  # read-only
        problems = check_acquisition(patch, partial=existing is not None)
        if not problems:
            record = _acquisition({**(existing or {}), **patch})
            problems = check_acquisition({k: v for k, v in record.items()
                                          if k not in ("id", "image")})
        if problems:
            raise HttpError(400, field_errors(problems))
        errors = self._reference_errors(record, ctx)
        if errors:
            raise HttpError(400, errors)
        return record

    def _reference_errors(self, record: Mapping[str, Any], ctx: Ctx) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        session = self.store.object("session", record["session"])
        if session is None or not self._sees(ctx, "session", session):
            errors["session"] = [f'Invalid pk "{record["session"]}" - object does not exist.']
        elif not self._may_change(ctx, session):
            errors["session"] = [
                f"You may not add to session {session['name']!r} ({record['session']}): you "
                "have no change rights on its projects (it belongs to another user)."]
        for key, kind in (("procedures", "procedure"), ("equipment", "equipment")):
            for ref in record[key]:
                obj = self.store.object(kind, ref)
                if obj is None or not ctx.can_see(obj, related=True):
                    errors.setdefault(key, []).append(
                        f'Invalid pk "{ref}" - object does not exist.')
        return errors

    # -- sessions --------------------------------------------------------------------

    def _create_session(self, body: Any, ctx: Ctx) -> Response:
        if not isinstance(body, Mapping):
            raise HttpError(400, {"non_field_errors": ["Expected a JSON object."]})
        fields = {k: v for k, v in body.items() if k not in _SESSION_READ_ONLY}
        problems = _session_problems(fields)
        if problems:
            raise HttpError(400, field_errors(problems))
        errors: dict[str, list[str]] = {}
        name = fields["name"]
        if any(s.get("name") == name for s in self._objects("session")):
            errors["name"] = ["session with this name already exists."]
        for pid in fields["projects"]:
            project = self.store.object("project", pid)
            if project is None or not ctx.can_see(project):
                errors.setdefault("projects", []).append(
                    f'Invalid pk "{pid}" - object does not exist.')
            elif not ctx.can_change(project):
                errors.setdefault("projects", []).append(
                    f"You have no change rights on project {project['name']!r} ({pid}): "
                    "creating a session needs them on each of its projects.")
        if errors:
            raise HttpError(400, errors)
        session = {"id": str(uuid.uuid4()), "name": name,
                   "description": fields.get("description"),
                   "projects": list(fields["projects"]), "date_time": fields.get("date_time"),
                   "tags": list(fields.get("tags") or []),
                   "extra_fields": dict(fields.get("extra_fields") or {})}
        assert ctx.user is not None  # the private portal has a user
        self._db.execute("INSERT INTO objects VALUES ('session', ?, ?, 0, ?)",
                         (session["id"], ctx.user["id"], json.dumps(session)))
        stored = self.store.object("session", session["id"])
        assert stored is not None
        return Response(201, {"session": self._shown("session", stored)})

    # -- visibility and shapes -------------------------------------------------------

    def _sees(self, ctx: Ctx, kind: str, obj: Mapping[str, Any]) -> bool:
        """Sessions through their projects (or their creator); the rest as in 2023."""
        if kind != "session" or ctx.portal != "private" or ctx.user is None:
            return ctx.can_see(obj)
        if obj["_owner"] == ctx.user["id"]:
            return True
        return any(p is not None and ctx.can_see(p) for p in self._projects_of(obj))

    def _may_change(self, ctx: Ctx, session: Mapping[str, Any]) -> bool:
        return any(p is not None and ctx.can_change(p) for p in self._projects_of(session))

    def _projects_of(self, session: Mapping[str, Any]) -> list[dict | None]:
        return [self.store.object("project", pid) for pid in session.get("projects", [])]

    def _shown(self, kind: str, obj: Mapping[str, Any]) -> dict:
        """An object as the API answers it, with its read-only related lists."""
        out = public(obj)
        if kind == "session":
            out.pop("is_public", None)
            out["dataacquisition"] = [r[0] for r in self._db.execute(
                "SELECT id FROM data_acquisition WHERE session = ? ORDER BY seq", (obj["id"],))]
            for key in _UNMODELLED:
                out.setdefault(key, [])
        elif kind == "project":
            out["sessions"] = [s["id"] for s in self._objects("session")
                               if obj["id"] in s.get("projects", [])]
            out["subjects"] = [s["id"] for s in self._objects("subject")
                               if obj["id"] in s.get("projects", [])]
        return out

    def _objects(self, kind: str) -> list[dict]:
        return self.store.objects(kind)

    def record(self, id: str) -> dict | None:
        """One Data Acquisition record as stored, or None (caller holds the lock)."""
        return self.store.record("data_acquisition", id)


def _acquisition(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A record with every field, in the order the server answers them, defaults filled."""
    record = {k: fields.get(k) for k in ACQUISITION_FIELDS}
    for key in ("procedures", "equipment"):
        record[key] = list(record[key] or [])
    if record["details"] is None:
        record["details"] = {}
    if "type_schema_version" not in fields:
        record["type_schema_version"] = SCHEMA_VERSION
    return record


def _is_iso_datetime(text: str) -> bool:
    """An ISO 8601 date or date-time, any fraction of a second, any offset; real dates only.

    By a pattern and then :class:`datetime` for the ranges, not ``fromisoformat`` alone:
    Python 3.10's takes only 3 or 6 digits of fraction, where ISO 8601 (and a recording's
    nanosecond start time) may have any number.
    """
    m = _ISO_DATETIME.match(text)
    if m is None:
        return False
    date, clock, fraction, zone = m.group("date", "time", "fraction", "zone")
    micro = (fraction or "")[:6].ljust(6, "0")
    iso = f"{date}T{clock or '00:00'}{f'.{micro}' if fraction else ''}"
    if zone and zone not in ("Z", "z"):
        iso += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        datetime.fromisoformat(iso)
    except ValueError:
        return False
    return True


_ISO_DATETIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:[.,](?P<fraction>\d+))?)?"
    r"(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?$")


def _session_problems(body: Mapping[str, Any]) -> list[str]:
    """Every problem of a session POST body, as ``field: message``."""
    problems: list[str] = []
    name = body.get("name")
    if name in (None, ""):
        problems.append("name: this field is required")
    elif not isinstance(name, str):
        problems.append("name: expected a string")
    elif len(name) > SESSION_NAME_LIMIT:
        problems.append(f"name: {len(name)} characters, at most {SESSION_NAME_LIMIT}")
    projects = body.get("projects")
    if not projects:
        problems.append("projects: this field is required (at least one project)")
    elif not isinstance(projects, list) or not all(isinstance(p, str) for p in projects):
        problems.append("projects: expected a list of project ids")
    else:
        problems += [f"projects: {p!r} is not a UUID" for p in projects if not is_uuid(p)]
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        problems.append("description: expected a string")
    when = body.get("date_time")
    if when is not None:
        if not isinstance(when, str):
            problems.append("date_time: expected an ISO 8601 date-time string")
        else:
            if not _is_iso_datetime(when):
                problems.append(f"date_time: {when!r} is not an ISO 8601 date-time "
                                "(e.g. 2023-03-22T15:30:00Z)")
    tags = body.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        problems.append("tags: expected a list of strings")
    extra = body.get("extra_fields")
    if extra is not None and not isinstance(extra, Mapping):
        problems.append("extra_fields: expected a JSON object")
    problems += [f"{k}: not a field of Session" for k in sorted(set(body) - _SESSION_WRITABLE)]
    return problems
