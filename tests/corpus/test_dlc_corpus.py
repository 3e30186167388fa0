"""Every DeepLabCut file in the corpus: its rows (pandas, in truth.json) are nFrames; a
paired video gives the frame rate the DeepLabCut metadata recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bsingest.extraction import extract, extract_folder

H5 = ["dlc/labeled_data/CollectedData_Pranav.h5",
      "dlc/multi_subject_h5/log07-20-2023(1-XFN1-XFN3).1DLC_resnet50_SocialWSep18shuffle5_"
      "100000_el_stubbed.h5",
      "dlc/open_field_with_video/m3v1mp4DLC_resnet50_openfieldOct30shuffle1_1000.h5"]
META = "dlc/open_field_with_video/m3v1mp4DLC_resnet50_openfieldOct30shuffle1_1000_meta.pickle"


@pytest.mark.parametrize("key", H5)
def test_dlc_rows_match_truth(key: str, corpus: Path, truth: dict[str, Any]) -> None:
    (r,) = extract(corpus / key)
    assert r.type == "BehavioralTracking"
    assert r.type_json["nFrames"] == truth[key]["values"]["n_rows"]
    assert r.type_json["format"] == "DeepLabCut HDF5"


def test_paired_video_gives_the_rate_deeplabcut_recorded(corpus: Path,
                                                         truth: dict[str, Any]) -> None:
    meta = truth[META]["values"]  # read by the truth builder; bsingest never unpickles
    (r,) = extract(corpus / H5[2])
    assert r.type_json["frameRate"] == pytest.approx(meta["fps"], rel=1e-9)
    assert r.type_json["nFrames"] == meta["nframes"]
    assert [r.type_json["verticalResolution"], r.type_json["horizontalResolution"]] == \
        meta["frame_dimensions"]
    assert r.warnings == ()


def test_dlc_folder_lists_the_pickle_as_a_sidecar(corpus: Path) -> None:
    report = extract_folder(corpus / "dlc")
    assert report.errors == {}
    assert str(corpus / META) in report.sidecars
    assert len(report.extractions) == 4  # three pose files and the video
