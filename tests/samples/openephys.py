"""Open Ephys binary samples: GUI 0.6 multi-stream, GUI 0.4 mixed neural + ADC stream."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures_intan_oe import OebStream, write_oebin_recording

EXTRACTOR = "openephys"


def good(tmp: Path) -> list[Path]:
    rec = tmp / "Record Node 101" / "experiment1" / "recording1"
    probe, daq = write_oebin_recording(rec, [
        OebStream("Neuropix-PXI-100.ProbeA", n_neural=8, stream_name="ProbeA"),
        OebStream("NI-DAQmx-103.PXIe-6341", n_neural=0, n_adc=2, stream_name="PXIe-6341"),
    ], n_samples=50)
    (mixed,) = write_oebin_recording(tmp / "old" / "experiment1" / "recording1",
                                     [OebStream(n_neural=4, n_adc=2)], n_samples=30, gui="0.4.5")
    return [probe, daq, mixed]


def bad(tmp: Path) -> list[Path]:
    (odd,) = write_oebin_recording(tmp / "odd" / "experiment1" / "recording1",
                                   [OebStream(n_neural=4)], n_samples=10, extra_bytes=3)
    (wrong,) = write_oebin_recording(tmp / "wrong" / "experiment1" / "recording1",
                                     [OebStream(n_neural=4)], n_samples=10,
                                     declared={"Rhythm_FPGA-100.0": 3})
    (broken,) = write_oebin_recording(tmp / "broken" / "experiment1" / "recording1",
                                      [OebStream(n_neural=4)], n_samples=10)
    (broken.parents[2] / "structure.oebin").write_text('{"continuous": [')
    (absent,) = write_oebin_recording(tmp / "absent" / "experiment1" / "recording1",
                                      [OebStream(n_neural=4)], n_samples=10)
    oebin = absent.parents[2] / "structure.oebin"
    doc = json.loads(oebin.read_text())
    doc["continuous"][0]["folder_name"] = "Other-101.0/"
    oebin.write_text(json.dumps(doc))
    return [odd, wrong, broken, absent]
