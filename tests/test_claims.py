"""Deciding whose a file is: by name and sidecars first; content sniffers only after.

Families that know their files by content whatever the name (DICOM's magic at byte 128,
FicTrac's rows of numbers) are asked only when no family claims a file by its name or
sidecars, and never about a FIFO or a device (opening one blocks for ever).
"""

from __future__ import annotations

import os
import sys
import threading
import wave
from pathlib import Path

import pytest

import extractors
from extractors import discover


def _wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 80)
    return path


def test_the_sniffers_are_the_content_families() -> None:
    sniffers = {cls.name for cls in extractors.EXTRACTORS if cls.sniffs}
    assert {"dicom", "fictrac"} <= sniffers


def test_a_file_known_by_its_name_is_never_opened_by_a_sniffer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(20):
        _wav(tmp_path / f"m{i}.wav")
    sniffers = [cls for cls in extractors.EXTRACTORS if cls.sniffs]
    asked: list[str] = []
    for cls in sniffers:
        original = cls.claim

        def claim(path: Path, _orig=original) -> extractors.Claim:  # type: ignore[no-untyped-def]
            asked.append(path.name)
            return _orig(path)

        monkeypatch.setattr(cls, "claim", staticmethod(claim))
    found = discover(tmp_path)
    assert len(found.data) == 20
    assert asked == []


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs are POSIX")
def test_a_fifo_without_suffix_is_skipped_without_being_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "17106")  # named like a DICOM slice of a DICOMDIR set
    _wav(tmp_path / "a.wav")
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(discover(tmp_path)), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert result, "discover() blocked on a FIFO"
    found = result[0]
    assert [p.name for p in found.data] == ["a.wav"]  # type: ignore[attr-defined]
