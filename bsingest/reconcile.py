"""What the uploader decides, apart from how it sends: no I/O, no threads, no clock.

Given what a container (a dataset, or a session of the current generation) holds and what
the journal wants there, these functions say what to do; :mod:`bsingest.uploader` does it
(requests in a pool, waves, retries, the journal) and asks here at every turn.

- **Listing**: a container's records by key (``type|fileName``), the smallest id standing
  for a key held several times (:class:`Listing`);
- **Plan**: per entry, create, adopt, unchanged, update, skip or conflict (:func:`plan`);
- **Convergence**: of a key's records read back after the run wrote, which one stays, which
  are our twins to delete, which hold other content and are left alone (:func:`settle`);
  every process computes this alike from the server's answer alone, which is what makes
  runs with separate journals converge (``docs/guarantees.md``);
- **Trusting a narrow answer**: whether one page of a read-back can stand for the
  container (:func:`judge_narrow`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from .generations import Wire, wire_for
from .records import API_2023
from .sessionconfig import Existing

if TYPE_CHECKING:
    from .journal import Entry

__all__ = ["CREATED", "FAILED", "QUEUED", "SKIPPED", "UNCHANGED", "UPDATED", "Listing",
           "Outcome", "Settlement", "by_key", "differing_fields", "differs", "judge_narrow",
           "others_note", "plan", "policy", "record_id", "record_key", "same_content",
           "settle", "summarize", "with_note"]

#: Outcomes of one entry.
CREATED, UPDATED, UNCHANGED, SKIPPED, FAILED, QUEUED = (
    "created", "updated", "unchanged", "skipped", "failed", "queued")

#: What an entry needs, as :func:`plan` says it.
Step = Literal["create", "adopt", "unchanged", "update", "skip", "conflict"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one journal entry."""

    dataset: str
    key: str
    path: str
    outcome: str  # created, updated, unchanged, skipped, failed, queued (or would-* in a dry run)
    server_id: str | None = None
    error: str | None = None
    note: str | None = None  # e.g. a twin another run created was removed


def record_key(record: Mapping[str, Any]) -> str:
    """The key of a 2023 record body: ``type|fileName`` (session-relative, #part).

    A record that bsingest 0.1 wrote carries a ``stream`` in ``type_json``; its key is the
    legacy ``type|fileName|stream``, which :attr:`Extraction.legacy_key` reproduces.
    (Either generation: :meth:`bsingest.generations.Wire.key`.)
    """
    return wire_for(API_2023).key(record)


