"""Scanbox samples: ``.sbx`` with its ``info`` ``.mat`` (scipy.io.savemat), one and two
channels, bidirectional; bad: a size that is not a whole number of frames, no ``.mat``."""

from __future__ import annotations

from pathlib import Path

from tests.imaging_fixtures import write_scanbox

EXTRACTOR = "scanbox"


def good(tmp: Path) -> list[Path]:
    return [write_scanbox(tmp / "mouse_000_001.sbx", frames=5),
            write_scanbox(tmp / "mouse_000_002.sbx", frames=3, channels_code=1, scanmode=0)]


def bad(tmp: Path) -> list[Path]:
    odd = write_scanbox(tmp / "odd_000_001.sbx", frames=5, extra_bytes=6)
    alone = tmp / "alone_000_001.sbx"
    alone.write_bytes(b"\0" * 64)
    return [odd, alone]
