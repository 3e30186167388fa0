"""What to ingest a session as: IDs, policy and per-file overrides.

Settings come from three places; a later one wins key by key:

1. the user's config file, ``<user config dir>/bsingest/config.toml`` (shared with
   :mod:`bsingest.settings`);
2. ``bsingest.toml`` in the session folder (so a rig hook can run ``bsingest ingest DIR``);
3. the command line or the Python call.

A ``bsingest.toml`` for the current BrainSTEM API looks like this::

    session = "1f7f103b-e949-405a-9b01-ddda3b2f10cf"
    procedures = ["087b71c4-6785-437c-b8ef-e35a82a8463e"]
    equipment = ["..."]              # optional
    notes = "probe 1, CA1"           # optional
    existing = "skip"                # skip | update | error

or, to create the session (named like the folder unless ``session_name`` says) when no
session of that name exists yet::

    create_session = true
    project = "..."

For a 2023 server (Experiment Data) the same file names ``dataset``, ``actions``,
``hardware_device`` and ``description`` instead; a file may hold both sets, and the set
of the generation the server speaks is used. Per-file overrides::

    [[files]]                        # per-file overrides, by glob on the path in the session
    match = "*.lfp"
    type = "GeneralTimeSeries"
    description = "LFP"

    [[files]]
    match = "raw/*.bin"
    n_channels = 64
    sr = 30000
    dtype = "int16"
    lsb = 0.195

    [[files]]                        # what imaging files do not say, with units
    match = "*.mesc"
    excitation_wavelength = "920 nm"
    laser_power = "30 mW"            # at the sample; a percentage is not a power
    imaging_depth = "250 um"
"""

from __future__ import annotations

import enum
import fnmatch
import math
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import recordtypes
from .errors import UsageError
from .generations import DEFAULT, GENERATIONS, NEUTRAL, OPTION_NAMES, Generation, generation
from .paths import glob_pattern, local_path
from .quantities import STATED as STATED_QUANTITIES
from .quantities import QuantityError
from .quantities import parse as parse_quantity
from .records import DESCRIPTION_LIMIT, Links
from .sessions import NAME_LIMIT, is_text
from .settings import PORTALS, check_server_text, config_file, present, read_toml

__all__ = ["SESSION_FILE", "Existing", "FileRule", "IngestOptions", "load_options",
           "stated_rules", "type_map_rules"]

SESSION_FILE = "bsingest.toml"
# No "jobs": no IngestOptions field takes it, and a bsingest.toml that said it made every
# run end in a TypeError traceback (load_options' keyword check).
_TOP_KEYS = {"dataset", "actions", "hardware_device", "description", "existing", "files",
             "server", "portal", "journal", "settle", "api", "session", "procedures",
             "equipment", "notes", "project", "create_session", "session_name",
             "report", "watch"}  # [report]: read by bsingest.report; [watch]: bsingest.watch
# The user config file's keys that bsingest.settings reads, per server, and checks itself
# (server, api beside it, the [servers."URL"] tables that remember_api writes): not
# options of a session. Kept as options, a config file bsingest had written ([servers])
# made every later ingest a usage error, and an api stated for one server applied to all
# of them, blamed on the session's bsingest.toml.
_SETTINGS_KEYS = frozenset({"server", "api", "servers"})
# What a file without a sidecar needs said, and the optical quantities files rarely say.
_STATED_KEYS = ("n_channels", "sr", "dtype", "lsb", *STATED_QUANTITIES)
_RULE_KEYS = {"match", "type", "hardware_device", "description", "equipment", "notes",
              *_STATED_KEYS}
_LISTS = ("actions", "procedures", "equipment")


class Existing(str, enum.Enum):
    """What to do when the dataset already holds a record for a file, with other values."""

    SKIP = "skip"  # leave the server's record as it is
    UPDATE = "update"  # PATCH it with what the file says now
    ERROR = "error"  # report the file as failed


@dataclass(frozen=True, slots=True)
class FileRule:
    """Overrides for the files whose session-relative path matches ``match``.

    ``equipment`` and ``notes`` are per API generation (the rule may say them in either
    generation's names: ``hardware_device``/``description`` or ``equipment``/``notes``),
    in neutral terms: an equipment of ``()`` means none, a generation left out: as the
    session says.
    """

    match: str
    type: str | None = None
    stated: Mapping[str, Any] = field(default_factory=dict)
    equipment: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)

    def matches(self, relpath: str) -> bool:
        name = relpath.rsplit("/", 1)[-1]
        return fnmatch.fnmatchcase(relpath, self.match) or fnmatch.fnmatchcase(name, self.match)


