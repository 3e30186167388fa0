"""Every WAV of the corpus gives the values truth.json implies.

Where the readers in truth.json disagree (its ``ambiguities``), the value that describes
the file on disk is expected, which is libsndfile's in every case here:

- 20-bit samples in 3-byte blocks and 12-bit samples in 2-byte words: soxi counts the
  data as packed 20/12-bit samples (12 instead of 10, 12 instead of 9); every frame
  occupies nBlockAlign bytes, so the frame counts are 10 and 9, and the type names the
  container (int24, int16), with the valid bits in the provenance;
- early-eof: the header promises 4410 frames, 236 are on disk (soxi says 4410): 236,
  with a truncation warning;
- '-inconsistent': nBlockAlign 4 cannot hold 3 x 24-bit samples; frames are 9 bytes: 5,
  with a warning;
- Stereo_24bit_PCM.wav says 32-bit in its fmt chunk: int32, whatever the name says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bsingest.extraction import extract
from tests.corpus.conftest import CORPUS

SUBTYPE_TYPE = {"PCM_U8": "uint8", "PCM_16": "int16", "PCM_24": "int24", "PCM_32": "int32",
                "FLOAT": "float32", "DOUBLE": "float64", "ULAW": "mulaw", "ALAW": "alaw"}
MAGIC_FORMAT = {"RIFF": "WAV", "RIFX": "WAV", "RF64": "RF64"}
WARNED = {"test-44100Hz-le-1ch-4bytes-early-eof.wav": ("truncated", "4410", "236"),
          "test-8000Hz-le-3ch-5S-24bit-inconsistent.wav": ("nBlockAlign 4",)}
NARROW = {"test-1234Hz-le-1ch-10S-20bit-extra.wav": "20 valid bits",
          "test-8000Hz-le-4ch-9S-12bit.wav": "12 valid bits"}


def _wav_keys() -> list[str]:
    # Parametrised at collection time, before the fixtures exist; empty without a corpus.
    truth_file = CORPUS / "truth.json"
    if not truth_file.is_file():
        return []
    return sorted(k for k in json.loads(truth_file.read_text()) if k.startswith("wav/"))


def test_every_wav_file_of_the_corpus_is_in_truth(corpus: Path, truth: dict[str, Any]) -> None:
    on_disk = {str(p.relative_to(corpus)) for p in (corpus / "wav").rglob("*") if p.is_file()}
    assert on_disk == {k for k in truth if k.startswith("wav/")}


@pytest.mark.parametrize("key", _wav_keys())
def test_wav_values_match_truth(key: str, corpus: Path, truth: dict[str, Any]) -> None:
    values = truth[key]["values"]
    sf_says, fmt = values["soundfile"], values["fmt_chunk"]
    (r,) = extract(corpus / key)
    tj = r.type_json
    assert r.type == "Audio"
    assert tj["fileName"] == Path(key).name
    assert tj["format"] == MAGIC_FORMAT[values["container_magic"]]
    assert tj["nChannels"] == sf_says["channels"] == fmt["nChannels"]
    assert tj["sr"] == sf_says["samplerate"] == fmt["nSamplesPerSec"]
    assert tj["nSamples"] == sf_says["frames"]
    assert tj["type"] == SUBTYPE_TYPE[sf_says["subtype"]]
    name = Path(key).name
    if name in WARNED:
        assert any(all(w in msg for w in WARNED[name]) for msg in r.warnings), r.warnings
    else:
        assert r.warnings == ()
    if name in NARROW:
        assert NARROW[name] in r.provenance["type"].detail
