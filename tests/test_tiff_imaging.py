"""Two-photon and TIFF imaging families: ScanImage, OME/ImageJ/plain stacks, Bruker
PrairieView, ThorImage, Scanbox, Suite2p.

Fixtures are written here in the writers' layouts (``tests/imaging_fixtures.py``);
values are checked against a second reader (tifffile, scipy.io.loadmat, numpy) or
file-size arithmetic, never against what our reader said before.
"""

from __future__ import annotations

import datetime
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from bsingest.errors import ExtractionError
from bsingest.records import check_type_json
from extractors import discover, extractor_for
from extractors._tiffwalk import count_pages
from tests.imaging_fixtures import (
    ifd_offsets,
    set_next_ifd,
    si_artist,
    si_frame,
    si_software,
    write_bruker,
    write_looping_tiff,
    write_micromanager,
    write_plain_stack,
    write_scanbox,
    write_scanimage,
    write_scanimage_legacy,
    write_suite2p,
    write_thorimage,
    write_tiff,
    write_tiff_past_end,
)

tifffile = pytest.importorskip("tifffile")


def one(path: Path) -> dict:
    [r] = extractor_for(path).extract(path)
    assert check_type_json(r.type, r.type_json) == []
    return {"type": r.type, **r.type_json, "_warnings": r.warnings, "_start": r.start_time,
            "_prov": r.provenance}


# --- the IFD walk --------------------------------------------------------------------


@pytest.mark.parametrize("bigtiff", [False, True])
@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_page_count_equals_tifffiles(tmp_path: Path, bigtiff: bool, byteorder: str) -> None:
    path = tmp_path / "s.tif"
    with tifffile.TiffWriter(path, bigtiff=bigtiff, byteorder=byteorder) as tw:
        for _ in range(37):
            tw.write(np.zeros((3, 5), "uint16"), metadata=None, contiguous=False)
    with tifffile.TiffFile(path) as tif:
        assert count_pages(path) == len(tif.pages) == 37


def test_a_loop_after_page_100_is_refused_in_one_line(tmp_path: Path) -> None:
    path = write_looping_tiff(tmp_path / "loop.tif", pages=150, back_to=120)
    with pytest.raises(ExtractionError, match=r"^loop.tif: IFD chain loops"):
        extractor_for(path).extract(path)


def test_a_self_loop_is_refused(tmp_path: Path) -> None:
    path = write_plain_stack(tmp_path / "self.tif", 3, (2, 2))
    offsets = ifd_offsets(path)
    set_next_ifd(path, offsets[1], offsets[1])
    with pytest.raises(ExtractionError, match="loops"):
        count_pages(path)


def test_an_offset_past_the_end_is_refused(tmp_path: Path) -> None:
    path = write_tiff_past_end(tmp_path / "p.tif")
    with pytest.raises(ExtractionError, match=r"^p.tif: IFD 4 offset \d+ points past the end"):
        extractor_for(path).extract(path)


def test_a_cut_last_page_is_not_counted_and_is_said(tmp_path: Path) -> None:
    path = write_plain_stack(tmp_path / "cut.tif", 6, (32, 32))
    with tifffile.TiffFile(path) as tif:
        last = tif.pages[-1]
        end = last.dataoffsets[0] + last.databytecounts[0]
        pages = len(tif.pages)
    if end != path.stat().st_size:
        pytest.skip("tifffile placed the last IFD after its data")
    path.write_bytes(path.read_bytes()[: end - 100])
    r = one(path)
    assert r["nFrames"] == pages - 1
    assert any("runs past the end" in w for w in r["_warnings"])


def test_not_a_tiff_with_a_tif_name_is_not_claimed(tmp_path: Path) -> None:
    path = tmp_path / "notes.tif"
    path.write_text("not an image")
    with pytest.raises(ExtractionError, match=r"^notes.tif: "):
        extractor_for(path)


# --- ScanImage -----------------------------------------------------------------------