@dataclass(frozen=True, slots=True)
class FileSettings:
    """The settings that apply to one file (its links for the options' generation)."""

    record_type: str | None
    stated: Mapping[str, Any]
    equipment: tuple[str, ...] = ()
    notes: str | None = None


#: What nothing says: no links.
_NO_LINKS = Links("")


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """Everything ``ingest`` needs to know besides the files themselves.

    What the records link to is neutral (:class:`~bsingest.records.Links`: container,
    procedures, equipment, notes) for one API generation, :attr:`api`. The names a user
    gives (``--dataset``, ``session = ...`` in ``bsingest.toml``) are translated where they
    are read (:func:`load_options`, by the :class:`~bsingest.generations.Generation`
    objects). Until the generation is known, :attr:`named` holds the links each
    generation's names gave (a settings file may hold both sets); :meth:`for_api` keeps
    the chosen one's.
    """

    #: The links, per API generation whose names gave them; one entry once :attr:`api`
    #: is chosen (:meth:`for_api`).
    named: Mapping[str, Links] = field(default_factory=dict)
    existing: Existing = Existing.SKIP
    rules: tuple[FileRule, ...] = ()
    server: str | None = None
    portal: str = "private"
    journal: str | None = None
    settle: float = 0.0
    #: The current API's container made on the way (``--create-session``).
    create_session: bool = False
    project: str | None = None
    session_name: str | None = None
    #: The API generation (``2023``/``2026``): stated, else the server's, once known.
    api: str | None = None
    #: ``--verify``: families whose count trusts an index check it against the data.
    verify: bool = False
    #: The names the user gave in the call itself (command line, Python), not read from a
    #: file, as they gave them (``dataset``, ``procedures``): naming another generation's
    #: link there is a usage error, never silently ignored, and messages name them.
    given: frozenset[str] = frozenset()
    #: Where each value read from a file came from (its name there -> file), for messages.
    origins: Mapping[str, str] = field(default_factory=dict)

    @property
    def generation(self) -> Generation:
        """The API generation these options are for (:data:`~bsingest.generations.DEFAULT`
        until :meth:`for_api` says)."""
        return generation(self.api or DEFAULT)

    @property
    def link_values(self) -> Links:
        """What the records link to, for :attr:`generation` (empty where nothing says)."""
        return self.named.get(self.generation.name, _NO_LINKS)

    @property
    def container(self) -> str | None:
        """The dataset (2023) or session (current API) the records go to."""
        return self.link_values.container or None

    @property
    def procedures(self) -> tuple[str, ...]:
        """The actions (2023) or procedures every record links to."""
        return self.link_values.procedures

    @property
    def equipment(self) -> tuple[str, ...]:
        """The hardware device (2023: at most one) or equipment of the session's records."""
        return self.link_values.equipment

    @property
    def notes(self) -> str | None:
        """The description (2023) or notes of every record."""
        return self.link_values.notes

    @property
    def procedure_ids(self) -> tuple[str, ...]:
        """:attr:`procedures` (the name :func:`~bsingest.ingest.check_references` reads)."""
        return self.procedures

    def with_container(self, container: str) -> IngestOptions:
        """These options with the records going to ``container`` (a session just made)."""
        gen = self.generation.name
        return replace(self, named={**self.named, gen: replace(self.link_values,
                                                               container=container)})

    def for_file(self, relpath: str) -> FileSettings:
        """Settings for one file: the last matching rule wins, key by key."""
        gen = self.generation.name
        rtype, equipment, notes = None, self.equipment, self.notes
        stated: dict[str, Any] = {}
        for rule in self.rules:
            if rule.matches(relpath):
                rtype = rule.type or rtype
                if gen in rule.equipment:
                    equipment = rule.equipment[gen]
                notes = rule.notes.get(gen) or notes
                stated.update(rule.stated)
        return FileSettings(rtype, stated, equipment, notes)

    def equipment_ids(self) -> tuple[str, ...]:
        """Every equipment (2023: hardware device) a record links to, the rules' too."""
        gen = self.generation.name
        found = {*self.equipment, *(e for r in self.rules for e in r.equipment.get(gen, ()))}
        return tuple(sorted(found))

    def links(self, relpath: str, container: str | None = None) -> Links:
        """What the record of one file links to."""
        per_file = self.for_file(relpath)
        return Links(container or self.container or "", self.procedures, per_file.equipment,
                     per_file.notes)

    def _value(self, gen: Generation, name: str) -> Any:
        """The value of ``name``, one of ``gen``'s link names (or a name of creating)."""
        if name in gen.links.creates:
            return getattr(self, name)
        links = self.named.get(gen.name, _NO_LINKS)
        return getattr(links, _NEUTRAL_OF[gen.name][name])

    def for_api(self, api: str, server: str = "the server", *, row: str | None = None,
                in_row: Collection[str] = (), stated: str | None = None) -> IngestOptions:
        """These options for a server of generation ``api``; a usage error when the user
        named the other generation's links (saying which name to use instead). ``row``
        (``m.csv:2``) gave the links named in ``in_row``: messages name its columns.
        ``stated`` (``--api 2023``): the generation was stated there, not found on the
        server, and messages say so (no request has been made)."""
        gen = generation(api)
        other = gen.other()

        def said(name: str) -> str:  # how the user gave a link, for messages
            return f"{row}: {name}" if name in in_row else OPTION_NAMES[name].split()[0]

        def instead(name: str, right: str) -> str:
            if name not in in_row:
                return OPTION_NAMES[right]
            # In the 2023 manifest layout, 'session' is the folder: the current one has both.
            return ("a session column of UUIDs beside a folder column" if right == "session"
                    else f"a {right} column")

        speaks = (f"{stated} states {gen.speaks}" if stated
                  else f"{server} speaks {gen.speaks}")
        for name, right in zip(other.links.all, gen.links.all, strict=False):
            if name in self.given and _present(self._value(other, name)):
                raise UsageError(f"{said(name)}: {speaks}; use {instead(name, right)}")
        for name in other.links.creates:
            if name in self.given and _present(getattr(self, name)):
                raise UsageError(f"{said(name)}: {speaks}, which has no "
                                 f"{other.links.container}s to create; use "
                                 f"{OPTION_NAMES[gen.links.container]}")
        # Read from files: a file may hold both sets; it is wrong only when it names the
        # other generation's container and not this one's.
        here, there = gen.links.container, other.links.container
        creating = bool(gen.links.creates) and self.create_session
        if (not self._value(gen, here) and self._value(other, there)
                and there not in self.given and not creating):
            where = self.origins.get(there, "a settings file")
            raise UsageError(f"{where}: gives {there} = ..., but {speaks}; "
                             f"give {here} = \"UUID\" there, or {OPTION_NAMES[here]}")
        chosen = self.named.get(gen.name, _NO_LINKS)
        return replace(self, api=gen.name, named={gen.name: chosen})

    def check_ids(self, given_where: str | None = None, *, every: bool = False) -> None:
        """A :class:`UsageError` for the first ID of :attr:`api`'s links that is not a UUID.

        Checked before any request, and named by where the user wrote it: the file it was
        read from, else ``given_where`` (a batch manifest's line), else the option. Left
        to the client, it would be refused as the ``id`` of a URL, naming neither.
        ``every``: the IDs given in the call of both generations (before the generation
        is known), and those read from files when they name one generation's links only.
        """
        from .ids import check_id  # not the client's package: no httpx yet

        self.check_notes(given_where)
        gens = tuple(GENERATIONS.values()) if every else (self.generation,)
        # Links of one generation only (a bsingest.toml with session and procedures): they
        # are the ones used whatever the server speaks, so they are checked now. Else a
        # bad ID there was found after the generation probe, a request before exit 2.
        only = next(iter(self.named)) if len(self.named) == 1 else None
        for gen in gens:
            names = (*gen.links.ids, *(n for n in gen.links.creates if n == "project"))
            for name in names:
                if every and name not in self.given and gen.name != only:
                    continue
                if name in self.given:
                    what = (f"{given_where}: {name}" if given_where
                            else OPTION_NAMES[name].split()[0])
                else:
                    what = f"{self.origins.get(name, 'a settings file')}: {name}"
                for item in _as_ids(self._value(gen, name)):
                    check_id(item, what)
            if every and gen.name != only:  # (a [[files]] rule's equipment: the same)
                continue
            per_rule = gen.links.equipment
            for rule in self.rules:
                for item in rule.equipment.get(gen.name, ()):
                    where = self.origins.get("rules") or given_where or SESSION_FILE
                    check_id(item, f"{where}: [[files]] match {rule.match!r}: {per_rule}")


    def check_notes(self, given_where: str | None = None) -> None:
        """A :class:`UsageError` for notes (2023: a description) longer than a record may
        hold, named by where the user wrote them.

        Left to the record's validation, --notes of 600 characters went to the server's
        look-ups first and then failed every record (exit 1, not the usage error, 2).
        Text that is not UTF-8 is refused too.
        """
        for gen in GENERATIONS.values():
            name = gen.links.notes
            texts = [(self._where(name, given_where), self.named.get(gen.name, _NO_LINKS).notes)]
            texts += [(f"{self.origins.get('rules') or given_where or SESSION_FILE}: "
                       f"[[files]] match {r.match!r}: {name}", r.notes.get(gen.name))
                      for r in self.rules]
            if gen.links.creates and self.session_name:
                _check_session_name(self._where("session_name", given_where),
                                    self.session_name)
            for where, text in texts:
                if text and len(text) > DESCRIPTION_LIMIT:
                    raise UsageError(f"{where}: {len(text)} characters, at most "
                                     f"{DESCRIPTION_LIMIT}")
                if text and not is_text(text):
                    # Bytes that were not UTF-8 on the command line: the record failed as
                    # if its file's name were ("rename the file"), after the look-ups.
                    raise UsageError(f"{where}: not valid UTF-8 text ({text!r})")

    def _where(self, name: str, given_where: str | None) -> str:
        """Where the user gave link ``name``: the option, a manifest's line or a file."""
        if name in self.given:
            return (f"{given_where}: {name}" if given_where
                    else OPTION_NAMES[name].split()[0])
        return f"{self.origins.get(name, 'a settings file')}: {name}"


