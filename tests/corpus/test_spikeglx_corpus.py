"""SpikeGLX recordings of the corpus: ``bsingest extract --json`` gives what truth.json implies.

Truth per ``.meta`` (a plain key=value parse and the ``.bin`` size) and per folder (neo).
The stubs' ``fileSizeBytes`` describe the original recordings (truth.json's ambiguity):
nSamples is what the ``.bin`` on disk holds, and the provenance says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli

pytestmark = pytest.mark.corpus


def _cli_json(*paths: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["extract", "--json", *map(str, paths)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _meta_keys(truth: dict[str, Any]) -> list[str]:
    return sorted(k for k, v in truth.items()
                  if k.startswith("spikeglx/") and v.get("format") == "spikeglx-meta")


def test_every_spikeglx_meta_matches_truth(corpus: Path, truth: dict[str, Any]) -> None:
    keys = _meta_keys(truth)
    assert keys
    for key in keys:
        values = truth[key]["values"]
        meta = corpus / key
        bin_present = "bin_size_actual" in values
        target = meta.with_suffix(".bin") if bin_present else meta
        [entry] = _cli_json(target)
        tj, prov = entry["type_json"], entry["provenance"]
        assert tj["fileName"] == meta.with_suffix(".bin").name, key
        assert tj["nChannels"] == values["nSavedChans"], key
        assert tj["sr"] == pytest.approx(values["sampleRate"]), key
        assert tj["type"] == values["dtype"], key
        assert entry["type"] == ("GeneralTimeSeries" if values["typeThis"] == "nidq"
                                 else "ExtracellularEphys"), key
        if bin_present:
            assert tj["nSamples"] == values["nSamples_from_bin_size"], key
            if not values["bin_matches_meta_fileSizeBytes"]:
                # The ambiguity: the chosen value (disk) and the reason are in the provenance.
                assert str(values["fileSizeBytes_meta"]) in prov["nSamples"]["detail"], key
                assert "on disk" in prov["nSamples"]["detail"], key
                assert any(str(values["fileSizeBytes_meta"]) in w for w in entry["warnings"]), key
        else:
            assert tj["nSamples"] == values["nSamples_from_meta"], key
            assert any("no .bin beside it" in w for w in entry["warnings"]), key
        created = [x.partition("=")[2] for x in meta.read_text().splitlines()
                   if x.startswith("fileCreateTime=")]
        assert entry.get("start_time") == (created[0] if created else None), key
        if bin_present:  # the .meta given as the path describes the pair: the same record
            [pair] = _cli_json(meta)
            assert pair["type_json"] == tj, key
        if values["typeThis"] == "imec":
            ap, lf, sy = (int(x) for x in values["snsApLfSy"].split(","))
            tags = {t["tag"]: t["channels"] for t in tj.get("channelTags", [])}
            assert tags.get("sync", []) == list(range(ap + lf, ap + lf + sy)), key


FOLDERS = ["DigitalChannelTest_g0", "NP2_no_sync", "NP2_with_sync", "Noise4Sam_g0",
           "TEST_20210920_0_g0", "multi_probe_multi_dock_multi_shank_filename_without_info",
           "np_ultra_stub"]


@pytest.mark.parametrize("folder", FOLDERS)
def test_folder_matches_neo(folder: str, corpus: Path, truth: dict[str, Any]) -> None:
    """Channel counts, rates, sizes and µV/bit as neo reports them, sync counted back in."""
    streams = truth[f"spikeglx/{folder}"]["values"]["streams"]
    entries = _cli_json(corpus / "spikeglx" / folder)
    assert all("error" not in e for e in entries)
    by_stream: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        name = Path(e["path"]).name
        # neo names streams imec<N>.ap / nidq; the multi-probe files are npx.imec.ap.bin
        # in probe_<N+1> folders (neo reads imec<N> from the meta's fileName).
        kind = "nidq" if ".nidq." in name else name.split(".")[-2]
        by_stream.setdefault(kind, []).append(e)
    syncs = {s["stream_name"][: -len("-SYNC")] for s in streams
             if s["stream_name"].endswith("-SYNC")}
    for s in streams:
        if s["stream_name"].endswith("-SYNC"):
            continue
        kind = s["stream_name"].split(".")[-1] if "." in s["stream_name"] else "nidq"
        candidates = by_stream[kind]
        extra = 1 if s["stream_name"] in syncs else 0
        matching = [e for e in candidates
                    if e["type_json"]["nChannels"] == s["n_channels"] + extra
                    and e["type_json"]["nSamples"] == s["segments"][0]["n_samples"]
                    and e["type_json"]["sr"] == pytest.approx(s["sampling_rate"][0])]
        assert matching, (folder, s["stream_name"])
        # neo's first gain is channel 0's, always a neural or analog channel. NP2_no_sync
        # has a second (truth.json's ambiguity: neo gives its last channel gain 1 though
        # snsApLfSy 384,0,0 saved no sync); every channel we describe is at the first.
        tj = matching[0]["type_json"]
        meta = Path(matching[0]["path"]).with_suffix(".meta").relative_to(corpus).as_posix()
        mn, ma, xa, _ = (int(c) for c in
                         (truth[meta]["values"]["snsMnMaXaDw"] or "1,0,0,0").split(","))
        if kind == "nidq" and mn + ma + xa == 0:
            # Digital words only: neo still gives them its analog gain; they have no step.
            assert "lsb" not in tj, (folder, s["stream_name"])
            assert any("digital" in w for w in matching[0]["warnings"])
        else:
            scale = 1.0 if s["units"][0] == "uV" else 1e6
            assert tj["lsb"] == pytest.approx(s["gain"][0] * scale), (folder, s["stream_name"])