def test_scanimage_values_equal_tifffiles_reading(tmp_path: Path) -> None:
    software = si_software(rate=29.76, lines=24, pixels=32, channels=(1, 3), slices=4,
                          step=1.5, fov_um=48.0)
    path = write_scanimage(tmp_path / "rec_00001_00001.tif", 16, lines=24, pixels=32,
                           software=software)
    r = one(path)
    with tifffile.TiffFile(path) as tif:
        assert tif.is_scanimage
        si = tif.scanimage_metadata["FrameData"]
        pages = len(tif.pages)
        page = tif.pages[0]
        shape = page.shape
    channels = len(si["SI.hChannels.channelSave"])
    assert r["type"] == "TwoPhotonMicroscopy"
    assert r["format"] == "ScanImage TIFF"
    assert r["nFrames"] == pages // channels == 8
    assert r["frameRate"] == si["SI.hRoiManager.scanFrameRate"]
    assert (r["verticalResolution"], r["horizontalResolution"]) == shape
    fov = np.array(si["SI.hRoiManager.imagingFovUm"])
    assert r["xVoxelSize"] == pytest.approx(np.ptp(fov[:, 0]) / shape[1])
    assert r["yVoxelSize"] == pytest.approx(np.ptp(fov[:, 1]) / shape[0])
    assert r["zVoxelSize"] == si["SI.hStackManager.actualStackZStepSize"]
    assert r["_start"] == "2023-09-22T12:46:09.383000"
    assert "laserPower" not in r  # SI.hBeams.powers is a percentage


def test_scanimage_uneven_or_single_plane_z_gives_no_z_step(tmp_path: Path) -> None:
    flat = write_scanimage(tmp_path / "flat.tif", 2, software=si_software(slices=1, step=3.0))
    assert "zVoxelSize" not in one(flat)
    uneven = si_software(slices=3, step=2.0).replace("SI.hStackManager.zs = [0.0 2.0 4.0]",
                                                     "SI.hStackManager.zs = [0 2 7]")
    assert "[0 2 7]" in uneven
    path = write_scanimage(tmp_path / "uneven.tif", 3, software=uneven)
    assert "zVoxelSize" not in one(path)


def test_a_numbered_scanimage_recording_is_one_record_named_by_its_first_file(
        tmp_path: Path) -> None:
    software = si_software(channels=(1, 2), frames_per_file=3)
    files = [write_scanimage(tmp_path / f"mouse_00002_{i:05d}.tif", pages, software=software,
                             first_frame=1 + 6 * (i - 1))
             for i, pages in ((1, 6), (2, 6), (3, 2))]
    other = write_scanimage(tmp_path / "mouse_00003_00001.tif", 4, software=software)
    total = 0
    for f in files:
        with tifffile.TiffFile(f) as tif:
            total += len(tif.pages)
    r = one(files[0])
    assert r["nFrames"] == total // 2 == 7
    assert "3 files" in r["_prov"]["nFrames"].detail
    found = discover(tmp_path)
    assert found.data == [files[0], other]
    assert {found.sidecars[f] for f in files[1:]} == {files[0]}
    later = one(files[1])  # extracted alone, a later file says whose record it is part of
    assert later["nFrames"] == 3
    assert any("mouse_00002_00001.tif" in w for w in later["_warnings"])


def test_a_numbered_recording_with_a_gap_or_a_short_file_warns(tmp_path: Path) -> None:
    software = si_software(frames_per_file=3)
    first = write_scanimage(tmp_path / "g_00001_00001.tif", 3, software=software)
    write_scanimage(tmp_path / "g_00001_00002.tif", 2, software=software)  # cut short
    write_scanimage(tmp_path / "g_00001_00004.tif", 1, software=software)  # 00003 missing
    r = one(first)
    assert r["nFrames"] == 6
    assert any("skip 00003" in w for w in r["_warnings"])
    assert any("g_00001_00002.tif holds 2 pages, not the 3" in w for w in r["_warnings"])


def test_a_damaged_later_file_of_a_recording_names_that_file(tmp_path: Path) -> None:
    first = write_scanimage(tmp_path / "m_00001_00001.tif", 2)
    second = write_tiff_past_end(tmp_path / "m_00001_00002.tif")
    with pytest.raises(ExtractionError, match=r"^m_00001_00001.tif: m_00001_00002.tif"):
        extractor_for(first).extract(first)
    assert second.exists()


