"""Counting frames with PyAV: the three tiers (container index, demux pass, decode)
that ``_Counter.count()`` picks from, cheapest exact first."""

from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from ._layout import Layout, _source

# Bytes kept for a damaged file's last group of pictures; past this we decode all.
_TAIL_LIMIT = 256 * 2**20
# A not-coded VOP (N-VOP) is a start code and a few header bits: at most this many bytes.
_NVOP_MAX = 8
_PACKED_USERDATA = re.compile(rb"DivX\d+(?:Build|b)\d+p")


class _Counter:
    """The three tiers; ``count()`` picks the cheapest exact one."""

    def __init__(self, path: Path, container: Any, vs: Any, layout: Layout,
                 verify: bool = False) -> None:
        self.path = path
        self.container = container
        self.vs = vs
        self.layout = layout
        self.verify = verify
        self.size = os.stat(path).st_size
        self.warnings: list[str] = []

    def count(self) -> tuple[int, str, list[str], tuple[Any, Fraction] | None]:
        n, detail, timing = self._count()
        if not self.verify or detail.startswith("tier 3"):
            if not detail.startswith("tier 3"):
                detail += ("; counts the frames the container stores, without decoding them "
                           "(a frame whose data cannot be decoded still counts; --verify "
                           "decodes every one)")
            return n, detail, self.warnings, timing
        shown, decoded = self._decode_all("--verify", self.layout.promised_frames)
        if shown == n:
            return n, f"{detail}; --verify: a full decode shows the same {n}", \
                self.warnings, timing
        self.warnings.append(f"--verify: the container stores {n} frames but decoding shows "
                             f"{shown}; nFrames is the decoded count")
        return shown, f"{decoded}; the container stores {n} ({detail})", self.warnings, timing

    def _count(self) -> tuple[int, str, tuple[Any, Fraction] | None]:
        lay = self.layout
        why = ""
        if lay.indexed and not hasattr(self.vs, "index_entries"):
            why = "this PyAV does not expose the index (stream.index_entries)"
        elif lay.indexed:
            got = self._from_index()
            if isinstance(got, tuple):
                return got
            why = got
        elif lay.kind in ("mp4", "avi"):
            why = "; ".join(lay.notes) or lay.damage
        else:
            why = f"{lay.format} has no frame index"
        return self._demux(why)

    # tier 1
    def _from_index(self) -> tuple[int, str, tuple[Any, Fraction] | None] | str:
        entries = self.vs.index_entries
        n_entries = len(entries)
        if n_entries == 0:
            return "the index is empty"
        own = self.layout.own
        timing: tuple[Any, Fraction] | None = None
        if own is not None and own.all_shown and own.n_frames == n_entries:
            # Our vectorised reading agrees with FFmpeg's index in size, and nothing is
            # trimmed: no need to walk FFmpeg's entries one Python object at a time.
            shown, discarded, end = own.n_frames, 0, own.data_end
            reader = "read by bsingest, FFmpeg's index agrees"
        else:
            shown, discarded, end, stamps = self._walk_entries(entries)
            reader = "FFmpeg's index (PyAV index_entries)"
            if self.layout.kind == "mp4":
                timing = (stamps, self.vs.time_base)
        if own is not None and own.pts is not None and own.tick is not None:
            timing = (own.pts, own.tick)
        if own is not None and own.problem:
            self.warnings.append(f"damaged sample table ({own.problem}): nFrames counts the "
                                 f"{shown} frames FFmpeg's reading of it shows")
        if self.layout.kind == "mp4":  # what the sample table promises, if the file is cut
            self.layout.promised_frames = shown
            self.layout.promise_detail = "the sample table"
        if end > self.size:
            return (f"the {self.layout.index_name} places frame data up to byte {end}, "
                    f"past the end of the file ({self.size} bytes)")
        if self.layout.kind == "avi" and self.vs.codec_context.name == "mpeg4":
            hazard = self._avi_mpeg4_hazard(entries)
            if hazard:
                return (*self._decode_all(hazard, promised=None), None)
        detail = (f"tier 1, container index: {self.layout.index_name}, {n_entries} entries, "
                  f"{reader}")
        if self.layout.damage:
            self.warnings.append(f"damaged structure ({self.layout.damage}), but the data of "
                                 f"all {shown} indexed frames is inside the file")
        if discarded:
            detail += f", {discarded} before the edit list's start discarded"
        if self.layout.promised_frames is not None and self.layout.promised_frames != shown:
            detail += f" ({self.layout.promise_detail} says {self.layout.promised_frames})"
        return shown, detail, timing

    def _walk_entries(self, entries: Any) -> tuple[int, int, int, list[int]]:
        """(shown, discarded, end of data, timestamps) from FFmpeg's index, edit lists
        applied."""
        # An AVI index entry points at the chunk header (8 bytes); an MP4 one at the data.
        header = 8 if self.layout.kind == "avi" else 0
        flags = [(e.is_discard, e.pos + e.size, e.timestamp) for e in entries]
        discarded = sum(d for d, _, _ in flags)
        end = max(p for _, p, _ in flags) + header
        return len(flags) - discarded, discarded, end, [t for d, _, t in flags if not d]

    def _avi_mpeg4_hazard(self, entries: Any) -> str:
        # MPEG-4 Part 2 in AVI may pack a B-frame with the next P-frame into one chunk
        # (DivX/Xvid "packed bitstream") and leave not-coded N-VOP chunks: packets and
        # shown frames then differ, so such a file is decoded.
        tiny = sum(1 for e in entries if e.size <= _NVOP_MAX)
        if tiny:
            return f"{tiny} chunks of at most {_NVOP_MAX} bytes (not-coded N-VOPs)"
        with open(self.path, "rb") as fh:
            fh.seek(entries[0].pos + 8)
            first = fh.read(min(entries[0].size, 64 * 1024))
        if _PACKED_USERDATA.search(first):
            return "MPEG-4 packed bitstream (DivX 'p' user data): B-frames packed with P-frames"
        return ""

    # tier 2
    def _demux(self, why: str) -> tuple[int, str, tuple[Any, Fraction] | None]:
        import av

        vs = self.vs
        packets = discarded = corrupt = 0
        tail: list[Any] | None = []  # the packets since the last keyframe
        tail_bytes = 0
        stamps: list[int] = []
        error = ""
        try:
            for pkt in self.container.demux(vs):
                if pkt.size == 0 and pkt.dts is None:
                    continue  # the demuxer's end-of-stream marker
                packets += 1
                discarded += pkt.is_discard
                corrupt += pkt.is_corrupt
                if pkt.pts is not None:
                    stamps.append(pkt.pts)
                if pkt.is_keyframe:
                    tail, tail_bytes = [], 0
                if tail is not None:
                    tail.append(pkt)
                    tail_bytes += pkt.size
                    if tail_bytes > _TAIL_LIMIT:
                        tail = None
        except (av.error.InvalidDataError, av.error.EOFError) as exc:
            error = _ffmpeg_reason(exc)
        except av.error.MemoryError as exc:
            raise _no_memory(self.path, exc) from exc
        damaged = bool(self.layout.damage or corrupt or error)
        promised = self.layout.promised_frames
        if discarded or self._packets_are_not_frames():
            reason = (f"{discarded} packets flagged discard" if discarded else
                      "MPEG-4 Part 2 in AVI may pack B-frames")
            return (*self._decode_all(f"{why}; {reason}", promised), None)
        timing = (stamps, vs.time_base) if self.layout.kind != "avi" else None
        if packets == 0:
            raise ExtractionError(self.path, f"{self.layout.format} without a single video "
                                  f"frame ({why}; {self._damage_words(promised)})")
        detail = f"tier 2, demux pass ({why}): {packets} packets counted without decoding"
        if self.layout.data_end is not None:
            detail += f"; read up to byte {self.layout.data_end}, {self.layout.data_end_detail}"
        if not damaged:
            return packets, detail, timing
        # A damaged tail: decode the last group of pictures to see what it still shows.
        if tail is None or not tail:
            return (*self._decode_all(f"{why}; damaged, last keyframe not found", promised),
                    timing)
        shown_tail = self._decode_packets(tail)
        n = packets - len(tail) + shown_tail
        detail += (f"; damaged tail: the last {len(tail)} packets from the last keyframe "
                   f"decoded, {shown_tail} frames shown (tier 3)")
        if n == 0:
            raise ExtractionError(self.path,
                                  f"no decodable video frame ({self._damage_words(promised)})")
        self._warn_damage(n, promised, error)
        return n, detail, timing

    def _packets_are_not_frames(self) -> bool:
        return self.layout.kind == "avi" and self.vs.codec_context.name == "mpeg4"

    # tier 3
    def _decode_packets(self, packets: list[Any]) -> int:
        import av

        cc = self.vs.codec_context
        shown = 0
        for pkt in [*packets, None]:
            try:
                shown += len(cc.decode(pkt))
            except (av.error.InvalidDataError, av.error.EOFError):
                continue  # a broken packet shows nothing; the decoder goes on
        return shown

    def _decode_all(self, why: str, promised: int | None) -> tuple[int, str]:
        import av

        shown = packets = 0
        error = ""
        with av.open(_source(self.path, self.layout), metadata_errors="replace") as container:
            vs = container.streams[self.vs.index]
            vs.thread_type = "AUTO"
            try:
                for pkt in container.demux(vs):
                    if pkt.size == 0 and pkt.dts is None:
                        continue
                    packets += 1
                    try:
                        shown += len(vs.decode(pkt))
                    except av.error.InvalidDataError:
                        continue
            except (av.error.InvalidDataError, av.error.EOFError) as exc:
                error = _ffmpeg_reason(exc)
            except av.error.MemoryError as exc:
                raise _no_memory(self.path, exc) from exc
            try:
                shown += len(vs.decode(None))
            except (av.error.InvalidDataError, av.error.EOFError):
                pass
        if shown == 0:
            raise ExtractionError(self.path, f"no decodable video frame in {packets} packets "
                                  f"({self._damage_words(promised)})")
        if (self.layout.damage or error) and why != "--verify":
            self._warn_damage(shown, promised, error)
        return shown, f"tier 3, full decode ({why}): {packets} packets, {shown} frames shown"

    def _damage_words(self, promised: int | None) -> str:
        words = [w for w in (self.layout.damage,) if w]
        if promised:
            words.append(f"{self.layout.promise_detail} promises {promised} frames")
        return "; ".join(words) or "the file is damaged or empty"

    def _warn_damage(self, present: int, promised: int | None, error: str) -> None:
        promise = (f"{self.layout.promise_detail} promises {promised} frames, "
                   if promised else "")
        cause = self.layout.damage or error or "corrupt packets at the end"
        self.warnings.append(f"damaged or truncated: {promise}{present} frames present ({cause})")


def _no_memory(path: Path, exc: Exception) -> ExtractionError:
    # A damaged size field makes FFmpeg allocate what it declares for one packet.
    return ExtractionError(path, f"FFmpeg could not allocate a packet ({_ffmpeg_reason(exc)}): "
                           "a damaged size in the container")


def _ffmpeg_reason(exc: Exception) -> str:
    # PyAV's message repeats the file name ("...: 'path'"); keep FFmpeg's words only.
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())
