"""Axona position samples (``.pos``): the text header DacqUSB writes (its keys as in the
dataset_multi_modal file of ../shared/corpus3), ``data_start``, 20-byte big-endian samples
(4-byte timestamp, eight 2-byte words) and ``\\r\\ndata_end\\r\\n``.

The writer is shared with ``tests/test_pose.py``; its arguments are the truth.
"""

from __future__ import annotations

import struct
from pathlib import Path

EXTRACTOR = "axona_pos"


def write_pos(path: Path, n: int, *, declared: int | None = None, rate: str = "50.0 hz",
              window: tuple[int, int, int, int] = (181, 481, 98, 348), cut: int = 0) -> Path:
    x0, x1, y0, y1 = window
    head = "\r\n".join([
        "trial_date Sunday, 4 Oct 2020", "trial_time 11:07:07", "experimenter Abid",
        "comments ", "duration 1.2", "sw_version 1.2.2.16", "num_colours 4", "min_x 0",
        "max_x 768", "min_y 0", "max_y 574", f"window_min_x {x0}", f"window_max_x {x1}",
        f"window_min_y {y0}", f"window_max_y {y1}", "timebase 50 hz",
        "bytes_per_timestamp 4", f"sample_rate {rate}", "EEG_samples_per_position 5",
        "pos_format t,x1,y1,x2,y2,numpix1,numpix2", "bytes_per_coord 2",
        "pixels_per_metre 300.000000", f"num_pos_samples {n if declared is None else declared}",
        "data_start"]).encode()
    body = b"".join(struct.pack(">I8H", i, 10 + i, 20, 1023, 1023, 17, 0, 17, 0)
                    for i in range(n))
    data = head + body + b"\r\ndata_end\r\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[:len(data) - cut] if cut else data)
    return path


def good(tmp: Path) -> list[Path]:
    return [write_pos(tmp / "trial.pos", 100),
            write_pos(tmp / "cut.pos", 40, cut=12 + 20 * 15 + 7)]


def bad(tmp: Path) -> list[Path]:
    no_start = tmp / "no_start.pos"
    no_start.parent.mkdir(parents=True, exist_ok=True)
    no_start.write_bytes(b"trial_date Monday, 5 Oct 2020\r\nnum_pos_samples 10\r\n")
    coord = write_pos(tmp / "coord.pos", 10)
    coord.write_bytes(coord.read_bytes().replace(b"bytes_per_coord 2", b"bytes_per_coord x"))
    wrong = write_pos(tmp / "wrong.pos", 10, declared=7)
    wrong.write_bytes(wrong.read_bytes()[:-12] + b"junk" * 3)
    return [no_start, coord, wrong]