def test_multi_roi_gives_each_rois_size_one_record_per_roi(tmp_path: Path) -> None:
    rois = [(32, 20, 3.0), (16, 40, 1.5)]
    path = write_scanimage(tmp_path / "mroi.tif", 4, lines=70, pixels=32,
                           software=si_software(mroi=True, lines=70, pixels=32),
                           artist=si_artist(rois))
    results = extractor_for(path).extract(path)
    assert [r.part for r in results] == ["roi1", "roi2"]
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].shape == (70, 32)  # the page holds both ROIs and the flyback
        um_per_deg = tif.scanimage_metadata["FrameData"]["SI.objectiveResolution"]
    for r, (px, lines, deg) in zip(results, rois, strict=True):
        assert (r.type_json["horizontalResolution"], r.type_json["verticalResolution"]) == (
            px, lines)
        assert r.type_json["xVoxelSize"] == pytest.approx(deg * um_per_deg / px)
        assert r.type_json["fileName"] == f"mroi.tif#{r.part}"


def test_one_multi_roi_roi_gives_its_size_not_the_pages(tmp_path: Path) -> None:
    path = write_scanimage(tmp_path / "one.tif", 2, lines=30, pixels=24,
                           software=si_software(mroi=True, lines=30, pixels=24),
                           artist=si_artist([(24, 12, 2.0)]))
    r = one(path)
    assert (r["horizontalResolution"], r["verticalResolution"]) == (24, 12)


def test_scanimage_3x_state_header(tmp_path: Path) -> None:
    path = write_scanimage_legacy(tmp_path / "old.tif", 10, rate=7.8125, channels=2,
                                  slices=5, step=-2.0)
    r = one(path)
    # tifffile guesses a classic ScanImage file's pages from the file size (9 here): ask it
    # to walk the chain as for any TIFF.
    with tifffile.TiffFile(path, is_scanimage=False) as tif:
        assert tif.pages[0].description.startswith("state.")
        pages = len(tif.pages)
    assert r["nFrames"] == pages // 2
    assert r["frameRate"] == 7.8125
    assert r["zVoxelSize"] == 2.0
    assert r["_start"] == "2010-09-24T14:13:35.123000"


def test_scanimage_averaged_frames_are_stored_at_the_rate_over_the_factor(tmp_path: Path) -> None:
    software = si_software(rate=30.0, extra="SI.hScan2D.logAverageFactor = 4")
    r = one(write_scanimage(tmp_path / "avg.tif", 3, software=software))
    assert r["frameRate"] == 7.5


def test_scanimage_channel_count_that_does_not_divide_warns(tmp_path: Path) -> None:
    path = write_scanimage(tmp_path / "odd.tif", 5, software=si_software(channels=(1, 2)))
    r = one(path)
    assert r["nFrames"] == 2
    assert any("not a whole number of frames" in w for w in r["_warnings"])


# --- other stacks --------------------------------------------------------------------


def test_ome_tiff_values_equal_tifffiles(tmp_path: Path) -> None:
    path = tmp_path / "s.ome.tif"
    tifffile.imwrite(path, np.zeros((6, 3, 2, 8, 10), "uint16"), ome=True,
                     metadata={"axes": "TZCYX", "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.3,
                               "PhysicalSizeZ": 1.5, "TimeIncrement": 0.125})
    r = one(path)
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        sizes = dict(zip(series.axes, series.shape, strict=True))
    assert r["type"] == "SinglePhotonMicroscopy"
    assert r["nFrames"] == sizes["T"] * sizes["Z"]
    assert (r["horizontalResolution"], r["verticalResolution"]) == (sizes["X"], sizes["Y"])
    assert (r["xVoxelSize"], r["yVoxelSize"], r["zVoxelSize"]) == (0.25, 0.3, 1.5)
    # TimeIncrement 0.125 s is the time between the 6 stacks of 3 planes: 8 volumes/s. The
    # 18 frames are planes, whose rate is not stated (8 planes/s said 18 / 8 = 2.25 s for
    # a 0.75 s recording): no frameRate.
    assert "frameRate" not in r
    assert any("8 volumes/s" in w for w in r["_warnings"])


def test_ome_tiff_time_series_of_single_planes_has_the_rate(tmp_path: Path) -> None:
    path = tmp_path / "t.ome.tif"
    tifffile.imwrite(path, np.zeros((6, 2, 8, 10), "uint16"), ome=True,
                     metadata={"axes": "TCYX", "TimeIncrement": 125,
                               "TimeIncrementUnit": "ms"})
    r = one(path)
    assert r["nFrames"] == 6
    assert r["frameRate"] == pytest.approx(1000 / 125)


