"""Writers of imaging files shaped like the real writers' layouts, for the tests.

- ScanImage 2016+: BigTIFF pages with the non-varying ``SI.`` settings in the Software
  tag, the frame's varying data (``epoch`` ...) in ImageDescription and the ROI groups'
  JSON in Artist, as ScanImage 2023 writes them (``../shared/corpus3`` ScanImage files);
- ScanImage 3.x: a classic TIFF with ``state.`` lines separated by CR;
- OME-TIFF and ImageJ stacks: written by tifffile itself;
- Bruker PrairieView: the sequence XML as PVScan 5.6 writes it, with ``.ome.tif`` frames;
- ThorImage: ``Experiment.xml`` (ThorImageLS 3.2 attributes) with ``Image_0001_0001.raw``;
- Scanbox: ``info`` written with ``scipy.io.savemat`` and a ``.sbx`` of uint16 frames;
- Suite2p: ``ops.npy`` as ``numpy.save`` of the ops dict (a pickled 0-d object array).

Every writer takes the values a test then compares with (frames, rate, size...).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np


def si_software(*, rate: float = 30.0, lines: int = 16, pixels: int = 16,
                channels: tuple[int, ...] = (1,), slices: int = 1, step: float = 0.0,
                fov_um: float = 32.0, mroi: bool = False, frames_per_file: float = float("inf"),
                volume_rate: float | None = None, extra: str = "") -> str:
    chans = str(channels[0]) if len(channels) == 1 else "[" + " ".join(map(str, channels)) + "]"
    h = fov_um / 2
    zs = " ".join(str(i * step) for i in range(slices)) if slices > 1 else "0"
    lines_ = [
        "SI.LINE_FORMAT_VERSION = 1", "SI.TIFF_FORMAT_VERSION = 4", "SI.VERSION_MAJOR = 2023",
        "SI.VERSION_MINOR = 0", f"SI.hChannels.channelSave = {chans}",
        "SI.hBeams.powers = [25 0]",
        f"SI.hRoiManager.scanFrameRate = {rate}",
        f"SI.hRoiManager.scanVolumeRate = {volume_rate or rate / max(slices, 1)}",
        f"SI.hRoiManager.linesPerFrame = {lines}", f"SI.hRoiManager.pixelsPerLine = {pixels}",
        f"SI.hRoiManager.mroiEnable = {'true' if mroi else 'false'}",
        f"SI.hRoiManager.imagingFovUm = [-{h} -{h};{h} -{h};{h} {h};-{h} {h}]",
        "SI.objectiveResolution = 15",
        "SI.hScan2D.logFramesPerFile = "
        + ("Inf" if frames_per_file == float("inf") else str(int(frames_per_file))),
        f"SI.hStackManager.enable = {'true' if slices > 1 else 'false'}",
        f"SI.hStackManager.numSlices = {slices}",
        f"SI.hStackManager.stackZStepSize = {step}",
        f"SI.hStackManager.actualStackZStepSize = {step}",
        "SI.hStackManager.boundedStackDefinition = 'numSlices'",
        f"SI.hStackManager.zs = [{zs}]",
    ]
    return "\n".join(lines_) + ("\n" + extra if extra else "") + "\n"


def si_artist(rois: list[tuple[int, int, float]] | None = None) -> str:
    """The RoiGroups JSON; ``rois`` = (pixels, lines, size in degrees) per ROI."""
    rois = rois or [(16, 16, 2.0)]
    items = [{"ver": 1, "classname": "scanimage.mroi.Roi", "name": f"ROI {i + 1}", "zs": 0,
              "enable": 1, "scanfields": {
                  "classname": "scanimage.mroi.scanfield.fields.RotatedRectangle",
                  "centerXY": [0, 0], "sizeXY": [size, size], "pixelResolutionXY": [px, ln],
                  "enable": 1}}
             for i, (px, ln, size) in enumerate(rois)]
    group = {"ver": 1, "classname": "scanimage.mroi.RoiGroup", "name": "Default Imaging ROI",
             "rois": items[0] if len(items) == 1 else items}
    return json.dumps({"RoiGroups": {"imagingRoiGroup": group, "photostimRoiGroups": None}},
                      indent=2)


def si_frame(n: int, epoch: str = "[2023  9 22 12 46 9.383]") -> str:
    return (f"frameNumbers = {n}\nacquisitionNumbers = 1\nframeNumberAcquisition = {n}\n"
            f"frameTimestamps_sec = {n / 30:.9f}\nepoch = {epoch}\nauxTrigger0 = []\n"
            "I2CData = {}\n")


def write_scanimage(path: Path, pages: int, *, lines: int = 16, pixels: int = 16,
                    software: str | None = None, artist: str | None = None,
                    first_frame: int = 1) -> Path:
    """A ScanImage 2016+ BigTIFF of ``pages`` int16 pages, laid out as ScanImage writes it:
    the BigTIFF header, ScanImage's own header at byte 16 (magic 0x07030301, version 3,
    the lengths of the non-varying frame data and of the ROI JSON, then both), and per
    page its IFD, the IFD's tag values and the pixels. tifffile reads both headers."""
    software = software or si_software(lines=lines, pixels=pixels)
    artist = artist or si_artist([(pixels, lines, 2.0)])
    sw, art = software.encode() + b"\0", artist.encode() + b"\0"
    prefix = struct.pack("<IIII", 0x07030301, 3, len(sw), len(art)) + sw + art
    return write_tiff(path, pages, lambda i: [(270, si_frame(first_frame + i).encode()),
                                              (305, software.encode()), (315, artist.encode())],
                      lines=lines, pixels=pixels, prefix=prefix, bigtiff=True, sample_format=2)


