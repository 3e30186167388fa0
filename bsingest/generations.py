"""The two generations of the BrainSTEM API, each one object: the generation is chosen
once, at one edge, and everything else asks the object instead of comparing names.

=========  ==========================  ==============================================
           2023 (``brainstem-api.md``)  current, 2026 (``brainstem-api-2026.md``)
=========  ==========================  ==============================================
URL        ``{server}/rest/...``        ``{server}/api/...``
auth       ``Token <key>``              ``Bearer <token>``
records    ``modules/experimentdata``   ``modules/dataacquisition``
container  ``stem/dataset``             ``stem/session``
links      dataset, actions,            session, procedures, equipment, notes
           hardware_device, description
=========  ==========================  ==============================================

A :class:`Generation` holds the URL prefix, the auth scheme, the model names, the names
of the links (``bsingest.toml`` keys, Python keywords and command-line options, made
neutral :class:`~bsingest.records.Links` where they are read: :meth:`LinkNames.neutral`),
the look-ups that check them, and the record's wire form
(:class:`Wire`: the body to send, its problems, the canonical form read back). Outside
this module, :mod:`bsingest.details` (the mapping of ``details``) and the local server's
per-generation modules, no code asks which generation it has.

:data:`DEFAULT` is the one fallback where nothing says a generation (the current one).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from .errors import RecordInvalid, UsageError
from .records import (
    API_2023,
    API_2026,
    APIS,
    RECORD_TYPES,
    DataAcquisition,
    ExperimentData,
    Links,
    check_record,
    legacy_key,
)
from .recordtypes import legacy_name, lookup
from .recordtypes import plain as _plain

__all__ = ["CURRENT", "DEFAULT", "GENERATIONS", "NAMES", "NEUTRAL", "Generation", "LinkNames",
           "Wire", "generation", "implied_by", "wire_for"]

#: The generation names, oldest first.
NAMES: tuple[str, ...] = APIS
#: The current generation (brainstem.org speaks it).
CURRENT = API_2026
#: What a run uses where nothing states or finds a generation (the local demo server,
#: a record read without one): the one fallback.
DEFAULT = CURRENT


class RecordSource(Protocol):
    """What :meth:`Wire.records` needs of a client (a :class:`BrainstemClient`)."""

    def experiment_data(self, dataset: str, type: str | None = None
                        ) -> list[dict[str, Any]]: ...

    def data_acquisitions(self, session: str, type: str | None = None
                          ) -> list[dict[str, Any]]: ...


class Wire:
    """One API generation's wire form of records; :func:`wire_for` gives the instances.

    Bodies are plain JSON objects (what is POSTed, and what the journal keeps); records
    read back from a server may be in any form the generation allows (the current one:
    ``details`` in schema 1.1.0 with units, or 0.0.0 with bare numbers).
    """

    api: ClassVar[str]
    #: ``app/model`` of the records.
    model: ClassVar[str]
    #: The field naming the container of a record: ``dataset`` or ``session``.
    container: ClassVar[str]
    #: What the generation calls a record, for messages.
    noun: ClassVar[str]
    #: The field holding the type's details: ``type_json`` or ``details``.
    details_field: ClassVar[str]
    #: The canonical form's link names (:meth:`canonical`) as this generation's fields.
    field_names: ClassVar[Mapping[str, str]] = {}
    _compared: ClassVar[tuple[str, ...]]  # the writable fields a PATCH may carry

    def body(self, record_type: str, type_json: Mapping[str, Any], links: Links
             ) -> dict[str, Any]:
        """The POST body of a record (``record_type``/``type_json`` as extractors write)."""
        raise NotImplementedError

    def problems(self, body: Mapping[str, Any]) -> list[str]:
        """Every problem of a POST body, as ``field: message``."""
        raise NotImplementedError

    def canonical(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """What a record says, in one form whichever wire form it came in.

        The 2023 type and ``type_json`` (bare numbers in Hz and µV/bit), the links as
        sorted lists, the notes. Two records that say the same compare equal.
        """
        raise NotImplementedError

    def changes(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The fields of a PATCH that makes a server's record say what ``body`` says."""
        return {k: body[k] for k in self._compared if k in body}

    def records(self, client: RecordSource, container: str, type: str | None = None
                ) -> list[dict[str, Any]]:
        """Every record of ``container`` on the server (of one wire ``type`` if given)."""
        raise NotImplementedError

    def details(self, record: Mapping[str, Any]) -> Mapping[str, Any]:
        """The type-specific part: ``type_json`` or ``details`` (empty when absent)."""
        value = record.get(self.details_field)
        return value if isinstance(value, Mapping) else {}

    def file_name(self, record: Mapping[str, Any]) -> str:
        return str(self.details(record).get("fileName", ""))

    def key(self, record: Mapping[str, Any]) -> str:
        """What tells a record apart in its container: ``type|fileName``.

        A record that bsingest 0.1 wrote carries a ``stream``; its key is the legacy
        ``type|fileName|stream`` (:func:`legacy_key`).
        """
        found = self.details(record)
        rtype, name = str(record.get("type")), str(found.get("fileName", ""))
        if "stream" in found:
            return legacy_key(rtype, name, str(found["stream"]))
        return f"{rtype}|{name}"

    def legacy_key(self, record_type: str, name: str, stream: str | None) -> str:
        """:func:`legacy_key` with the type named as this generation names it."""
        return legacy_key(self.wire_type(record_type), name, stream)

    def is_legacy(self, record: Mapping[str, Any]) -> bool:
        """Whether a server's record is in the form bsingest 0.1 wrote (with ``stream``)."""
        return "stream" in self.details(record)

    def wire_type(self, record_type: str) -> str:
        """A 2023 type as this generation names it."""
        return record_type

    def same_content(self, ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> bool:
        """Whether the server's record already says what ours says."""
        return self.canonical(ours) == self.canonical(theirs)

    def with_container(self, body: Mapping[str, Any], container: str) -> dict[str, Any]:
        """``body`` linked to another container (a session created after it was built)."""
        return {**body, self.container: container}

    @property
    def generation(self) -> Generation:
        return GENERATIONS[self.api]

    def __repr__(self) -> str:
        return f"wire_for({self.api!r})"


class _Wire2023(Wire):
    api, model, container, noun = API_2023, "modules/experimentdata", "dataset", "Experiment Data"
    details_field = "type_json"
    field_names: ClassVar[Mapping[str, str]] = {
        "procedures": "actions", "equipment": "hardware_device", "notes": "description"}
    _compared = ("type", "actions", "hardware_device", "description", "type_json")

    def body(self, record_type: str, type_json: Mapping[str, Any], links: Links
             ) -> dict[str, Any]:
        if record_type not in RECORD_TYPES and legacy_name(record_type) is None:
            raise RecordInvalid([f"type: {record_type} has no 2023 equivalent and the server "
                                 "speaks the 2023 API (Experiment Data); map it to a 2023 "
                                 "type with --type-map, or use a current server"],
                                subject=str(type_json.get("fileName") or "record"))
        record_type = self.wire_type(record_type)
        if len(links.equipment) > 1:
            raise RecordInvalid(["hardware_device: the 2023 API links one hardware device, "
                                 f"not {len(links.equipment)}"],
                                subject=str(type_json.get("fileName") or "record"))
        return ExperimentData(type=record_type, dataset=links.container,
                              actions=tuple(links.procedures), type_json=dict(type_json),
                              hardware_device=links.equipment[0] if links.equipment else None,
                              description=links.notes).to_json()

    def problems(self, body: Mapping[str, Any]) -> list[str]:
        return check_record(body)

    def canonical(self, record: Mapping[str, Any]) -> dict[str, Any]:
        device = record.get("hardware_device")
        return {"type": record.get("type"), "type_json": _plain(self.details(record)),
                "procedures": _links(record.get("actions")),
                "equipment": [device] if device else [], "notes": record.get("description")}

    def records(self, client: RecordSource, container: str, type: str | None = None
                ) -> list[dict[str, Any]]:
        return client.experiment_data(container, type=type)

    def wire_type(self, record_type: str) -> str:
        """The 2023 name of a type (a type the 2023 API lacks keeps its name here, and
        :meth:`body` refuses it)."""
        if record_type in RECORD_TYPES:
            return record_type
        return legacy_name(record_type) or record_type


class _Wire2026(Wire):
    api, model, container, noun = API_2026, "modules/dataacquisition", "session", \
        "Data Acquisition"
    details_field = "details"
    _compared = ("type", "procedures", "equipment", "notes", "type_schema_version", "details")

    def body(self, record_type: str, type_json: Mapping[str, Any], links: Links
             ) -> dict[str, Any]:
        from .details import SCHEMA_VERSION, to_details

        type_2026, details = to_details(record_type, type_json)
        return DataAcquisition(type=type_2026, session=links.container,
                               procedures=tuple(links.procedures), details=details,
                               equipment=tuple(links.equipment), notes=links.notes,
                               type_schema_version=SCHEMA_VERSION).to_json()

    def problems(self, body: Mapping[str, Any]) -> list[str]:
        from .details import check_acquisition

        return check_acquisition(body)

    def canonical(self, record: Mapping[str, Any]) -> dict[str, Any]:
        from .details import from_details

        links = {"procedures": _links(record.get("procedures")),
                 "equipment": _links(record.get("equipment")),
                 "notes": record.get("notes")}
        try:
            rtype, type_json = from_details(str(record.get("type")), self.details(record),
                                            record.get("type_schema_version"))
        except RecordInvalid:  # unreadable details say something else than ours
            return {"type": record.get("type"), "unreadable": _plain(self.details(record)),
                    **links}
        return {"type": rtype, "type_json": type_json, **links}

    def records(self, client: RecordSource, container: str, type: str | None = None
                ) -> list[dict[str, Any]]:
        return client.data_acquisitions(container, type=type)

    def wire_type(self, record_type: str) -> str:
        found = lookup(record_type)
        return found.name if found is not None else record_type


def _links(value: Any) -> Any:
    """A record's list of linked ids in one order, for comparing.

    A server's record may hold anything there (an older server, a proxy's rewrite): a
    list of other values is ordered by their text (sorting ``[1, "a"]`` raises), and
    anything that is not a list is kept as it is, so that it compares unequal to ours
    and is named as a differing field rather than failing the record.
    """
    if not value:
        return []
    if not isinstance(value, list):
        return value
    if all(isinstance(v, str) for v in value):
        return sorted(value)
    return sorted(value, key=lambda v: (type(v).__name__, repr(v)))


@dataclass(frozen=True)
class LinkNames:
    """What a generation calls the four links of a record, as option fields and file keys.

    ``container`` is the dataset or session; ``procedures`` the actions or procedures;
    ``equipment`` the hardware device (2023: one) or the equipment; ``notes`` the
    description or notes. ``creates`` are the names of finding or creating the container
    by name (the current generation's ``--create-session``).
    """

    container: str
    procedures: str
    equipment: str
    notes: str
    creates: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        """The names that hold IDs (the container, the procedures, the equipment)."""
        return (self.container, self.procedures, self.equipment)

    @property
    def all(self) -> tuple[str, ...]:
        return (self.container, self.procedures, self.equipment, self.notes, *self.creates)

    def name_of(self, link: str) -> str:
        """This generation's name of a neutral link (``container`` -> ``dataset``)."""
        return str(getattr(self, link)) if link in NEUTRAL else link

    def neutral(self, values: Mapping[str, Any]) -> Links:
        """What ``values`` (keyed by these names, as a user gives them) say, as neutral
        :class:`~bsingest.records.Links`; a link left out is empty."""
        return Links(values.get(self.container) or "", _ids(values.get(self.procedures)),
                     _ids(values.get(self.equipment)), values.get(self.notes))


def _ids(value: str | Collection[str] | None) -> tuple[str, ...]:
    """One ID (the 2023 hardware device; ``""``: none), several, or none, as a tuple."""
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(value or ())


#: The neutral names of a record's links (the fields of :class:`~bsingest.records.Links`).
NEUTRAL: tuple[str, ...] = ("container", "procedures", "equipment", "notes")


#: How a user types each link's name on the command line.
OPTION_NAMES: dict[str, str] = {
    "dataset": "--dataset UUID", "actions": "--action UUID",
    "hardware_device": "--hardware-device UUID", "description": "--description",
    "session": "--session UUID", "procedures": "--procedure UUID",
    "equipment": "--equipment UUID", "notes": "--notes",
    "create_session": "--create-session", "project": "--project UUID",
    "session_name": "--session-name"}


@dataclass(frozen=True)
class Generation:
    """One generation of the BrainSTEM API: where it lives, what its names are, and the
    wire form of its records."""

    name: str               # "2023" | "2026"
    prefix: str             # the URL segment after the server: "rest" | "api"
    scheme: str             # the Authorization scheme: "Token" | "Bearer"
    record_model: str       # where data records live
    container_model: str    # what holds them (a dataset, a session)
    container_field: str    # the record's field naming its container
    probe_model: str        # a list every instance of this generation has
    #: ``app/model`` of the models this generation alone has (always addressed in it).
    own_models: tuple[str, ...]
    links: LinkNames
    #: What the server speaks, for messages.
    speaks: str
    #: (kind, ``app/model``) of each link's look-up: container, procedures, equipment.
    lookups: tuple[tuple[str, str], ...]
    #: The local demo server's attribute holding the seed user's token of this generation.
    demo_token: str
    #: Whether the equipment link holds several IDs (the 2023 hardware device is one).
    many_equipment: bool
    #: (neutral link, the message when it is missing) of the links a run cannot do without.
    required: tuple[tuple[str, str], ...] = ()
    #: What the links are, for the message of a look-up that failed.
    references: str = ""
    #: Whether a token is had by device sign-in (else by username and password).
    device_sign_in: bool = False

    @property
    def wire(self) -> Wire:
        """The wire form of this generation's records."""
        return _WIRES[self.name]

    def option(self, link: str) -> str:
        """How a user types ``link`` (a field name) on the command line: ``--action UUID``."""
        return OPTION_NAMES[link]

    def other(self) -> Generation:
        """The other generation (for messages that say which names to use instead)."""
        return next(g for g in GENERATIONS.values() if g.name != self.name)

    def __str__(self) -> str:
        return self.name


_WIRES: dict[str, Wire] = {API_2023: _Wire2023(), API_2026: _Wire2026()}

GENERATIONS: dict[str, Generation] = {
    API_2023: Generation(
        API_2023, "rest", "Token", "modules/experimentdata", "stem/dataset", "dataset",
        "stem/dataset", ("modules/experimentdata", "stem/dataset", "modules/action"),
        LinkNames("dataset", "actions", "hardware_device", "description"),
        "the 2023 BrainSTEM API (datasets, actions, hardware devices, descriptions)",
        (("dataset", "stem/dataset"), ("action", "modules/action"),
         ("hardwaredevice", "resources/hardwaredevice")),
        "token", many_equipment=False,
        required=(("container", "no dataset (--dataset UUID, or 'dataset' in bsingest.toml)"),
                  ("procedures", "no action (--action UUID, or 'actions' in bsingest.toml)")),
        references="dataset, actions and hardware device"),
    API_2026: Generation(
        API_2026, "api", "Bearer", "modules/dataacquisition", "stem/session", "session",
        "stem/session",
        ("modules/dataacquisition", "stem/session", "modules/procedure", "modules/equipment"),
        LinkNames("session", "procedures", "equipment", "notes",
                  ("create_session", "project", "session_name")),
        "the current BrainSTEM API (2026: sessions, procedures, equipment, notes)",
        (("session", "stem/session"), ("procedure", "modules/procedure"),
         ("equipment", "modules/equipment")),
        "pat", many_equipment=True,
        required=(("container", "no session (--session UUID, 'session' in bsingest.toml, or "
                              "--create-session --project UUID)"),),
        references="session, procedures and equipment", device_sign_in=True),
}
assert tuple(GENERATIONS) == NAMES


def generation(name: str | None) -> Generation:
    """The :class:`Generation` called ``name``; None: :data:`DEFAULT`."""
    try:
        return GENERATIONS[name or DEFAULT]
    except KeyError:
        raise UsageError(f"unknown API generation {name!r}: one of {', '.join(NAMES)}"
                         ) from None


def wire_for(api: str | None) -> Wire:
    """The :class:`Wire` of an API generation, ``"2023"`` or ``"2026"`` (None: DEFAULT)."""
    try:
        return _WIRES[api or DEFAULT]
    except KeyError:
        raise ValueError(f"unknown API generation {api!r}: one of {', '.join(NAMES)}") from None


def implied_by(names: Collection[str]) -> Generation | None:
    """The one generation whose link names ``names`` (fields given by the user) use, when
    they use one generation's names only; None when they name none, or both.

    ``--dataset``/``--action`` say the user means the 2023 API, ``--session``/
    ``--procedure`` the current one: a server that speaks both is addressed in that one.
    Names both generations share (``equipment`` is the 2026 name only) count for theirs.
    """
    found = {g.name for g in GENERATIONS.values() for n in names if n in g.links.all}
    return GENERATIONS[found.pop()] if len(found) == 1 else None


def model_generation(path: str) -> Generation | None:
    """The generation that alone has ``app/model`` ``path``; None when both have it."""
    return next((g for g in GENERATIONS.values() if path in g.own_models), None)