def test_imagej_hyperstack(tmp_path: Path) -> None:
    path = tmp_path / "ij.tif"
    tifffile.imwrite(path, np.zeros((7, 2, 5, 6), "uint8"), imagej=True, resolution=(4, 4),
                     metadata={"axes": "TCYX", "finterval": 0.04, "unit": "um"})
    r = one(path)
    with tifffile.TiffFile(path) as tif:
        ij = tif.imagej_metadata
    assert r["nFrames"] == ij["images"] // ij["channels"] == 7
    assert r["frameRate"] == pytest.approx(1 / ij["finterval"])
    assert r["xVoxelSize"] == pytest.approx(0.25)


def test_imagej_finterval_in_its_tunit_and_fps_is_not_the_rate(tmp_path: Path) -> None:
    """ImageJ's FileSaver writes ``finterval`` in ``tunit`` ("sec" when absent) and ``fps``,
    the animation speed (a playback setting): the rate is 1 / finterval in seconds,
    whatever fps says. Before the fix: 7.0 (fps)."""
    path = tmp_path / "ij_ms.tif"
    tifffile.imwrite(path, np.zeros((3, 5, 6), "uint8"), imagej=True, resolution=(4, 4),
                     metadata={"axes": "TYX", "unit": "um", "finterval": 40, "tunit": "ms",
                               "fps": 7})
    r = one(path)
    with tifffile.TiffFile(path) as tif:
        ij = tif.imagej_metadata
    assert (ij["finterval"], ij["tunit"], ij["fps"]) == (40, "ms", 7)
    assert r["nFrames"] == 3
    assert r["frameRate"] == pytest.approx(1000 / 40)  # 40 ms a frame: 25 Hz
    assert r["xVoxelSize"] == pytest.approx(0.25)


def test_imagej_z_spacing_in_its_zunit(tmp_path: Path) -> None:
    """x and y are in ``unit``, z in ``zunit`` where FileSaver writes it: 500 nm is
    0.5 µm (before the fix: 500)."""
    path = tmp_path / "ij_z.tif"
    tifffile.imwrite(path, np.zeros((4, 5, 6), "uint8"), imagej=True, resolution=(4, 4),
                     metadata={"axes": "ZYX", "spacing": 500, "unit": "um", "zunit": "nm"})
    r = one(path)
    assert r["zVoxelSize"] == pytest.approx(500 / 1000)
    assert r["xVoxelSize"] == pytest.approx(0.25)


def test_imagej_hyperstack_of_slices_and_frames_has_no_plane_rate(tmp_path: Path) -> None:
    """finterval is the time between the Z stacks of a hyperstack; nFrames counts planes
    (slices x frames), whose rate ImageJ does not state."""
    path = tmp_path / "ij_zt.tif"
    tifffile.imwrite(path, np.zeros((3, 4, 5, 6), "uint8"), imagej=True,
                     metadata={"axes": "TZYX", "finterval": 0.5})
    r = one(path)
    assert r["nFrames"] == 3 * 4
    assert "frameRate" not in r
    assert any("time between stacks of 4 slices" in w for w in r["_warnings"])


def test_imagej_fps_alone_gives_no_rate(tmp_path: Path) -> None:
    path = write_tiff(tmp_path / "anim.tif", 4, lambda i: [
        (270, b"ImageJ=1.54f\nimages=4\nframes=4\nfps=7\nloop=false\n")] if i == 0 else [],
        lines=3, pixels=3)
    r = one(path)
    assert "frameRate" not in r and r["nFrames"] == 4
    assert any("animation" in w for w in r["_warnings"])


def test_imagej_finterval_in_an_unknown_unit_gives_no_rate(tmp_path: Path) -> None:
    path = write_tiff(tmp_path / "frames.tif", 4, lambda i: [
        (270, b"ImageJ=1.54f\nimages=4\nframes=4\nfinterval=2\ntunit=frame\n")]
        if i == 0 else [], lines=3, pixels=3)
    r = one(path)
    assert "frameRate" not in r


def test_plain_stack_has_no_rate(tmp_path: Path) -> None:
    path = write_plain_stack(tmp_path / "p.tif", 9)
    r = one(path)
    with tifffile.TiffFile(path) as tif:
        assert r["nFrames"] == len(tif.pages)
    assert "frameRate" not in r and r["format"] == "TIFF"


