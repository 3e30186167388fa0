"""WinWCP files of the corpus: ``bsingest extract --json`` gives what truth.json (neo) implies.

Rate: ours is 1 / the header's DT as written (6.005E-5 s); neo's is 1 / the float32 copy
of it in each record: they agree to float32 precision (about 2e-8 relative).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli

pytestmark = pytest.mark.corpus


def test_every_wcp_matches_truth(corpus: Path, truth: dict[str, Any]) -> None:
    keys = sorted(k for k in truth if k.startswith("winwcp/"))
    assert keys
    result = CliRunner().invoke(cli, ["extract", "--json", *(str(corpus / k) for k in keys)])
    assert result.exit_code == 0, result.output
    got = {Path(e["path"]).name: e for e in json.loads(result.stdout)}
    for key in keys:
        [stream] = truth[key]["values"]["streams"]
        entry = got[Path(key).name]
        tj = entry["type_json"]
        assert entry["type"] == "IntracellularEphys"
        assert tj["nChannels"] == stream["n_channels"]
        assert tj["sr"] == pytest.approx(stream["sampling_rate"][0], rel=1e-7)
        assert "DT" in entry["provenance"]["sr"]["detail"]
        assert tj["nSamples"] == sum(s["n_samples"] for s in stream["segments"])
        assert tj["type"] == stream["dtype"][0]
        units = {u.lower() for u in stream["units"]}
        if units <= {"mv"} and len(set(stream["gain"])) == 1:
            assert tj["lsb"] == pytest.approx(stream["gain"][0] * 1000)
        else:
            assert "lsb" not in tj