#: Per generation: its link names -> the neutral names (``dataset`` -> ``container``).
_NEUTRAL_OF: dict[str, dict[str, str]] = {
    g.name: {g.links.name_of(n): n for n in NEUTRAL} for g in GENERATIONS.values()}
#: The names of creating a container, kept as they are (the current API's only).
_CREATES = frozenset(n for g in GENERATIONS.values() for n in g.links.creates)


def load_options(session_dir: str | os.PathLike[str] | None = None, **given: Any) -> IngestOptions:
    """Options for a session: user config, then the session's ``bsingest.toml``, then ``given``.

    The layers are merged key by key in the names the user gives (either generation's:
    ``dataset``/``session``, ...); ``None`` and empty lists leave a value as it is. The
    links are then translated to neutral :class:`~bsingest.records.Links` per generation.
    """
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    config = config_file()
    if present(config):
        # Its server and api are read by bsingest.settings, for the server a run talks to.
        layer = _read(config, leave=_SETTINGS_KEYS)
        _merge(values, layer)
        origins.update({k: str(config) for k, v in layer.items() if _present(v)})
    if session_dir is not None:
        session_file = Path(session_dir) / SESSION_FILE
        if present(session_file):
            layer = _read(session_file)
            _merge(values, layer)
            origins.update({k: str(session_file) for k, v in layer.items() if _present(v)})
    named = frozenset(k for k, v in given.items() if k in OPTION_NAMES and _present(v))
    _merge(values, given)
    return _options(values, given=named, origins=origins)