def test_micromanager_summary_interval_and_pixel_size(tmp_path: Path) -> None:
    summary = {"Interval_ms": 50, "Frames": 4, "Slices": 1, "PixelSize_um": 0.65,
               "StartTime": "2019-03-15 10:42:35.386 -0700"}
    path = write_micromanager(tmp_path / "mm_MMStack_Pos0.tif", 4, summary)
    r = one(path)
    with tifffile.TiffFile(path) as tif:
        assert tif.is_micromanager
        mm = tif.micromanager_metadata["Summary"]
        assert r["nFrames"] == len(tif.pages)
    assert r["format"] == "Micro-Manager TIFF"
    assert r["frameRate"] == 1000 / mm["Interval_ms"]
    assert r["xVoxelSize"] == mm["PixelSize_um"]
    assert r["_start"] == "2019-03-15T10:42:35.386000-07:00"


def test_micromanager_z_stacks_over_time_have_no_plane_rate(tmp_path: Path) -> None:
    """Interval_ms is the time between time points; with Slices > 1 the pages are planes
    of Z stacks, whose rate the summary does not state. Before the fix: 1000 / 500 = 2
    planes/s for 12 planes taken at 2 stacks/s (3 planes each)."""
    summary = {"Interval_ms": 500, "Frames": 4, "Slices": 3, "PixelSize_um": 0.65}
    path = write_micromanager(tmp_path / "mmz_MMStack_Pos0.tif", 12, summary)
    r = one(path)
    assert r["nFrames"] == 4 * 3
    assert "frameRate" not in r
    assert any("time between stacks of 3 slices" in w for w in r["_warnings"])


# --- Bruker --------------------------------------------------------------------------


