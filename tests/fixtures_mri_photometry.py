"""Writers of MRI and fiber photometry files for the tests, shaped like the real writers'.

NIfTI by nibabel, DICOM by pydicom (both the field's own writers); pyPhotometry ``.ppd``
as pyPhotometry's ``data_import.py`` reads it (2-byte header length, JSON, uint16 words);
Neurophotometrics CSV as its Bonsai workflow writes it; Doric in both HDF5 layouts (the
paths of Doric Neuroscience Studio 5 and 6 files); TDT tsq/tev pairs in the 40-byte tsq
record layout neo's ``TdtRawIO`` and the tdt package read.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# --- NIfTI --------------------------------------------------------------------------------


def write_nifti(path: Path, shape: Sequence[int], zooms: Sequence[float], *,
                units: tuple[str, str] = ("mm", "sec"), version: int = 1,
                endian: str = "<", sidecar: dict | None = None) -> Path:
    """A NIfTI file by nibabel (``.nii`` or ``.nii.gz`` by the name)."""
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    data = (np.arange(int(np.prod(shape))) % 100).astype(f"{endian}i2").reshape(shape)
    cls = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    header = (nib.Nifti1Header if version == 1 else nib.Nifti2Header)(endianness=endian)
    img = cls(data, np.diag([*zooms[:3], 1.0]), header=header)
    img.header.set_zooms(tuple(zooms))
    img.header.set_xyzt_units(*units)
    nib.save(img, path)
    if sidecar is not None:
        stem = path.name[:-7] if path.name.endswith(".nii.gz") else path.name[:-4]
        (path.parent / f"{stem}.json").write_text(json.dumps(sidecar))
    return path


# --- DICOM --------------------------------------------------------------------------------

def write_dicom(path: Path, *, modality: str = "MR", rows: int = 8, columns: int = 6,
                frames: int | None = None, tr_ms: float | None = 2000.0,
                field_t: float | None = 3.0, spacing: Sequence[float] = (0.5, 0.25),
                thickness: float | None = 1.5, series_uid: str | None = None,
                instance: int = 1, position: Sequence[float] | None = None,
                temporal: int | None = None, syntax: str = "explicit",
                jpeg2000: bool = False) -> Path:
    """A DICOM Part 10 file by pydicom (preamble, DICM, file meta), pixels included."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import (
        CTImageStorage,
        ExplicitVRBigEndian,
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
        MRImageStorage,
        PositronEmissionTomographyImageStorage,
        generate_uid,
    )

    path.parent.mkdir(parents=True, exist_ok=True)
    sop = {"MR": MRImageStorage, "CT": CTImageStorage,
           "PT": PositronEmissionTomographyImageStorage}.get(modality, MRImageStorage)
    ts = {"explicit": ExplicitVRLittleEndian, "implicit": ImplicitVRLittleEndian,
          "big": ExplicitVRBigEndian}[syntax]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ts
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.SeriesNumber = 4
    ds.InstanceNumber = instance
    ds.AcquisitionDate = "20240131"
    ds.AcquisitionTime = "101502.5"
    ds.Rows, ds.Columns = rows, columns
    ds.PixelSpacing = [str(v) for v in spacing]
    if thickness is not None:
        ds.SliceThickness = str(thickness)
    if tr_ms is not None:
        ds.RepetitionTime = str(tr_ms)
    if field_t is not None:
        ds.MagneticFieldStrength = str(field_t)
    if position is not None:
        ds.ImagePositionPatient = [str(v) for v in position]
    if temporal is not None:
        ds.NumberOfTemporalPositions = temporal
    n = frames or 1
    if frames is not None:
        ds.NumberOfFrames = frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.zeros(n * rows * columns, "<u2").tobytes()
    if jpeg2000:  # the transfer syntax and encapsulated fragments (not a real codestream)
        from pydicom.encaps import encapsulate
        from pydicom.uid import JPEG2000Lossless

        meta.TransferSyntaxUID = JPEG2000Lossless
        ds.PixelData = encapsulate([bytes(16)] * n)
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
    ds.save_as(path, enforce_file_format=True)
    return path


