"""Every video in the corpus gives the values truth.json implies: ffprobe's stream values,
and for ``nFrames`` the number of frames it decoded (``nb_read_frames``, ``-count_frames``)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from bsingest.extraction import extract

CODECS = {"h264": "H.264", "mpeg4": "MPEG-4", "mjpeg": "MJPEG", "hevc": "HEVC"}
FORMATS = {"avi": "AVI"}


def _video_keys() -> list[str]:
    import json

    from tests.corpus.conftest import CORPUS

    truth_file = CORPUS / "truth.json"
    if not truth_file.is_file():
        return []
    truth = json.loads(truth_file.read_text())
    return sorted(k for k, v in truth.items()
                  if isinstance(v, dict) and v.get("format") == "video")


@pytest.mark.parametrize("key", _video_keys() or ["(no corpus)"])
def test_video_values_match_truth(key: str, corpus: Path, truth: dict[str, Any]) -> None:
    values = truth[key]["values"]
    (stream,) = [s for s in values["streams"] if s["codec_type"] == "video"]
    (r,) = extract(corpus / key)
    tj = r.type_json
    assert tj["nFrames"] == int(stream["nb_read_frames"])
    assert tj["horizontalResolution"] == stream["width"]
    assert tj["verticalResolution"] == stream["height"]
    assert tj["frameRate"] == pytest.approx(float(Fraction(stream["avg_frame_rate"])), rel=1e-9)
    assert tj["compression"] == CODECS[stream["codec_name"]]
    container = values["format"]["format_name"]
    assert tj["format"] == FORMATS.get(container, "MP4" if "mp4" in container else container)
    assert r.warnings == ()