def write_tiff(path: Path, pages: int, texts: Any, *, lines: int, pixels: int,
               prefix: bytes = b"", bigtiff: bool = False, sample_format: int = 1) -> Path:
    """A little-endian TIFF of ``pages`` 16-bit pages: header, ``prefix`` (a writer's own
    block after the header), then per page its IFD, its ASCII tag values
    (``texts(i)`` = [(code, bytes)]) and its pixels (zeros)."""
    head = b"II+\0" + struct.pack("<HHQ", 8, 0, 0) if bigtiff else b"II*\0" + b"\0" * 4
    out = bytearray(head + prefix)
    image = lines * pixels * 2
    entry, count_fmt, off_fmt = ("<HHQQ", "<Q", "<Q") if bigtiff else ("<HHII", "<H", "<I")
    entry_size, count_size, off_size = (20, 8, 8) if bigtiff else (12, 2, 4)
    previous_next = 8 if bigtiff else 4  # where the offset of the next IFD goes
    for i in range(pages):
        blobs = sorted((code, text + b"\0") for code, text in texts(i))
        ifd = len(out) + (len(out) % 2)
        out += b"\0" * (ifd - len(out))
        struct.pack_into(off_fmt, out, previous_next, ifd)
        n = 10 + len(blobs)
        at = ifd + count_size + n * entry_size + off_size
        tags = [(256, 3, 1, pixels), (257, 3, 1, lines), (258, 3, 1, 16), (259, 3, 1, 1),
                (262, 3, 1, 1), (277, 3, 1, 1), (278, 3, 1, lines), (339, 3, 1, sample_format)]
        for code, blob in blobs:
            tags.append((code, 2, len(blob), at))
            at += len(blob)
        tags += [(273, 16 if bigtiff else 4, 1, at), (279, 16 if bigtiff else 4, 1, image)]
        out += struct.pack(count_fmt, n)
        for code, dtype, count, value in sorted(tags):
            out += struct.pack(entry, code, dtype, count, value)
        previous_next = len(out)
        out += struct.pack(off_fmt, 0)
        for _, blob in blobs:
            out += blob
        out += b"\0" * image
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path


def write_micromanager(path: Path, pages: int, summary: dict[str, Any], *, lines: int = 6,
                       pixels: int = 6) -> Path:
    """A Micro-Manager 1.4 TIFF: after the 8-byte header, the index map, display
    settings and comments headers (zero offsets here), the summary block at byte 32
    (header 2355492, length, JSON), and the MicroManagerMetadata tag on every page."""
    body = json.dumps(summary).encode()
    prefix = struct.pack("<IIIIII", 54773648, 0, 483765892, 0, 99384722, 0)
    prefix += struct.pack("<II", 2355492, len(body)) + body
    return write_tiff(path, pages, lambda i: [(51123, json.dumps({"Frame": i}).encode())],
                      lines=lines, pixels=pixels, prefix=prefix)