def test_bruker_values_from_the_xml_and_missing_tifs(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    xml = write_bruker(tmp_path / "s", frames=7, write_tifs=5, period=0.0335, pixels=64,
                       lines=48, um=0.8, wavelength=920)
    r = one(xml)
    root = ET.parse(xml).getroot()
    frames = root.findall("Sequence/Frame")
    period = float(root.find("PVStateShard/PVStateValue[@key='framePeriod']").get("value"))
    assert r["type"] == "TwoPhotonMicroscopy"
    assert r["nFrames"] == len(frames) == 7
    assert r["frameRate"] == pytest.approx(1 / period)
    assert (r["horizontalResolution"], r["verticalResolution"], r["xVoxelSize"]) == (64, 48, 0.8)
    assert r["excitationWavelength"] == 920
    assert "laserPower" not in r  # a Pockels setting
    assert any("2 of the 7 TIFF files" in w for w in r["_warnings"])
    assert r["_start"] == "2023-02-20T15:58:25"


def test_bruker_tifs_are_companions_of_the_xml(tmp_path: Path) -> None:
    xml = write_bruker(tmp_path, frames=3)
    write_plain_stack(tmp_path / "References" / "TSeries-001-Cycle00001-Ch2-Reference.tif", 1)
    xml.with_suffix(".env").write_text("<Environment />")
    found = discover(tmp_path)
    assert found.data == [xml]
    assert len([s for s, owner in found.sidecars.items() if owner == xml]) == 5


def test_bruker_multi_plane(tmp_path: Path) -> None:
    xml = write_bruker(tmp_path, "Z-001", frames=3, planes=4, z_step=1.25)
    r = one(xml)
    assert r["nFrames"] == 12
    assert r["zVoxelSize"] == 1.25
    assert "micronsPerPixel" not in str(r["_prov"]["zVoxelSize"].detail)


def test_bruker_rate_is_the_top_level_one_and_the_frames_own_is_said(tmp_path: Path) -> None:
    """frameRate is 1 / the top-level framePeriod, as PrairieView's readers report it (the
    corpus' truth: 30.3459 Hz); each <Frame>'s shard may state another period (the corpus'
    T-series: 0.033474224 s, its relativeTime steps), which a warning gives, checked here
    against the frames' relativeTime span read by a second parser."""
    import xml.etree.ElementTree as ET

    xml = write_bruker(tmp_path / "s", frames=6, period=0.032953338,
                       frame_period=0.033474224)
    r = one(xml)
    root = ET.parse(xml).getroot()
    top = root.find("PVStateShard/PVStateValue[@key='framePeriod']")
    assert top is not None
    assert r["frameRate"] == pytest.approx(1 / float(top.get("value", "")))
    times = [float(fr.get("relativeTime", "")) for fr in root.findall("Sequence/Frame")]
    frames_rate = (len(times) - 1) / (times[-1] - times[0])
    said = [w for w in r["_warnings"] if "frames' own state" in w]
    assert len(said) == 1 and f"{frames_rate:.6g} Hz" in said[0]
    same = one(write_bruker(tmp_path / "t", frames=6, period=0.032953338))
    assert not [w for w in same["_warnings"] if "framePeriod" in w]


def test_bruker_multi_plane_on_a_piezo_takes_the_device_that_moves(tmp_path: Path) -> None:
    xml = write_bruker(tmp_path, "Z-002", frames=2, planes=5, z_step=3.0, piezo=True)
    r = one(xml)
    assert r["zVoxelSize"] == 3.0 and r["nFrames"] == 10
    assert "z device 1" in r["_prov"]["zVoxelSize"].detail


def test_bruker_xml_with_entities_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "TSeries-x.xml"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE PVScan [<!ENTITY a "x">'
                    '<!ENTITY b "&a;&a;&a;&a;">]>\n<PVScan version="5">&b;</PVScan>\n')
    with pytest.raises(ExtractionError, match=r"^TSeries-x.xml: refused unsafe XML"):
        extractor_for(path).extract(path)


# --- ThorImage -----------------------------------------------------------------------


def test_thorimage_raw_counted_by_size(tmp_path: Path) -> None:
    xml = write_thorimage(tmp_path, raw_frames=12, timepoints=4, zsteps=3, pixels=20,
                          lines=10, channels=1)
    r = one(xml)
    raw = tmp_path / "Image_0001_0001.raw"
    assert r["nFrames"] == raw.stat().st_size // (20 * 10 * 2 * 1) == 12
    assert r["zVoxelSize"] == 15.0
    assert r["_start"] == datetime.datetime.fromtimestamp(
        1574331318, datetime.timezone(datetime.timedelta(hours=1))).isoformat()


def test_thorimage_raw_that_differs_from_the_xml_warns(tmp_path: Path) -> None:
    xml = write_thorimage(tmp_path, raw_frames=5, timepoints=4)
    r = one(xml)
    assert r["nFrames"] == 5
    assert any("Experiment.xml states 4" in w for w in r["_warnings"])


def test_thorimage_streaming_frames(tmp_path: Path) -> None:
    xml = write_thorimage(tmp_path, mode=1, stream_frames=321)
    assert one(xml)["nFrames"] == 321


def test_thorimage_streamed_tiff_counted_by_its_pages(tmp_path: Path) -> None:
    xml = write_thorimage(tmp_path, mode=1, stream_frames=40, channels=1)
    tif = write_plain_stack(tmp_path / "ChanA_001_001_001_001.tif", 25, (12, 16))
    r = one(xml)
    with tifffile.TiffFile(tif) as t:
        assert r["nFrames"] == len(t.pages) == 25
    assert any("Experiment.xml states 40" in w for w in r["_warnings"])


def test_thorimage_one_tiff_a_frame(tmp_path: Path) -> None:
    xml = write_thorimage(tmp_path, timepoints=2, zsteps=3, channels=2)
    for ch in "AB":
        for t in (1, 2):
            for z in (1, 2, 3):
                write_plain_stack(tmp_path / f"Chan{ch}_0001_0001_{z:04d}_{t:04d}.tif", 1)
    r = one(xml)
    assert r["nFrames"] == len(list(tmp_path.glob("ChanA_*.tif"))) == 6
    assert not r["_warnings"]


@pytest.mark.parametrize("average", [1, 4, 10])
def test_thorimage_averaging_keeps_the_scanner_rate_and_says_the_saved_one(
        tmp_path: Path, average: int) -> None:
    """frameRate is <LSM frameRate>, the scanner's rate, as ThorImage's readers report it
    (the corpus' truth for its averaged z-stack: 60.087); with averageMode 1 a warning
    gives the rate the frames were saved at, that rate / averageNum (arithmetic on the
    XML, read here by a second parser)."""
    import xml.etree.ElementTree as ET

    xml = write_thorimage(tmp_path, raw_frames=6, timepoints=6, channels=1, average=average)
    lsm = ET.parse(xml).getroot().find("LSM")
    assert lsm is not None
    scan_rate, n = float(lsm.get("frameRate", "")), int(lsm.get("averageNum", ""))
    r = one(xml)
    assert r["nFrames"] == 6
    assert r["frameRate"] == scan_rate
    said = [w for w in r["_warnings"] if "averaging" in w]
    if n == 1:
        assert not said
    else:
        assert len(said) == 1 and f"{n} scans a frame" in said[0]
        assert f"{scan_rate / n:g} Hz" in said[0]


def test_thorimage_raw_size_not_whole_frames_is_refused(tmp_path: Path) -> None:
    xml = write_thorimage(tmp_path, raw_frames=3, extra_bytes=7)
    with pytest.raises(ExtractionError, match=r"^Experiment.xml: Image_0001_0001.raw: .*7 "
                       "bytes left over"):
        extractor_for(xml).extract(xml)


# --- Scanbox -------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "scanmode"), [(2, 1), (1, 1), (3, 0)])
def test_scanbox_values_from_info_and_size(tmp_path: Path, code: int, scanmode: int) -> None:
    import scipy.io

    sbx = write_scanbox(tmp_path / "m_000_001.sbx", frames=7, lines=64, pixels=50,
                        channels_code=code, scanmode=scanmode, resfreq=7930.0)
    r = one(sbx)
    info = scipy.io.loadmat(str(sbx.with_suffix(".mat")), squeeze_me=True,
                            simplify_cells=True)["info"]
    n_chan = 2 if info["channels"] == 1 else 1
    lines, pixels = (int(v) for v in info["sz"])
    assert r["nFrames"] == os.path.getsize(sbx) // (lines * pixels * n_chan * 2) == 7
    assert (r["verticalResolution"], r["horizontalResolution"]) == (lines, pixels)
    factor = 2 if info["scanmode"] == 0 else 1
    assert r["frameRate"] == pytest.approx(info["resfreq"] * factor / info["config"]["lines"])


def test_scanbox_size_not_whole_frames_is_refused(tmp_path: Path) -> None:
    sbx = write_scanbox(tmp_path / "m.sbx", frames=4, extra_bytes=2)
    with pytest.raises(ExtractionError, match=r"^m.sbx: \d+ bytes is not a whole number") as e:
        extractor_for(sbx).extract(sbx)
    assert "\n" not in str(e.value)
    # info.channels 2 is one PMT: said in the singular.
    assert "uint16 frames of 1 channel (info.channels 2)" in str(e.value)


def test_scanbox_volumetric_warns_about_planes(tmp_path: Path) -> None:
    sbx = write_scanbox(tmp_path / "v.sbx", frames=6, otwave=[0, 10, 20])
    assert any("3 planes" in w for w in one(sbx)["_warnings"])


def test_scanbox_mat_is_its_sidecar(tmp_path: Path) -> None:
    sbx = write_scanbox(tmp_path / "m.sbx")
    found = discover(tmp_path)
    assert found.data == [sbx] and found.sidecars == {sbx.with_suffix(".mat"): sbx}


@pytest.mark.parametrize("compressed", [False, True])
def test_our_mat_reader_equals_scipys(tmp_path: Path, compressed: bool) -> None:
    import io

    scipy_io = pytest.importorskip("scipy.io")
    from extractors._matv5 import read_variable

    info = {"resfreq": 7930.0, "scanmode": np.int8(0), "channels": 2,
            "sz": np.array([512.0, 796.0]), "config": {"lines": 512, "name": "2p rig",
                                                       "list": np.array([1, 2, 4])},
            "grid": np.arange(6).reshape(2, 3), "flag": True, "big": np.int64(2**40),
            "cells": np.array(["a", "bb"], dtype=object)}
    buf = io.BytesIO()
    scipy_io.savemat(buf, {"other": 1.0, "info": info}, do_compression=compressed)
    ours = read_variable(buf.getvalue(), "info")
    theirs = scipy_io.loadmat(io.BytesIO(buf.getvalue()), squeeze_me=True,
                              simplify_cells=True)["info"]
    assert set(ours) == set(theirs)
    for key in ("resfreq", "scanmode", "channels", "sz", "grid", "flag", "big"):
        assert np.array_equal(ours[key], theirs[key]), key
    assert ours["config"]["name"] == theirs["config"]["name"]
    assert list(ours["cells"]) == list(theirs["cells"])


def test_our_mat_reader_refuses_a_zip_bomb_and_cut_files(tmp_path: Path) -> None:
    import io
    import zlib

    scipy_io = pytest.importorskip("scipy.io")
    from extractors._matv5 import INFLATE_LIMIT, MatError, read_variable

    buf = io.BytesIO()
    scipy_io.savemat(buf, {"info": {"resfreq": 1.0}})
    data = buf.getvalue()
    with pytest.raises(MatError, match="declares"):
        read_variable(data[:-20], "info")
    bomb = zlib.compress(b"\0" * (INFLATE_LIMIT + 1024), 9)
    header = data[:128]
    with pytest.raises(MatError, match="inflates past"):
        read_variable(header + struct.pack("<II", 15, len(bomb)) + bomb, "info")


def test_a_scanbox_mat_that_is_not_a_mat_is_one_line(tmp_path: Path) -> None:
    sbx = write_scanbox(tmp_path / "m.sbx")
    sbx.with_suffix(".mat").write_bytes(b"MATLAB 5.0 MAT-file" + b"\0" * 200)
    with pytest.raises(ExtractionError, match=r"^m.sbx: m.mat: no MATLAB v5 endian"):
        extractor_for(sbx).extract(sbx)


# --- Suite2p -------------------------------------------------------------------------


def test_suite2p_plane_values_equal_numpys_reading(tmp_path: Path) -> None:
    [ops_path] = write_suite2p(tmp_path, fs=15.5, nframes=1234, ly=96, lx=80)
    r = one(ops_path)
    ops = np.load(ops_path, allow_pickle=True).item()
    assert r["type"] == "TwoPhotonMicroscopy"
    assert (r["frameRate"], r["nFrames"]) == (ops["fs"], ops["nframes"])
    assert (r["horizontalResolution"], r["verticalResolution"]) == (ops["Lx"], ops["Ly"])
    assert any("processed output" in w for w in r["_warnings"])


def test_suite2p_combined_is_not_a_record_and_plane_files_are_sidecars(tmp_path: Path) -> None:
    planes = write_suite2p(tmp_path, planes=2)
    found = discover(tmp_path)
    assert [p for p in found.data] == planes
    assert found.sidecars[planes[0].parent / "F.npy"] == planes[0]
    assert tmp_path / "suite2p" / "combined" / "ops.npy" in found.skipped


def test_suite2p_pickle_naming_code_is_refused_not_run(tmp_path: Path) -> None:
    from tests.samples import suite2p

    marker = tmp_path / "ran"
    [evil, _] = suite2p.bad(tmp_path)
    with pytest.raises(ExtractionError, match=r"^ops.npy: refused: the pickle names"):
        extractor_for(evil).extract(evil)
    assert not marker.exists()


def test_scanimage_2015_settings_in_the_description(tmp_path: Path) -> None:
    """ScanImage 5.x (2015) wrote ``scanimage.SI.`` settings after the frame data in each
    page's ImageDescription, and no Software tag."""
    settings = si_software(rate=15.2, lines=10, pixels=12, channels=(2,)).replace(
        "SI.", "scanimage.SI.")
    path = write_tiff(tmp_path / "si5.tif", 6,
                      lambda i: [(270, (si_frame(i + 1) + settings).encode())],
                      lines=10, pixels=12)
    r = one(path)
    with tifffile.TiffFile(path, is_scanimage=False) as tif:
        pages = len(tif.pages)
        description = tif.pages[0].description
    assert "scanimage.SI.hRoiManager.scanFrameRate = 15.2" in description
    assert (r["nFrames"], r["frameRate"]) == (pages, 15.2)
    assert (r["horizontalResolution"], r["verticalResolution"]) == (12, 10)


@pytest.mark.parametrize("cut", [0, 3])
def test_imagej_stack_past_4gib_layout_is_counted_from_images_and_size(
        tmp_path: Path, cut: int) -> None:
    """ImageJ writes stacks past 4 GiB as one IFD and the images back to back; the count
    is ``images=`` checked against the bytes on disk."""
    images, lines, pixels = 10, 6, 8
    path = write_tiff(tmp_path / "big_ij.tif", 1, lambda i: [
        (270, f"ImageJ=1.54f\nimages={images}\nframes={images}\nfinterval=0.5\n".encode())],
        lines=lines, pixels=pixels)
    with open(path, "ab") as fh:
        fh.write(b"\0" * (images - 1 - cut) * lines * pixels * 2)
    r = one(path)
    with tifffile.TiffFile(path) as tif:
        first = tif.pages[0].dataoffsets[0]
    on_disk = (path.stat().st_size - first) // (lines * pixels * 2)
    assert r["nFrames"] == on_disk == images - cut
    assert r["frameRate"] == 2.0
    assert bool(cut) == any("truncated" in w for w in r["_warnings"])
