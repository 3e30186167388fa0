"""The worker process that HDF5 readers run in: a crash or a hang fails one file only."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from extractors._isolate import isolated


def test_a_crash_in_the_worker_is_one_line_naming_the_file_and_the_next_call_works(
        tmp_path: Path) -> None:
    path = tmp_path / "damaged.nwb"
    with pytest.raises(ExtractionError, match=r"^damaged\.nwb: the reader crashed on it "
                                              r"\(signal SIGABRT\): a damaged file$"):
        isolated(path, os.abort)  # what a segfault in libhdf5 looks like from outside
    assert isolated(path, max, 3, 4) == 4  # a new worker


def test_a_hang_in_the_worker_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "slow.nwb"
    with pytest.raises(ExtractionError, match=r"^slow\.nwb: reading it took more than 0\.5 s"):
        isolated(path, time.sleep, 30, timeout=0.5)
    assert isolated(path, abs, -2) == 2


def test_our_errors_come_back_as_raised_and_bugs_keep_their_traceback(tmp_path: Path) -> None:
    from extractors.nwb import _describe
    from tests.samples.nwb import write_nwb

    missing = tmp_path / "gone.nwb"
    with pytest.raises(FileNotFoundError):  # as in-process: the base names the file
        isolated(missing, _describe, str(missing))
    not_nwb = tmp_path / "text.nwb"
    not_nwb.write_text("hello")
    with pytest.raises(ExtractionError, match=r"^text\.nwb: not an HDF5 file"):
        isolated(not_nwb, _describe, str(not_nwb))
    records = isolated(tmp_path / "s.nwb", _describe, str(write_nwb(tmp_path / "s.nwb")))
    assert {r.part for r in records} >= {"acquisition/ElectricalSeries"}
    with pytest.raises(RuntimeError, match=r"(?s)bug while reading x\.nwb.*ZeroDivisionError"):
        isolated(tmp_path / "x.nwb", divmod, 1, 0)


@pytest.fixture
def small_worker(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A worker started with a 256 MiB memory limit, stopped again afterwards."""
    from extractors import _isolate

    if _isolate._worker is not None:
        _isolate._stop(_isolate._worker)
    monkeypatch.setenv("BSINGEST_WORKER_MEMORY_MB", "256")
    yield
    if _isolate._worker is not None:
        _isolate._stop(_isolate._worker)


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_DATA is POSIX")
def test_a_reader_that_eats_memory_fails_alone_in_one_line(tmp_path: Path,
                                                           small_worker: None) -> None:
    path = tmp_path / "greedy.ncs"
    # 1 GiB at once: what a damaged header's count makes a reader allocate
    with pytest.raises(ExtractionError, match=r"^greedy\.ncs: reading it ran out of memory "
                                              r"\(the reader may take 0\.25 GiB\)"):
        isolated(path, bytearray, 2**30)
    assert isolated(path, len, b"ok") == 2  # the same worker goes on


def test_a_worker_killed_from_outside_is_not_called_slow(tmp_path: Path) -> None:
    import signal

    path = tmp_path / "big.plx"
    with pytest.raises(ExtractionError) as caught:
        # what the kernel's out-of-memory killer does to it
        isolated(path, signal.raise_signal, signal.SIGKILL, timeout=60)
    assert str(caught.value).startswith("big.plx: the reader was killed while reading it "
                                        "(signal SIGKILL")
    assert "took more than" not in str(caught.value)
    assert isolated(path, abs, -3) == 3


def test_the_worker_reads_without_importing_every_family(tmp_path: Path) -> None:
    # Its start is on the path of a run's first NWB file: the registry imports a family's
    # module only when a file of it is asked about, so the worker holds the family it runs.
    from extractors import _isolate
    from extractors.nwb import _describe
    from tests.samples.nwb import write_nwb

    if _isolate._worker is not None:
        _isolate._stop(_isolate._worker)  # a worker of earlier tests may hold anything
    path = write_nwb(tmp_path / "s.nwb")
    assert isolated(path, _describe, str(path))
    loaded = isolated(path, eval, "sorted(__import__('sys').modules)")
    assert "extractors.nwb" in loaded and "h5py" in loaded
    assert not {"extractors.audio", "extractors.tiff", "extractors.intan"} & set(loaded)