def write_scanimage_legacy(path: Path, pages: int, *, rate: float = 4.0, channels: int = 2,
                           lines: int = 8, pixels: int = 8, slices: int = 1,
                           step: float = 0.0) -> Path:
    """A ScanImage 3.8 classic TIFF: ``state.`` lines separated by CR in each page."""
    import tifffile

    saving = "".join(f"state.acq.savingChannel{i}={1 if i <= channels else 0}\r"
                     for i in range(1, 5))
    header = ("state.configPath='C:\\scanimage\\configs'\rstate.configName='2p'\r"
              "state.software.version=3.8\r"
              f"state.acq.numberOfZSlices={slices}\rstate.acq.zStepSize={step}\r"
              f"state.acq.numberOfFrames={pages // channels}\r"
              f"state.acq.linesPerFrame={lines}\rstate.acq.pixelsPerLine={pixels}\r"
              f"state.acq.frameRate={rate}\rstate.acq.numberOfChannelsSave={channels}\r"
              + saving + "state.internal.triggerTimeString='9/24/2010 14:13:35.123'\r")
    frame = np.zeros((lines, pixels), "uint16")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tifffile.TiffWriter(path) as tw:
        for _ in range(pages):
            tw.write(frame, description=header, metadata=None, contiguous=False)
    return path


def pvscan_xml(name: str, *, frames: int, period: float = 0.032953338, pixels: int = 32,
               lines: int = 24, um: float = 1.1078125, wavelength: float | None = None,
               planes: int = 1, z_step: float = 2.0, channels: tuple[int, ...] = (2,),
               piezo: bool = False, frame_period: float | None = None) -> str:
    """A PrairieView 5.6 sequence XML: T-series of ``frames`` frames, or (``planes`` > 1)
    a T-series of Z-series: ``frames`` volumes of ``planes`` planes, one <Sequence> each."""
    wl = (f'    <PVStateValue key="laserWavelength">\n      <IndexedValue index="0" '
          f'value="{wavelength}" description="Excitation 1" />\n    </PVStateValue>\n'
          if wavelength else "")
    head = f"""\ufeff<?xml version="1.0" encoding="utf-8"?>
<PVScan version="5.6.64.400" date="2/20/2023 3:58:25 PM" notes="">
  <PVStateShard>
    <PVStateValue key="activeMode" value="ResonantGalvo" />
    <PVStateValue key="framePeriod" value="{period}" />
    <PVStateValue key="laserPower">
      <IndexedValue index="0" value="500" description="920 Axon" />
    </PVStateValue>
{wl}    <PVStateValue key="linesPerFrame" value="{lines}" />
    <PVStateValue key="micronsPerPixel">
      <IndexedValue index="XAxis" value="{um}" />
      <IndexedValue index="YAxis" value="{um}" />
      <IndexedValue index="ZAxis" value="5" />
    </PVStateValue>
    <PVStateValue key="pixelsPerLine" value="{pixels}" />
  </PVStateShard>
"""
    body = []
    # PrairieView's <Frame> shards state the values that applied to the frames; the
    # top-level shard those set before the run (they can differ: the corpus' T-series).
    fp = period if frame_period is None else frame_period
    sequences = [(c, planes) for c in range(1, frames + 1)] if planes > 1 else [(1, frames)]
    kind = "TSeries ZSeries Element" if planes > 1 else "TSeries Timed Element"
    for cycle, n in sequences:
        body.append(f'  <Sequence type="{kind}" cycle="{cycle}" time="15:58:25.8579176">\n'
                    "    <PVStateShard />\n")
        for i in range(1, n + 1):
            files = "".join(
                f'      <File channel="{ch}" channelName="Ch{ch}" filename="{name}_Cycle'
                f'{cycle:05d}_Ch{ch}_{i:06d}.ome.tif" />\n' for ch in channels)
            moving = f"{100 + (i - 1) * z_step}"
            devices = ([("0", "147.55", "Z Focus"), ("1", moving, "Bruker 400 um Piezo")]
                       if piezo else [("0", moving, "Z Focus")])
            subs = "".join(f'            <SubindexedValue subindex="{k}" value="{v}" '
                           f'description="{d}" />\n' for k, v, d in devices)
            z = (f'        <PVStateValue key="positionCurrent">\n          <SubindexedValues '
                 f'index="ZAxis">\n{subs}          '
                 "</SubindexedValues>\n        </PVStateValue>\n") if planes > 1 else ""
            body.append(f'    <Frame relativeTime="{(i - 1) * fp}" index="{i}" '
                        f'parameterSet="CurrentSettings">\n{files}'
                        '      <PVStateShard>\n        <PVStateValue key="framePeriod" '
                        f'value="{fp}" />\n{z}      </PVStateShard>\n    </Frame>\n')
        body.append("  </Sequence>\n")
    return head + "".join(body) + "</PVScan>\n"