def write_series(folder: Path, n_slices: int, n_volumes: int = 1, **kw: object) -> list[Path]:
    """Single-slice files of one series: ``n_volumes`` x ``n_slices`` positions."""
    from pydicom.uid import generate_uid

    uid = generate_uid()
    out = []
    k = 0
    for _ in range(n_volumes):
        for s in range(n_slices):
            k += 1
            out.append(write_dicom(folder / f"IM{k:04d}", series_uid=uid, instance=k,
                                   position=(0.0, 0.0, 1.5 * s), **kw))  # type: ignore[arg-type]
    return out


# --- pyPhotometry ----------------------------------------------------------------------

def write_ppd(path: Path, n_frames: int, *, rate: float = 130, n_analog: int | None = None,
              version: str | float = 0.2, extra_bytes: int = 0) -> Path:
    """A ``.ppd``: uint16 header length, JSON header, uint16 words (analog << 1 | digital)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header: dict[str, object] = {
        "subject_ID": "m1", "date_time": "2024-03-05T14:30:00", "mode": "2 colour time div.",
        "sampling_rate": rate, "volts_per_division": [0.00010122, 0.00010122],
        "LED_current": [100, 40], "version": version}
    if n_analog is not None:
        header.update(n_analog_signals=n_analog, n_digital_signals=2)
    raw = json.dumps(header).encode()
    signals = n_analog if n_analog is not None else 2
    words = ((np.arange(n_frames * signals) % 2000) << 1).astype("<u2")
    path.write_bytes(struct.pack("<H", len(raw)) + raw + words.tobytes() + b"\x00" * extra_bytes)
    return path


# --- Neurophotometrics --------------------------------------------------------------------

def write_npm(path: Path, n_rows: int, *, rate: float = 40.0, leds: Sequence[int] = (1, 2),
              new: bool = True, t0: float = 1234.5) -> Path:
    """A Neurophotometrics FP3002 CSV: one row per camera frame, LEDs cycling."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t_col, flag_col = ("SystemTimestamp", "LedState") if new else ("Timestamp", "Flags")
    head = ["FrameCounter", t_col, flag_col]
    if new:
        head.append("ComputerTimestamp")
    head += ["Region0G", "Region1R"]
    lines = [",".join(head)]
    for i in range(n_rows):
        row = [str(i + 1), f"{t0 + i / rate:.6f}", str(leds[i % len(leds)] | 16)]
        if new:
            row.append(f"{1e6 + i * 25.0:.1f}")
        row += [f"{0.01 * (i % 7):.5f}", f"{0.02 * (i % 5):.5f}"]
        lines.append(",".join(row))
    path.write_text("\n".join(lines) + "\n")
    return path


# --- Doric ----------------------------------------------------------------------------------