def _merge(values: dict[str, Any], layer: Mapping[str, Any]) -> None:
    """``layer`` over ``values``, key by key: ``None`` (and empty lists) leave a value."""
    for key, value in layer.items():
        if value is None or value == ():
            continue
        if key in _LISTS:
            value = _ids(value, key)
        elif key == "create_session":
            value = bool(value)
        elif key == "existing":
            value = _existing(value, "existing")
        elif key == "rules":
            value = tuple(values.get("rules", ())) + tuple(value)  # later rules win
        values[key] = value


def _options(values: Mapping[str, Any], *, given: frozenset[str],
             origins: Mapping[str, str]) -> IngestOptions:
    """The options ``values`` (keyed by the user's names) say, links made neutral."""
    named = {g.name: g.links.neutral(values) for g in GENERATIONS.values()
             if any(_present(values.get(n)) for n in _NEUTRAL_OF[g.name])}
    rest = {k: v for k, v in values.items()
            if k not in OPTION_NAMES or k in _CREATES}
    unknown = set(rest) - _OPTION_FIELDS
    if unknown:
        raise TypeError(f"load_options() got unexpected keyword arguments "
                        f"{', '.join(sorted(unknown))}")
    return IngestOptions(named=named, given=given, origins=origins, **rest)


_OPTION_FIELDS = frozenset(IngestOptions.__dataclass_fields__) - {"named", "given", "origins"}