def write_bruker(folder: Path, name: str = "TSeries-001", *, frames: int = 4,
                 write_tifs: int | None = None, **kw: Any) -> Path:
    """A PrairieView folder: the XML and (the first ``write_tifs`` of) its frame files."""
    import tifffile

    folder.mkdir(parents=True, exist_ok=True)
    xml = folder / f"{name}.xml"
    xml.write_text(pvscan_xml(name, frames=frames, **kw), encoding="utf-8")
    planes = kw.get("planes", 1)
    names = ([f"{name}_Cycle00001_Ch2_{i:06d}.ome.tif" for i in range(1, frames + 1)]
             if planes == 1 else
             [f"{name}_Cycle{c:05d}_Ch2_{i:06d}.ome.tif" for c in range(1, frames + 1)
              for i in range(1, planes + 1)])
    for tif in names[:len(names) if write_tifs is None else write_tifs]:
        tifffile.imwrite(folder / tif, np.zeros((4, 4), "uint16"))
    return xml


def experiment_xml(*, pixels: int = 16, lines: int = 12, um: float = 0.593,
                   rate: float = 60.087, timepoints: int = 3, zsteps: int = 1,
                   z_um: float = 15.0, channels: int = 2, mode: int = 0,
                   stream_frames: int = 100, utime: int = 1574331318,
                   date: str = "11/21/2019 11:15:18", average: int = 1) -> str:
    waves = "".join(f'    <Wavelength name="Chan{"ABCD"[i]}" exposureTimeMS="0" />\n'
                    for i in range(channels))
    return f"""<?xml version="1.0"?>
<ThorImageExperiment>
  <Name name="Untitled_003" />
  <Date date="{date}" uTime="{utime}" />
  <Software version="3.2.2018.4241" />
  <Wavelengths nyquistExWavelengthNM="488" nyquistEmWavelengthNM="488">
{waves}    <ChannelEnable Set="3" />
  </Wavelengths>
  <ZStage name="ThorZPiezo" steps="{zsteps}" stepSizeUM="{z_um}" startPos="0"
          enable="{1 if zsteps > 1 else 0}" />
  <Timelapse timepoints="{timepoints}" intervalSec="0" triggerMode="0" />
  <LSM name="ResonanceGalvo" pixelX="{pixels}" pixelY="{lines}"
       averageMode="{1 if average > 1 else 0}" averageNum="{average}" pixelSizeUM="{um}"
       frameRate="{rate}" />
  <Pockels type="0" pockelsBlankPercentage="0" start="0" stop="0" path="" />
  <Streaming enable="{1 if mode == 1 else 0}" frames="{stream_frames}" rawData="1"
             zFastEnable="0" flybackFrames="3" />
  <PowerRegulator enable="1" type="0" start="1" stop="1" offset="118" />
  <CaptureMode mode="{mode}" />
  <Modality name="Multiphoton" primaryDetectorType="1" />
</ThorImageExperiment>
"""


