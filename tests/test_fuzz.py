"""Seeded fuzzing of every extractor family: mutated files give a plausible record or a
one-line error naming the file; never another exception, a hang or a memory blow-up.

The base files are each family's good samples (``tests/samples/*``, which use the writers
in ``tests/fixtures*.py``). Each case copies one family's folder, mutates the data file
or one of its sidecars, and extracts the data file in a child process of its own, with a
wall-clock bound (a hang fails the case, it does not block CI) and, on POSIX, an address
space bound (``RLIMIT_AS``: a header that makes a reader allocate gigabytes fails the
case as a MemoryError). Mutations: truncation, random bytes in the header and anywhere,
extreme and non-finite values written over binary header fields (float inf/nan, integer
0, -1, 2**31-1, 2**32-1 ...), numbers in text headers and sidecars replaced by ``inf``,
``nan``, ``1e308``, ``-1``, a 5,000-digit number, ``true``; junk appended; deeply nested
JSON and XML.

Each record that comes back is re-checked here, with bounds written out independently of
``extractors.base``. ``BSINGEST_FUZZ_SEED`` and ``BSINGEST_FUZZ_CASES`` (per family) run
other or more cases locally; a failing case is listed with its seed, family, target and
mutation, so it can be replayed.

Known (not hit by the default seed; found with others): an NWB file whose root
``nwb_version`` attribute (a variable-length string) points into a damaged global heap
makes HDF5 itself loop inside ``attrs["nwb_version"]`` (seed 11,
``BSINGEST_FUZZ_CASES=250``: three cases). extractors-acq's worker process
(``extractors/_isolate.py``) now stops it with a one-line error after 120 s, beyond this
suite's 30 s bound, so those seeds still report it here.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import random
import re
import shutil
import struct
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.samples import sample_modules

SEED = int(os.environ.get("BSINGEST_FUZZ_SEED", "20261130"))
CASES_PER_FAMILY = int(os.environ.get("BSINGEST_FUZZ_CASES", "40"))
#: Wall-clock bound per extraction. Generous for a loaded 2-core CI machine: every
#: extraction here takes milliseconds; a hang takes for ever.
TIME_LIMIT = 30.0
#: Address space a case may add to what its process started with.
MEMORY_LIMIT = 1536 * 2**20
PARALLEL = 2

_TEXT_SUFFIXES = {".xml", ".meta", ".oebin", ".csv", ".json", ".wcp", ".continuous", ".vhdr",
                  ".vmrk", ".edf", ".bdf",  # EDF and BDF headers are ASCII fields
                  ".nvt", ".pos"}  # Neuralynx and Axona text headers
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_TEXT_VALUES = [b"inf", b"-inf", b"nan", b"NaN", b"Infinity", b"1e308", b"-1", b"0", b"1e-7",
                b"9" * 5000, b"true", b"", b"4294967295", b"1e-300", b"0.0"]
_BINARY_VALUES = [
    struct.pack("<f", math.inf), struct.pack("<f", -math.inf), struct.pack("<f", math.nan),
    struct.pack("<f", 3.4e38), struct.pack("<f", 1e-38), struct.pack("<f", 0.0),
    struct.pack("<d", math.inf), struct.pack("<d", math.nan), struct.pack("<d", 1e308),
    struct.pack("<d", 5e-324), struct.pack("<I", 0xFFFFFFFF), struct.pack("<I", 0x7FFFFFFF),
    struct.pack("<I", 0x80000000), struct.pack("<I", 0), struct.pack(">I", 0xFFFFFFFF),
    struct.pack(">I", 0x7FFFFFFF), struct.pack("<Q", 2**64 - 1), struct.pack("<Q", 2**63),
    struct.pack("<h", -1), struct.pack("<h", 0x7FFF), struct.pack(">f", math.inf),
    struct.pack(">d", math.nan), b"\x00" * 8, b"\xff" * 8,
]


# --- the independent re-check of a record ------------------------------------------------

_RATE = {"Audio": (1.0, 1e7), "BehavioralTracking": None}
_TS_RATE = (1e-3, 1e7)
_COUNTS = ("nChannels", "nSamples", "nFrames", "horizontalResolution", "verticalResolution")


def record_problems(entry: dict[str, Any]) -> list[str]:
    """What is wrong with one extraction's JSON (empty: a plausible record)."""
    try:
        json.dumps(entry, allow_nan=False)
    except ValueError as exc:
        return [f"not strict JSON: {exc}"]
    tj = entry["type_json"]
    problems = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{where} = {value}")
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}.{i}")

    walk(tj, "type_json")
    for key in _COUNTS:
        if key in tj:
            v = tj[key]
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 2**53:
                problems.append(f"{key} = {v!r} is not a count")
    bounds = {"sr": _RATE.get(entry["type"], _TS_RATE), "frameRate": (1e-3, 1e6),
              "lsb": (1e-6, 1e6)}
    for key, limits in bounds.items():
        if key in tj and limits is not None:
            v = tj[key]
            if isinstance(v, bool) or not isinstance(v, int | float) \
                    or not limits[0] <= v <= limits[1]:
                problems.append(f"{key} = {v!r} outside {limits}")
    return problems


