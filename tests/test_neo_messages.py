"""The neo family's one-line refusals of headers neo misreads, the TDT start time, and
neo's own chatter kept off the terminal (the worker's stderr is the user's)."""

from __future__ import annotations

import datetime
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bsingest.errors import ExtractionError
from extractors.base import Fields
from extractors.neo import NeoExtractor, _tdt_fix
from tests.samples.neo import write_nsx21, write_nsx22, write_spikegadgets_rec

pytest.importorskip("neo.rawio")


@pytest.mark.parametrize("writer", [write_nsx21, write_nsx22])
def test_blackrock_sampling_period_zero_is_one_line(tmp_path: Path, writer) -> None:
    p = writer(tmp_path / "p.ns5", period=0)
    with pytest.raises(ExtractionError) as err:
        NeoExtractor().extract(p)
    assert str(err.value) == ("p.ns5: Blackrock: the header's sampling period is 0 (the rate "
                              "is 30 kHz / period): a damaged header")


def _smr(path: Path, *, first: int, last: int, blocks: int = 2) -> Path:
    """A CED SON (.smr, version 6) header: 512 bytes (system id, copyright, creator,
    us_per_time, time_per_adc, filestate, first_data, channels ...), one 140-byte channel
    header (del_size, next_del_block, firstblock, lastblock, blocks, ...), a block."""
    head = struct.pack("<h10s8shhhihhhhhi", 6, b"(C) CED 87", b"bsingest", 1, 1, 0, 652, 1,
                       140, 0, 1024, 0, 0).ljust(512, b"\0")
    chan = struct.pack("<hiiih", 0, 0, first, last, blocks).ljust(140, b"\0")
    block = struct.pack("<iiiihh", -1, -1, 0, 99, 0, 50) + np.zeros(50, "<i2").tobytes()
    path.write_bytes(head + chan + block)
    return path


def test_truncated_smr_is_one_line(tmp_path: Path) -> None:
    p = _smr(tmp_path / "cut.smr", first=652, last=400_000)
    with pytest.raises(ExtractionError) as err:
        NeoExtractor().extract(p)
    size = p.stat().st_size
    assert str(err.value) == (f"cut.smr: Spike2: truncated: channel 1's data blocks reach "
                              f"byte 400,020; the file holds {size:,} bytes")
    short = tmp_path / "short.smr"
    short.write_bytes(p.read_bytes()[:600])
    with pytest.raises(ExtractionError, match="cut inside the headers of its 1 channels"):
        NeoExtractor().extract(short)


def _tsq(path: Path, start: float, mark: int = 1) -> Path:
    """A TDT .tsq: 40-byte entries (size i4, type i4, code 4s, channel u2, sort u2,
    timestamp f8, offset u8, format i4, frequency f4); the second is the start mark."""
    entry = struct.Struct("<ii4sHHdQif")
    path.write_bytes(entry.pack(0, 0, b"", 0, 0, 0.0, 0, 0, 0.0)
                     + entry.pack(20, 0x8801, bytes([mark, 0, 0, 0]), 0, 0, start, 40, 0, 0)
                     + entry.pack(266, 0x8101, b"EEG1", 1, 0, start, 0, 0, 3051.76))
    return path


def test_tdt_start_time_is_the_tsq_start_mark(tmp_path: Path) -> None:
    when = datetime.datetime(2018, 11, 23, 15, 3, 2, tzinfo=datetime.timezone.utc)
    _tsq(tmp_path / "B1.tsq", when.timestamp())
    f = Fields()
    _tdt_fix(tmp_path / "B1.tev", f)
    assert f.start_time == when.isoformat() and ".tsq" in f.provenance["startTime"].detail
    _tsq(tmp_path / "B2.tsq", when.timestamp(), mark=2)  # no start mark: no time
    g = Fields()
    _tdt_fix(tmp_path / "B2.tev", g)
    assert g.start_time is None


def _cli(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-m", "bsingest.cli.main", "extract", "--json",
                           str(path)], capture_output=True, text=True, env=env, timeout=300)


def test_neo_logging_reaches_the_record_not_stderr(tmp_path: Path) -> None:
    # neo's SpikeGadgets reader logs through its own stderr handler when a .rec states no
    # scaling: a line about the file's values, so it belongs with the record
    p = write_spikegadgets_rec(tmp_path / "ns.rec", scaling=None)
    done = _cli(p)
    assert done.stderr == ""
    lines = [w for r in json.loads(done.stdout) for w in r["warnings"]]
    assert any(w.startswith("neo: Unable to read channel gain scaling") for w in lines)


def test_neo_noise_is_dropped(tmp_path: Path) -> None:
    # "Cannot rescale to voltage" (NSx 2.1 states no units) says what "no lsb" says
    (r,) = NeoExtractor().extract(write_nsx21(tmp_path / "a.ns2"))
    assert not any("rescale" in w for w in r.warnings)
    assert any(w.startswith("no lsb") for w in r.warnings)