def write_thorimage(folder: Path, *, raw_frames: int | None = None, extra_bytes: int = 0,
                    **kw: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    xml = folder / "Experiment.xml"
    xml.write_text(experiment_xml(**kw))
    if raw_frames is not None:
        frame = kw.get("pixels", 16) * kw.get("lines", 12) * 2 * kw.get("channels", 2)
        with open(folder / "Image_0001_0001.raw", "wb") as fh:
            fh.truncate(raw_frames * frame + extra_bytes)
    return xml


def write_scanbox(path: Path, *, frames: int = 5, lines: int = 32, pixels: int = 40,
                  channels_code: int = 2, resfreq: float = 7930.0, scanmode: int = 1,
                  extra_bytes: int = 0, otwave: list[float] | None = None) -> Path:
    """``path`` (.sbx) of ``frames`` frames and its ``.mat``, as Scanbox writes ``info``."""
    import scipy.io

    n_chan = 2 if channels_code == 1 else 1
    info: dict[str, Any] = {
        "resfreq": resfreq, "scanmode": scanmode, "channels": channels_code,
        "sz": np.array([lines, pixels], dtype=float),
        "recordsPerBuffer": lines // 2 if scanmode == 0 else lines,
        "config": {"lines": lines, "magnification": 1},
        "scanbox_version": 2, "abort_bit": 0, "otwave": np.array(otwave or [], dtype=float),
        "volscan": 1 if otwave else 0,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path.with_suffix(".mat")), {"info": info})
    with open(path, "wb") as fh:
        fh.truncate(frames * lines * pixels * 2 * n_chan + extra_bytes)
    return path


def write_suite2p(folder: Path, *, fs: float = 10.0, nframes: int = 250, ly: int = 64,
                  lx: int = 48, planes: int = 1) -> list[Path]:
    """``suite2p/plane<i>/ops.npy`` (+ F.npy) for ``planes`` planes and ``combined/``."""
    out = []
    for i in range(planes):
        plane = folder / "suite2p" / f"plane{i}"
        plane.mkdir(parents=True, exist_ok=True)
        ops = {"fs": fs, "nframes": nframes, "Ly": ly, "Lx": lx, "nplanes": planes,
               "nchannels": 1, "filelist": ["C:\\data\\rec_00001.tif"],
               "meanImg": np.zeros((ly, lx), np.float32), "yoff": np.zeros(nframes, np.int32)}
        np.save(plane / "ops.npy", np.array(ops, dtype=object), allow_pickle=True)
        np.save(plane / "F.npy", np.zeros((3, nframes), np.float32))
        out.append(plane / "ops.npy")
    combined = folder / "suite2p" / "combined"
    combined.mkdir(parents=True, exist_ok=True)
    np.save(combined / "ops.npy", np.array({"fs": fs}, dtype=object), allow_pickle=True)
    return out


# --- damaged TIFFs -------------------------------------------------------------------


def write_plain_stack(path: Path, pages: int, shape: tuple[int, int] = (8, 8)) -> Path:
    """A classic multi-page TIFF without imaging metadata (tifffile, no description)."""
    import tifffile

    path.parent.mkdir(parents=True, exist_ok=True)
    with tifffile.TiffWriter(path) as tw:
        for _ in range(pages):
            tw.write(np.zeros(shape, "uint16"), photometric="minisblack", metadata=None,
                     contiguous=False)
    return path


def ifd_offsets(path: Path) -> list[int]:
    """Every IFD's offset, by tifffile (the second reader), before any damage."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        return [p.offset for p in tif.pages]


def set_next_ifd(path: Path, ifd: int, target: int) -> None:
    """Point the classic TIFF IFD at offset ``ifd`` to ``target`` as its successor."""
    import struct

    data = bytearray(path.read_bytes())
    n = struct.unpack_from("<H", data, ifd)[0]
    struct.pack_into("<I", data, ifd + 2 + 12 * n, target)
    path.write_bytes(bytes(data))


def write_looping_tiff(path: Path, pages: int = 150, back_to: int = 120) -> Path:
    """A chain whose last IFD points back to IFD ``back_to``: past tifffile's one check
    for loops, at page 100."""
    write_plain_stack(path, pages, (2, 2))
    offsets = ifd_offsets(path)
    set_next_ifd(path, offsets[-1], offsets[back_to])
    return path


def write_tiff_past_end(path: Path, pages: int = 6, at: int = 3) -> Path:
    write_plain_stack(path, pages, (2, 2))
    offsets = ifd_offsets(path)
    set_next_ifd(path, offsets[at], path.stat().st_size + 1000)
    return path
