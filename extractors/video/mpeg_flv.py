"""The streamed containers: MPEG transport streams (188/192-byte packets), MPEG
program streams and FLV. None has an index; what is read here is where their data ends
when padding or junk follows it, so that FFmpeg never scans the tail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._layout import Layout


def _is_ts(head: bytes, stride: int) -> bool:
    return len(head) > stride and head[0] == 0x47 and head[stride] == 0x47


#: Packets before the end found that must all start with the sync byte, so that a stray
#: 0x47 in junk is not taken for the last packet.
_TS_CONFIRM = 8


def _ts_layout(path: Path, size: int, stride: int) -> Layout:
    lay = Layout("ts", "TS", f"MPEG transport stream sync bytes (0x47 every {stride} bytes)")
    with open(path, "rb") as fh:
        end = _ts_end(fh, size, stride)
    if end is not None:
        # Zeros a recorder preallocated, or junk: FFmpeg would lose sync in them and give
        # up with EAGAIN ("Resource temporarily unavailable"), so it never sees them.
        how = f"the end of the last {stride}-byte packet that starts with the sync byte 0x47"
        lay.data_end, lay.data_end_detail = end, how
        lay.notes.append(f"the {size - end} bytes from byte {end} on are not MPEG-TS data "
                         f"({how}): not read")
    return lay


def _ts_end(fh: Any, size: int, stride: int) -> int | None:
    """Where the transport stream ends when something that is no packet follows it, or
    None. Packet ``i`` starts at ``i * stride`` (192: a 4-byte timestamp, then the packet).
    A bisection over packet indices, one byte read per probe, so a tail of any size
    costs some 40 reads. Unsure (a packet out of step that is still TS: bytes lost in a
    capture, a damaged packet) means None: FFmpeg reads the whole file, as without it."""
    skip = stride - 188

    def synced(i: int) -> bool:
        fh.seek(i * stride + skip)
        return fh.read(1) == b"\x47"

    def packets_near(i: int) -> bool:  # three packets in step, at any offset
        fh.seek(i * stride)
        data = fh.read(5 * stride)
        j = data.find(b"\x47")
        while 0 <= j < len(data) - 2 * stride:
            if data[j + stride] == data[j + 2 * stride] == 0x47:
                return True
            j = data.find(b"\x47", j + 1)
        return False

    n = size // stride  # whole packets; a shorter tail is FFmpeg's to judge
    if n < 2 or synced(n - 1):
        return None
    lo, hi = 0, n - 1  # packet lo starts with 0x47, packet hi does not
    for _ in range(256):
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if synced(mid):
                lo = mid
            else:
                if packets_near(mid):
                    return None
                hi = mid
        # lo may be a stray 0x47 in the junk: the packets before it must be in step too.
        out = next((i for i in range(lo - 1, max(-1, lo - _TS_CONFIRM), -1) if not synced(i)),
                   None)
        if out is None:
            return None if packets_near(hi) else hi * stride
        if packets_near(out):
            return None
        lo, hi = 0, out
    return None


def _after_zeros(path: Path, size: int, lay: Layout,
                 end_of: Callable[[Any, int, int], int | None], how: str) -> Layout:
    """``lay``, with FFmpeg kept out of zeros that follow the data (MPEG-PS, FLV: it would
    scan them all, ~9 s a GiB). Packs and tags have no fixed size, so the zeros are found
    first and the container's own structure must end exactly where they begin; other junk
    is read as before."""
    with open(path, "rb") as fh:
        zeros = _zero_tail(fh, size)
        end = None if zeros is None else end_of(fh, zeros, size)
    if end is not None and end < size:
        lay.data_end, lay.data_end_detail = end, how
        lay.notes.append(f"the {size - end} bytes from byte {end} on are not {lay.format} data "
                         f"(zeros after {how}): not read")
    return lay


def _zero_tail(fh: Any, size: int, block: int = 4096) -> int | None:
    """Where the zeros that end the file begin, by a bisection over blocks (one read each),
    or None when the last block holds data. The first block must not be zeros."""
    def zero(k: int) -> bool:
        fh.seek(k * block)
        return not fh.read(block).rstrip(b"\0")

    n = -(-size // block)
    if n < 2 or not zero(n - 1) or zero(0):
        return None
    lo, hi = 0, n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if zero(mid) else (mid, hi)
    fh.seek(lo * block)
    return lo * block + len(fh.read(block).rstrip(b"\0"))


def _ps_end(fh: Any, zeros: int, size: int) -> int | None:
    """The end of the packs that end at ``zeros`` (their last bytes may be zeros too):
    walked by their lengths from the last pack header before it."""
    back = min(zeros, 1 << 20)
    fh.seek(zeros - back)
    buf = fh.read(back) + bytes(16)
    pos = buf.rfind(b"\x00\x00\x01\xba", 0, back)
    if pos < 0:
        return None
    while pos < back:
        h = buf[pos:pos + 16]
        if h[:3] != b"\x00\x00\x01":
            return None
        if h[3] == 0xBA and h[4] >> 6 == 1:  # MPEG-2 pack header: stuffing in byte 13
            pos += 14 + (h[13] & 7)
        elif h[3] == 0xBA and h[4] >> 4 == 2:  # MPEG-1 pack header
            pos += 12
        elif h[3] == 0xB9:  # program end code
            pos += 4
        elif h[3] >= 0xBB:  # system header, PES packet: a 16-bit length
            pos += 6 + int.from_bytes(h[4:6], "big")
        else:
            return None
    end = zeros - back + pos
    return end if end <= size else None


def _flv_end(fh: Any, zeros: int, size: int) -> int | None:
    """The end of the FLV tags: the PreviousTagSize that ends at ``zeros`` (or up to 3
    bytes after it, when its last bytes are zeros) must name a tag that starts there."""
    for end in range(zeros, min(zeros + 3, size) + 1):
        fh.seek(end - 4)
        n = int.from_bytes(fh.read(4), "big")
        if n < 11 or end - 4 - n < 13:
            continue
        fh.seek(end - 4 - n)
        tag = fh.read(4)
        if tag[0] & 0x1F in (8, 9, 18) and int.from_bytes(tag[1:4], "big") + 11 == n:
            return end
    return None