# --- one case, in a child process ----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    family: str
    folder: str  # the family's base folder, copied for the case
    data: str  # the file extracted, relative to folder
    target: str  # the file mutated, relative to folder
    mutation: str
    seed: int

    def describe(self) -> str:
        return (f"[{self.family}] {self.data} <- {self.mutation} of {self.target} "
                f"(seed {self.seed})")


def _mutate(path: Path, kind: str, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    size = len(data)
    if kind == "truncate":
        cut = rng.choice([0, 1, 4, 8, 16, 64, 512]) if rng.random() < 0.3 else \
            rng.randrange(0, max(size, 1))
        del data[min(cut, size):]
    elif kind == "flip-header" and size:
        for _ in range(rng.randint(1, 16)):
            data[rng.randrange(min(size, 4096))] = rng.randrange(256)
    elif kind == "flip-anywhere" and size:
        for _ in range(rng.randint(1, 64)):
            data[rng.randrange(size)] = rng.randrange(256)
    elif kind == "extreme-binary" and size >= 8:
        for _ in range(rng.randint(1, 4)):
            value = rng.choice(_BINARY_VALUES)
            region = min(size, 1024) if rng.random() < 0.6 else size
            at = rng.randrange(0, max(region - len(value), 1)) // 2 * 2
            data[at:at + len(value)] = value
    elif kind == "extreme-text":
        head = bytes(data[:65536])
        spots = list(_NUMBER.finditer(head))
        if spots:
            for m in sorted(rng.sample(spots, min(len(spots), rng.randint(1, 3))),
                            key=lambda m: -m.start()):
                data[m.start():m.end()] = rng.choice(_TEXT_VALUES)
    elif kind == "append":
        junk = rng.choice([b"\x00" * rng.randint(1, 200_000), b"this is not data\n",
                           bytes(rng.randrange(256) for _ in range(rng.randint(1, 3000))),
                           b"1,2,3\n4,5", b"\xff" * 4096])
        data += junk
    elif kind == "nest":
        depth = 100_000
        if path.suffix.lower() == ".xml":
            data = bytearray(b"<parameters><acquisitionSystem>" + b"<a>" * depth + b"1"
                             + b"</a>" * depth + b"</acquisitionSystem></parameters>")
        else:
            data = bytearray(b"[" * depth + b"]" * depth)
    path.write_bytes(bytes(data))


def _limit_memory() -> None:
    try:
        import resource
    except ImportError:  # not POSIX: the time bound still holds
        return
    with open("/proc/self/statm") as fh:
        current = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = current + MEMORY_LIMIT
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _run_case(case: Case, workdir: str, conn: Any) -> None:
    """Child process: copy, mutate, extract, send one result down ``conn``."""
    try:
        # One thread per library: thread pools reserve address space per thread.
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = "1"
        dest = Path(workdir)
        shutil.copytree(case.folder, dest, symlinks=True)
        rng = random.Random(case.seed)
        _mutate(dest / case.target, case.mutation, rng)
        if sys.platform.startswith("linux"):
            _limit_memory()
        from bsingest.errors import BsingestError
        from bsingest.extraction import extract

        try:
            found = extract(dest / case.data)
            conn.send(("ok", [e.to_json() for e in found]))
        except BsingestError as exc:
            conn.send(("error", type(exc).__name__, str(exc)))
    except BaseException as exc:  # the parent reports every other outcome
        try:
            tb = traceback.extract_tb(exc.__traceback__)
            ours = [f for f in tb if "/extractors/" in f.filename or "/bsingest/" in f.filename]
            frames = (ours[-2:] + tb[-1:]) if ours else tb[-3:]
            where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                               for f in reversed(frames))
            conn.send(("crash", type(exc).__name__, f"{str(exc)[:300]} (at {where})"))
        except BaseException:  # a MemoryError may stop even this
            pass
    finally:
        conn.close()