def write_doric(path: Path, n: int, *, rate: float = 1000.0, layout: str = "new",
                series: Sequence[str] = ("Series0001",)) -> Path:
    """A ``.doric`` file in Doric Neuroscience Studio's 6 layout (``new``: ``LockInAOUT01/
    {Time,AIN01}``; ``values``: ``AIN01xAOUT01-LockIn/{Time,Values}`` beside a faster
    ``DigitalIO``, the other spelling real files have) or its 5 (``old``: ``Traces/``)."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(n) / rate
    with h5py.File(path, "w") as h:
        if layout == "new":
            for s in series:
                base = f"DataAcquisition/FPConsole/Signals/{s}"
                for lock in ("LockInAOUT01", "LockInAOUT02"):
                    h[f"{base}/{lock}/Time"] = t
                    h[f"{base}/{lock}/AIN01"] = np.sin(t)
                h.attrs["Created"] = "Fri Mar  1 10:16:32 2024"
                h[f"{base}/AnalogIn/Time"] = np.arange(n * 10) / (rate * 10)
                h[f"{base}/AnalogIn/AIN01"] = np.zeros(n * 10)
            h["Configurations/FPConsole/GlobalSettings"] = np.zeros(1)
        elif layout == "values":
            for s in series:
                base = f"DataAcquisition/EPConsole/Signals/{s}"
                h[f"{base}/DigitalIO/Time"] = np.arange(n * 4) / (rate * 4)
                h[f"{base}/DigitalIO/DIO01"] = np.zeros(n * 4)
                for lock in ("AIN01xAOUT01-LockIn", "AIN01xAOUT02-LockIn"):
                    h[f"{base}/{lock}/Time"] = t
                    h[f"{base}/{lock}/Values"] = np.sin(t)
        else:
            h["Traces/Console/Time(s)/Console_time(s)"] = t
            h["Traces/Console/AIn-1 - Dem (AOut-1)/AIn-1 - Dem (AOut-1)"] = np.sin(t)
            h["Traces/Console/AIn-1 - Dem (AOut-2)/AIn-1 - Dem (AOut-2)"] = np.cos(t)
    return path


# --- TDT ----------------------------------------------------------------------------------

TSQ = np.dtype([("size", "<i4"), ("evtype", "<i4"), ("code", "S4"), ("channel", "<u2"),
                ("sort", "<u2"), ("ts", "<f8"), ("offset", "<i8"), ("fmt", "<i4"),
                ("freq", "<f4")])


#: TDT data formats (the tsq's ``fmt``) and their sample types.
TDT_FORMATS = {0: "<f4", 1: "<i4", 2: "<i2", 3: "i1", 4: "<f8", 5: "<i8"}


def write_tdt(folder: Path, block: str, stores: dict[str, tuple[float, int, int]], *,
              samples_per_block: int = 256, start: float = 1.7e9,
              epocs: tuple[str, ...] = (), formats: dict[str, int] | None = None) -> Path:
    """A TDT block: ``stores`` maps a store code to (rate, channels, blocks per channel);
    samples in the .tev (float32, or the store's data format in ``formats``), one tsq
    record per block per channel; ``epocs`` are strobe events (evtype 0x101, no
    samples), as a port entry or nose poke store."""
    folder.mkdir(parents=True, exist_ok=True)
    recs = [(0, 0, b"", 0, 0, 0.0, 0, 0, 0.0), (20, 0x8801, b"\x01", 0, 0, start, 40, 0, 0.0)]
    tev = bytearray()
    for code, (rate, chans, blocks) in stores.items():
        fmt = (formats or {}).get(code, 0)
        kind = np.dtype(TDT_FORMATS[fmt])
        size = 10 + samples_per_block * kind.itemsize // 4  # words: 40-byte header + samples
        for b in range(blocks):
            for ch in range(1, chans + 1):
                recs.append((size, 0x8101, code.encode(), ch, 0,
                             start + b * samples_per_block / rate, len(tev), fmt, rate))
                tev += np.full(samples_per_block, b, kind).tobytes()
    for k, code in enumerate(epocs):
        recs.append((10, 0x101, code.encode(), 0, 0, start + k, 0, 4, 0.0))
    recs.append((20, 0x8801, b"\x02", 0, 0, start + 100.0, 0, 0, 0.0))
    (folder / f"{block}.tev").write_bytes(bytes(tev))
    tsq = folder / f"{block}.tsq"
    np.array(recs, dtype=TSQ).tofile(tsq)
    return tsq


def write_tbk(folder: Path, block: str, stores: dict[str, tuple[int, int, int, int, float]]
              ) -> Path:
    """A block's ``.Tbk`` as Synapse writes it (a binary preamble, then one
    ``NAME=..;TYPE=..;VALUE=..;`` line per field of each store header, the headers
    separated by ``[STOREHDRITEM]``) and an empty ``.Tdx`` beside it, which neo's folder
    test asks for. ``stores`` maps a store name to (TankEvType, channels, samples per
    entry, data format, rate): 0x8101 a stream, 0x8201 snippets, 0x101 a strobe."""
    sections = []
    for name, (ev, chans, points, fmt, rate) in stores.items():
        fields = [("StoreName", "T", name), ("HeadName", "T", name), ("Enabled", "L", "1"),
                  ("CircType", "L", "5"), ("NumChan", "L", str(chans)),
                  ("StrobeMode", "L", "0"), ("StrobeBuddy", "T", ""), ("SecTag", "T", ""),
                  ("TankEvType", "L", str(ev)), ("NumPoints", "L", str(points)),
                  ("DataFormat", "L", str(fmt)), ("SampleFreq", "L", repr(float(rate)))]
        sections.append("".join(f"NAME={n};TYPE={t};VALUE={v};\r\n" for n, t, v in fields))
    preamble = b"\x01\x004\x12Tank_Information\x00\x00\x00 \xbc>E" + b"\x00" * 40
    text = preamble + b"[USERNOTEDELIMITER]" + "[STOREHDRITEM]".join(sections).encode()
    tbk = folder / f"{block}.Tbk"
    tbk.write_bytes(text + b"[USERNOTEDELIMITER]\x00\x00")
    (folder / f"{block}.Tdx").write_bytes(b"")
    return tbk


# --- Philips PAR/REC and Bruker ParaVision ------------------------------------------------

def write_parrec(folder: Path, name: str, *, dynamics: int = 1, recon: tuple[int, int] = (80, 64),
                 slices: int = 3, tr_ms: float = 2000.0) -> Path:
    """A PAR (v4.2 layout: general information lines, image lines) and its REC."""
    folder.mkdir(parents=True, exist_ok=True)
    head = [
        "# === DATA DESCRIPTION FILE ======================================================",
        "# CAUTION - Investigational device.",
        "# Dataset name: E:\\\\export\\\\DBIEX",
        "# === GENERAL INFORMATION ========================================================",
        ".    Patient name                       :   test",
        f".    Max. number of slices/locations    :   {slices}",
        f".    Max. number of dynamics            :   {dynamics}",
        f".    Repetition time [ms]               :   {tr_ms:.3f}",
        ".    Scan resolution  (x, y)            :   64  64",
        "# === IMAGE INFORMATION ==========================================================",
    ]
    lines = []
    for d in range(dynamics):
        for s in range(slices):
            # The v4.2 image line: sl ec dyn ph ty seq idx pix scan% rec_x rec_y, rescale
            # (3), window (2), angulation (3), offcentre (3), thick gap, orientations (2),
            # fmri status, ed_es, pixel spacing (2), echo time, dyn_scan_begin_time, ...
            cells = [s + 1, 1, d + 1, 1, 0, 2, d * slices + s, 16, 100, recon[0], recon[1],
                     0.0, 1.0, 0.001, 1000, 500, 0, 0, 0, 0, 0, 0, 3.0, 0.0, 0, 1, 0, 2,
                     2.5, 2.5, 30.0, round(d * tr_ms / 1e3, 3), 0.0, 0.0, 1, 90.0]
            lines.append(" " + " ".join(str(c) for c in cells))
    end = ["# === END OF DATA DESCRIPTION FILE"]
    (folder / f"{name}.PAR").write_text("\n".join(head + lines + end))
    rec = folder / f"{name}.REC"
    rec.write_bytes(b"\x00" * (2 * recon[0] * recon[1] * slices * dynamics))
    return rec


def write_paravision(scan: Path, *, matrix: tuple[int, int] = (96, 64), reps: int = 1,
                     tr_ms: float = 1500.0, bf1: float = 300.33, nucleus: str = "1H",
                     scan_ms: float | None = None, dummy_ms: float = 0.0) -> Path:
    """A ParaVision scan folder: method, acqp (JCAMP-DX), fid, pdata/1/2dseq and visu_pars."""
    (scan / "pdata" / "1").mkdir(parents=True, exist_ok=True)
    timing = (f"##$PVM_ScanTime={scan_ms}\n##$PVM_DummyScansDur={dummy_ms}\n"
              if scan_ms else "")
    (scan / "method").write_text(
        "##TITLE=Parameter List, ParaVision 6.0.1\n##JCAMPDX=4.24\n##$Method=<Bruker:EPI>\n"
        f"##$PVM_RepetitionTime={tr_ms}\n##$PVM_NRepetitions={reps}\n{timing}"
        f"##$PVM_Matrix=( 2 )\n{matrix[0]} {matrix[1]}\n##$PVM_SpatResol=( 2 )\n0.2 0.2\n##END=\n")
    (scan / "acqp").write_text(
        f"##TITLE=Parameter List, ParaVision 6.0.1\n##$BF1={bf1}\n##$NUC1=<{nucleus}>\n##END=\n")
    (scan / "fid").write_bytes(b"\x00" * 64)
    (scan / "pdata" / "1" / "2dseq").write_bytes(b"\x00" * 64)
    (scan / "pdata" / "1" / "visu_pars").write_text("##TITLE=Parameter List\n##END=\n")
    return scan / "method"
