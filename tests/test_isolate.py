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