def _verdict(case: Case, outcome: tuple[Any, ...] | None, exitcode: int | None) -> str | None:
    """None when the outcome is allowed, else what went wrong."""
    name = Path(case.data).name
    if outcome is None:
        return f"no result (exit code {exitcode}: killed, crashed or out of memory)"
    if outcome[0] == "crash":
        return f"{outcome[1]}: {outcome[2]}"
    if outcome[0] == "error":
        message = outcome[2]
        if "\n" in message or not message.startswith(f"{name}: "):
            return f"{outcome[1]} not one line naming the file: {message!r}"
        return None
    problems = [p for e in outcome[1] for p in record_problems(e)]
    return f"implausible record: {'; '.join(problems)}" if problems else None


def run_cases(cases: list[Case], root: Path, time_limit: float = TIME_LIMIT) -> list[str]:
    """Run every case, ``PARALLEL`` at a time, each in its own process; the failures."""
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                      else "spawn")
    pending = list(enumerate(cases))
    running: list[tuple[int, Case, Any, Any, float]] = []
    failures = []
    while pending or running:
        while pending and len(running) < PARALLEL:
            i, case = pending.pop(0)
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_run_case, args=(case, str(root / f"case{i}"), send))
            proc.start()
            send.close()
            running.append((i, case, proc, recv, time.monotonic()))
        for item in list(running):
            i, case, proc, recv, started = item
            outcome = None
            if recv.poll(0.01):
                try:
                    outcome = recv.recv()
                except EOFError:
                    outcome = None
                proc.join(time_limit)
            elif proc.is_alive() and time.monotonic() - started < time_limit:
                continue
            elif proc.is_alive():
                proc.kill()
                proc.join()
                failures.append(f"{case.describe()}: still running after {time_limit:g} s")
                running.remove(item)
                recv.close()
                shutil.rmtree(root / f"case{i}", ignore_errors=True)
                continue
            proc.join()
            running.remove(item)
            recv.close()
            shutil.rmtree(root / f"case{i}", ignore_errors=True)
            problem = _verdict(case, outcome, proc.exitcode)
            if problem:
                failures.append(f"{case.describe()}: {problem}")
    return failures


# --- the cases -------------------------------------------------------------------------------

_MUTATIONS = ("truncate", "flip-header", "flip-anywhere", "extreme-binary", "extreme-text",
              "append", "nest")


def _targets(data: Path) -> list[Path]:
    """The data file and the sidecars its extractor reads."""
    from extractors import extractor_for

    out = [data]
    try:
        out += [Path(s) for s in extractor_for(data).sidecars(data)]
    except Exception:  # a base file every family claims; no sidecars then
        pass
    return out


def _mutations_for(target: Path) -> tuple[str, ...]:
    text = target.suffix.lower() in _TEXT_SUFFIXES
    nest = target.suffix.lower() in (".xml", ".oebin", ".json")
    return tuple(m for m in _MUTATIONS
                 if (m != "extreme-text" or text) and (m != "nest" or nest))