def _check_session_name(where: str, name: str) -> None:
    """The rules of :func:`bsingest.sessions.ensure_session`, before the server is asked
    anything (a name given that is not UTF-8 was a traceback there, after the probe)."""
    if not name or len(name) > NAME_LIMIT:
        raise UsageError(f"{where}: session name {name!r}: 1 to {NAME_LIMIT} characters")
    if not is_text(name):
        raise UsageError(f"{where}: session name {name!r} is not valid UTF-8 text")


def _present(value: Any) -> bool:
    return value is not None and value != () and value != [] and value is not False


def _as_ids(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    """One ID, a tuple of them, or none, as a tuple."""
    return value if isinstance(value, tuple) else (value,) if value else ()


def _ids(value: Any, name: str) -> tuple[str, ...]:
    """A list of IDs; a bare string is refused (``actions="<uuid>"`` is a common slip)."""
    if isinstance(value, str):
        raise UsageError(f"{name}: expected a list of UUIDs, got the string {value!r} "
                         f"(write {name}=[{value!r}])")
    try:
        # Once each, in the order given: a server keeps links as a set, so a record that
        # named one twice would differ from what it holds on every later run.
        return tuple(dict.fromkeys(str(v) for v in value))
    except TypeError:
        raise UsageError(f"{name}: expected a list of UUIDs, got {value!r}") from None


def type_map_rules(pairs: Sequence[str]) -> tuple[FileRule, ...]:
    """``GLOB=TYPE`` strings (``--type-map``) as rules."""
    rules = []
    for pair in pairs:
        glob, sep, rtype = pair.partition("=")
        if not sep or not glob or record_type(rtype) is None:
            raise UsageError(f"--type-map {pair!r}: expected GLOB=TYPE with TYPE one of "
                             f"{', '.join(type_names())}")
        rules.append(FileRule(match=glob_pattern(glob), type=record_type(rtype)))
    return tuple(rules)


def record_type(name: Any) -> str | None:
    """A record type a user names, in either generation's terms, as extractors name it:
    by its current name (``Extracellular`` -> ``ExtracellularEphys``); None when it names
    no type."""
    found = recordtypes.lookup(name)
    return found.name if found is not None else None


def type_names() -> list[str]:
    """Every record type name a user may give: both generations' names."""
    return recordtypes.type_names()


def stated_rules(rtype: str | None = None, stated: Mapping[str, Any] | None = None
                 ) -> tuple[FileRule, ...]:
    """``--type``, ``--n-channels``, ``--sr``, ``--dtype``, ``--lsb`` as a rule for every file.

    The values ``extract`` takes for files without a sidecar; on ``ingest`` and ``batch``
    they apply to every file of the session (a sidecar's values, where there is one, are
    what the extractor weighs them against, as with ``extract``).
    """
    if stated is not None and not isinstance(stated, Mapping):
        raise UsageError(f"stated values must be a mapping (stated={{'sr': 30000}}), "
                         f"not {_described(stated)}")
    given = {k: v for k, v in (stated or {}).items() if v is not None}
    unknown = set(given) - set(_STATED_KEYS)
    if unknown:
        raise UsageError(f"unknown stated values {', '.join(sorted(map(str, unknown)))} "
                         f"(known: {', '.join(_STATED_KEYS)})")
    # As a [[files]] rule's, before any file is read: a count of 400 digits reached the
    # extractors' float() as "unexpected OverflowError (a bug)", a dtype none reads failed
    # each file. Numbers as text ("1000.5") are the extractors' to read, as they always were.
    check_types("stated values", {k: v for k, v in given.items()
                                  if k == "dtype" or not isinstance(v, str)}, RULE_TYPES)
    _check_quantities("stated values", given)
    if rtype is not None and record_type(rtype) is None:
        raise UsageError(f"--type {rtype!r} is not one of {', '.join(type_names())}")
    if not given and rtype is None:
        return ()
    return (FileRule(match="*", type=record_type(rtype), stated=given),)


# What each key's value must be. A value of another type (files = 5, match = 5,
# n_channels = true, sr = inf) is a usage error naming the file and the key: taken as it
# was, it was silently ignored, or became a traceback, or a record with Infinity.
def _finite(v: int | float) -> bool:
    """math.isfinite, False for an integer too large for a float (it raises
    OverflowError: sr = 1 and 400 zeros in a bsingest.toml was a traceback)."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _number(low: float, *, open_low: bool, high: float = math.inf
            ) -> tuple[str, Callable[[Any], bool]]:
    def ok(v: Any) -> bool:
        return (isinstance(v, int | float) and not isinstance(v, bool) and _finite(v)
                and (v > low if open_low else v >= low) and v <= high)
    if math.isfinite(high):
        return f"a finite number from {low:g} to {high:g}", ok
    return (f"a finite number {'above' if open_low else 'of'} {low:g}"
            + ("" if open_low else " or more"), ok)


_TEXT = ("a string", lambda v: isinstance(v, str))
_TEXTS = ("a string or a list of strings",
          lambda v: isinstance(v, str) or (isinstance(v, list)
                                           and all(isinstance(x, str) for x in v)))
_COUNT = ("a whole number of 1 or more",
          lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1)
# n_channels: at most what the extractors take (extractors.base.COUNT_LIMIT): above it, a
# 400-digit count reached float() there and was "unexpected OverflowError (a bug)".
_CHANNELS = ("a whole number from 1 to 2**53",
             lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 2**53)
#: The longest wait a user may ask for (settle, poll, retry), in seconds: a day. A wait of
#: 1e308 s was an OverflowError traceback from time.sleep; no recording takes a day to
#: stop changing.
WAIT_LIMIT = 86400.0
#: The sample types raw binary files are read as (--dtype; extractors/rawbinary.py).
DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64")
# A dtype no extractor reads was found only when each file was read: exit 1 with the
# file's error, not the usage error naming bsingest.toml that --dtype gives.
_DTYPE = (f"one of {', '.join(DTYPES)}", lambda v: v in DTYPES)
_TABLES = ("a list of tables ([[files]])",
           lambda v: isinstance(v, list) and all(isinstance(x, Mapping) for x in v))
TOP_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "dataset": _TEXT, "actions": _TEXTS, "hardware_device": _TEXT, "description": _TEXT,
    "existing": _TEXT, "files": _TABLES, "server": _TEXT, "portal": _TEXT, "journal": _TEXT,
    "settle": _number(0, open_low=False, high=WAIT_LIMIT), "jobs": _COUNT, "type_map": _TEXTS,
    "api": _TEXT, "session": _TEXT, "procedures": _TEXTS, "equipment": _TEXTS, "notes": _TEXT,
    "project": _TEXT, "session_name": _TEXT, "folder": _TEXT,
    "create_session": ("true or false", lambda v: isinstance(v, bool))}
RULE_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "match": _TEXT, "type": _TEXT, "hardware_device": _TEXT, "description": _TEXT,
    "equipment": _TEXTS, "notes": _TEXT, "n_channels": _CHANNELS,
    "sr": _number(0, open_low=True), "dtype": _DTYPE, "lsb": _number(0, open_low=True)}


def check_types(where: str, table: Mapping[str, Any],
                types: Mapping[str, tuple[str, Callable[[Any], bool]]]) -> None:
    """Raise a one-line :class:`UsageError` for the first key whose value has the wrong
    type (keys ``types`` does not know are left to the caller)."""
    for key, value in table.items():
        expected = types.get(key)
        if expected is not None and not expected[1](value):
            raise UsageError(f"{where}: {key} must be {expected[0]}, not {_described(value)}")


#: What the Python call's keywords (:func:`bsingest.ingest.options_for`) must be: what
#: bsingest.toml takes, with tuples as lists; the command line's are click's to check.
_CALL_TYPES = {**TOP_TYPES, "type_map": (
    "a list of GLOB=TYPE strings", lambda v: isinstance(v, list | tuple)
    and all(isinstance(x, str) for x in v)), "record_type": _TEXT,
    "verify": ("true or false", lambda v: isinstance(v, bool))}
_CALL_TYPES.update(dict.fromkeys(_LISTS, (
    "a list of UUID strings", lambda v: isinstance(v, list | tuple)
    and all(isinstance(x, str) for x in v))))


def check_call(values: Mapping[str, Any]) -> None:
    """A :class:`UsageError` naming the first keyword of a Python call whose value has the
    wrong type (``None`` leaves a value out).

    Taken as given, ``procedures=5`` or ``type_map=[5]`` ended in a TypeError or an
    AttributeError, and ``notes=5``, ``settle="x"`` or ``session_name=5`` went on to the
    server or into the records."""
    given = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()
             if v is not None}
    check_types("the call", given, _CALL_TYPES)


def _described(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read(path: Path, *, leave: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The options a settings file says, checked; ``leave``: keys another module reads."""
    data = {k: v for k, v in read_toml(path).items() if k not in leave}
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise UsageError(f"{path}: unknown keys {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(_TOP_KEYS))})")
    check_types(str(path), data, TOP_TYPES)
    out: dict[str, Any] = {k: v for k, v in data.items()
                           if k not in ("files", "report", "watch")}
    for name in _LISTS:  # a file may give one ID as a bare string
        if name in out:
            value = out[name]
            out[name] = tuple([value] if isinstance(value, str) else value)
    if "create_session" in out and not isinstance(out["create_session"], bool):
        raise UsageError(f"{path}: create_session must be true or false")
    if "api" in out and out["api"] not in GENERATIONS:
        raise UsageError(f"{path}: api {out['api']!r} is not one of {', '.join(GENERATIONS)}")
    if "existing" in out:
        out["existing"] = _existing(out["existing"], f"{path}: existing")
    if isinstance(out.get("server"), str) and out["server"] not in ("", "local"):
        check_server_text(out["server"], str(path))
    if out.get("portal", PORTALS[0]) not in PORTALS:  # Settings' message named no file
        raise UsageError(f"{path}: portal {out['portal']!r} is not one of {', '.join(PORTALS)}")
    if isinstance(out.get("journal"), str):  # written on a Windows rig: D:\bsingest\j.sqlite
        out["journal"] = str(local_path(out["journal"], f"{path}: journal"))
        # As --journal (a file, not a folder), before any request: "" (the current folder)
        # or a folder failed after the look-ups, "journal .: cannot open" (exit 1).
        if not out["journal"].strip() or Path(out["journal"]).is_dir():
            raise UsageError(f"{path}: journal {out['journal']!r} is not a file's path (a "
                             "folder, or empty): name the journal's file")
    out["rules"] = tuple(_rule(path, i, r) for i, r in enumerate(data.get("files") or []))
    return out


def _rule(path: Path, i: int, raw: Any) -> FileRule:
    where = f"{path}: files[{i}]"
    if not isinstance(raw, Mapping) or "match" not in raw:
        raise UsageError(f"{where}: each [[files]] table needs a 'match' glob")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    check_types(where, raw, RULE_TYPES)
    _check_quantities(where, raw)
    if raw.get("type") is not None and record_type(raw["type"]) is None:
        raise UsageError(f"{where}: type {raw['type']!r} is not one of "
                         f"{', '.join(type_names())}")
    stated = {k: raw[k] for k in _STATED_KEYS if k in raw}
    # Either generation's names, made neutral: a hardware_device of "" (or equipment = [])
    # means none; notes that are empty leave the session's.
    equipment, notes = {}, {}
    for gen in GENERATIONS.values():
        said = gen.links.neutral(raw)
        if raw.get(gen.links.equipment) is not None:
            equipment[gen.name] = said.equipment
        if said.notes:
            notes[gen.name] = said.notes
    return FileRule(match=glob_pattern(str(raw["match"])), type=record_type(raw.get("type")),
                    stated=stated, equipment=equipment, notes=notes)


def _check_quantities(where: str, table: Mapping[str, Any]) -> None:
    """A stated optical quantity without its unit, or of another quantity, is a usage error
    naming the file and the rule, before any file is read."""
    for key in STATED_QUANTITIES:
        if key in table:
            try:
                parse_quantity(key, table[key])
            except QuantityError as exc:
                raise UsageError(f"{where}: {exc}") from None


def _existing(value: Any, where: str) -> Existing:
    try:
        return Existing(value)
    except ValueError:
        raise UsageError(f"{where}: {value!r} is not one of skip, update, error") from None