def same_content(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> bool:
    """Whether the server's 2023 record already says what ours says."""
    return wire_for(API_2023).same_content(ours, theirs)


def record_id(record: Mapping[str, Any]) -> str:
    """A record's id as text: the order every process ranks twins by."""
    return str(record.get("id"))


class Listing(dict[str, dict[str, Any]]):
    """A container's records by key; of twins (a key held more than once), the smallest id.

    ``twins`` maps each key the container holds more than once to all its records.
    """

    def __init__(self, records: Iterable[Mapping[str, Any]] = (),
                 key_of: Callable[[Mapping[str, Any]], str] = record_key) -> None:
        super().__init__()
        grouped: dict[str, list[dict[str, Any]]] = {}
        for rec in records:
            grouped.setdefault(key_of(rec), []).append(dict(rec))
        for key, recs in grouped.items():
            self[key] = min(recs, key=record_id)
        self.twins = {k: v for k, v in grouped.items() if len(v) > 1}


def by_key(records: Iterable[Mapping[str, Any]], wire: Wire
           ) -> dict[str, list[dict[str, Any]]]:
    """Records grouped by key, every one kept (a read-back's answer)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        out.setdefault(wire.key(rec), []).append(dict(rec))
    return out


# -- the plan -----------------------------------------------------------------------------

def policy(e: Entry, existing: Existing | None) -> Existing:
    """What to do with a record held with other values: ``existing`` if given, else what
    the entry's run asked for, else skip."""
    if existing is not None:
        return existing
    try:
        return Existing(e.existing or Existing.SKIP.value)
    except ValueError:
        return Existing.SKIP


def step_for(e: Entry, theirs: Mapping[str, Any] | None, wire: Wire,
             existing: Existing | None) -> Step:
    """What one entry needs, given the record the container holds under its key."""
    if theirs is None:
        return "create"
    if wire.same_content(e.record, theirs):
        return "unchanged" if e.state == "uploaded" else "adopt"
    chosen = policy(e, existing)
    if chosen is Existing.UPDATE:
        return "update"
    if chosen is Existing.SKIP:
        return "skip"
    return "conflict"


def plan(entries: Sequence[Entry], on_server: Mapping[str, Mapping[str, Any]], wire: Wire,
         existing: Existing | None) -> list[tuple[Entry, Step]]:
    """What each entry needs: create, update, adopt, unchanged, skip or conflict."""
    return [(e, step_for(e, on_server.get(e.key), wire, existing)) for e in entries]


# -- messages -------------------------------------------------------------------------------

_ORDER = ("type", "procedures", "equipment", "notes", "type_json")


def differing_fields(ours: Mapping[str, Any], theirs: Mapping[str, Any],
                     wire: Wire) -> list[str]:
    """The fields ``wire.same_content`` finds different, named as that wire names them and
    the type's own ones by key (``description``, ``type_json.nSamples``): what a skipped
    record's message names."""
    a, b = wire.canonical(ours), wire.canonical(theirs)
    names = wire.field_names
    out = []
    for k in sorted({*a, *b}, key=lambda k: (_ORDER.index(k) if k in _ORDER else 99, k)):
        x, y = a.get(k), b.get(k)
        if x == y:
            continue
        if k == "type_json" and isinstance(x, Mapping) and isinstance(y, Mapping):
            out += [f"{wire.details_field}.{j}" for j in sorted({*x, *y}) if x.get(j) != y.get(j)]
        else:
            out.append(names.get(k, k))
    return out


def differs(ours: Mapping[str, Any], theirs: Mapping[str, Any] | None, wire: Wire) -> str:
    """`` (field, field)`` naming what differs, for a message; empty if nothing is known."""
    fields = differing_fields(ours, theirs, wire) if theirs is not None else []
    return f" ({', '.join(fields)})" if fields else ""


def others_note(records: Sequence[Mapping[str, Any]], survivor: Mapping[str, Any],
                ours: Mapping[str, Any], wire: Wire) -> str:
    """The note naming a key's records that hold other values than ours (left alone)."""
    other = [record_id(r) for r in records
             if r is not survivor and not wire.same_content(ours, r)]
    if not other:
        return ""
    return (f"{len(other)} other record(s) with this key hold other values, left as they "
            f"are: {', '.join(other)}")


def with_note(outcome: Outcome, note: str | None) -> Outcome:
    """``outcome`` with ``note`` added to its own."""
    if not note:
        return outcome
    return replace(outcome, note=f"{outcome.note}; {note}" if outcome.note else note)


def summarize(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """Count outcomes by kind."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    return counts


# -- convergence ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Settlement:
    """What one key's records, read back, call for.

    ``action``:

    - ``"post"``: nothing is there and we have not written it: send it (again);
    - ``"gone"``: we wrote it and nothing is there now (deleted by someone): say so, and
      do not post again (a server whose filter misses records must not get doubles);
    - ``"theirs"``: the record kept (``survivor``) is not ours: treat it as if it had been
      there before us (``step``: adopt, skip, update or conflict);
    - ``"ours"``: the record kept holds our content: journal it.

    ``delete`` are the other records that hold our content (our twins, or another run's of
    the same content); ``kept`` those that hold other content, never deleted.
    """

    action: Literal["post", "gone", "theirs", "ours"]
    survivor: Mapping[str, Any] | None = None
    delete: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    step: Step | None = None


def settle(e: Entry, records: Sequence[Mapping[str, Any]], *, posted: bool, wire: Wire,
           existing: Existing | None) -> Settlement:
    """Settle one key from what the server holds for it.

    ``posted``: this run wrote the key (or already knows its outcome); only then is an
    empty answer news (``"gone"``) rather than a reason to post. Of several records,
    the one with the smallest id is kept (every process picks the same); the others that
    hold our content are to be deleted; those with other content are left alone.
    """
    # One id listed twice is one record (a server's join without DISTINCT): as twins,
    # the copy would be deleted, and with it the record kept.
    unique: dict[str, Mapping[str, Any]] = {}
    for r in records:
        unique.setdefault(record_id(r), r)
    records = list(unique.values())
    if not records:
        return Settlement("gone" if posted else "post")
    survivor = min(records, key=record_id)
    delete = tuple(record_id(r) for r in records
                   if r is not survivor and wire.same_content(e.record, r))
    kept = tuple(record_id(r) for r in records
                 if r is not survivor and not wire.same_content(e.record, r))
    if wire.same_content(e.record, survivor):
        return Settlement("ours", survivor, delete, kept)
    # Someone else's record is kept (ours too, if we wrote one, is a twin to delete).
    return Settlement("theirs", survivor, delete, kept, step_for(e, survivor, wire, existing))


def judge_narrow(part: Sequence[str], got: Iterable[Mapping[str, Any]],
                 wanted: set[str], known: Mapping[str, str], wire: Wire
                 ) -> Literal["ok", "stray", "missing"]:
    """Whether one page of a narrow read-back (``fileName`` in ``part``) can be trusted.

    ``"stray"``: it holds names not asked for (the server ignored the filter: the answer is
    the whole container); ``"missing"``: a name known to be there (``known``) is absent
    (the filter does not work); ``"ok"`` otherwise. A known record may have been removed
    as a twin: its name stays, which is why only names are compared.
    """
    seen = {wire.file_name(r) for r in got}
    if seen - wanted:
        return "stray"
    if any(n not in seen for n in part if n in known):
        return "missing"
    return "ok"