def make_cases(family: str, folder: Path, data_files: list[Path], n: int,
               rng: random.Random) -> list[Case]:
    cases = []
    for k in range(n):
        data = data_files[k % len(data_files)]
        targets = _targets(data)
        target = targets[0] if len(targets) == 1 or rng.random() < 0.6 else rng.choice(targets[1:])
        cases.append(Case(family, str(folder), str(data.relative_to(folder)),
                          str(target.relative_to(folder)), rng.choice(_mutations_for(target)),
                          rng.randrange(2**32)))
    return cases


SAMPLES = sample_modules()
_WRITERS: dict[str, Callable[[Path], list[Path]]] = {k: m.good for k, m in SAMPLES.items()}


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[Path]]]:
    root = tmp_path_factory.mktemp("fuzz-bases")
    out = {}
    for family, good in sorted(_WRITERS.items()):
        folder = root / family
        folder.mkdir()
        out[family] = (folder, good(folder))
    # Import the heavy readers once here, so forked children start warm.
    import av  # noqa: F401
    import h5py  # noqa: F401
    import numpy  # noqa: F401

    import extractors  # noqa: F401
    return out


def test_every_family_has_a_fuzz_base() -> None:
    import extractors

    assert sorted(_WRITERS) == sorted(cls.name for cls in extractors.EXTRACTORS)


@pytest.mark.parametrize("family", sorted(_WRITERS))
def test_mutated_files_give_plausible_records_or_one_line_errors(
        family: str, bases: dict[str, tuple[Path, list[Path]]],
        tmp_path: Path) -> None:
    folder, data_files = bases[family]
    rng = random.Random(f"{SEED}-{family}")
    cases = make_cases(family, folder, data_files, CASES_PER_FAMILY, rng)
    failures = run_cases(cases, tmp_path)
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures)


def test_the_fuzzer_catches_what_it_must(tmp_path: Path) -> None:
    """The harness itself: a hang, a traceback and a bad record are each reported."""
    assert record_problems({"type": "Audio", "type_json": {"sr": 1e-7, "nSamples": 3}})
    assert record_problems({"type": "Audio", "type_json": {"nSamples": True}})
    assert record_problems({"type": "Extracellular", "type_json": {"lsb": math.inf}})
    assert not record_problems({"type": "Extracellular",
                                "type_json": {"sr": 0.5, "nSamples": 3, "lsb": 0.195}})
    case = Case("x", str(tmp_path), "a", "a", "append", 1)
    assert _verdict(case, ("error", "ExtractionError", "a: bad"), 0) is None
    assert _verdict(case, ("error", "ExtractionError", "b: bad"), 0)
    assert _verdict(case, ("error", "ExtractionError", "a: two\nlines"), 0)
    assert _verdict(case, ("crash", "KeyError", "tb"), 0)
    assert _verdict(case, None, -9)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and RLIMIT_AS: Linux")
def test_a_hang_and_a_memory_blow_up_fail_their_case_without_blocking(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bsingest.extraction

    folder = tmp_path / "base"
    folder.mkdir()
    (folder / "a.dat").write_bytes(b"\x00" * 16)

    def misbehave(path: Path, **_: Any) -> None:
        if path.name == "a.dat":
            time.sleep(600)  # a reader stuck on a FIFO
        bytearray(64 * 2**30)  # a reader that allocates what a header declares

    monkeypatch.setattr(bsingest.extraction, "extract", misbehave)  # forked children see it
    (folder / "b.dat").write_bytes(b"\x00" * 16)
    cases = [Case("x", str(folder), name, name, "append", 1) for name in ("a.dat", "b.dat")]
    started = time.monotonic()
    failures = sorted(run_cases(cases, tmp_path / "run", time_limit=3))
    assert time.monotonic() - started < 60
    assert "a.dat" in failures[0] and "still running after 3 s" in failures[0]
    assert "b.dat" in failures[1] and "MemoryError" in failures[1]
