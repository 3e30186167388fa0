"""The rules every extractor family obeys, run over every family's samples.

Like neo's ``rawio_compliance``: the rules live here once; a family only provides
sample files (``tests/samples/<family>.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import extractors
from bsingest.cli.main import cli
from bsingest.errors import ExtractionError
from bsingest.extraction import extract
from bsingest.records import check_type_json
from bsingest.recordtypes import RECORD_TYPES
from extractors.base import Source
from tests.samples import sample_modules

SAMPLES = sample_modules()
NAMES = sorted(cls.name for cls in extractors.EXTRACTORS)


def test_every_extractor_has_samples() -> None:
    assert sorted(SAMPLES) == NAMES


def test_extractor_names_are_unique_and_declared() -> None:
    assert len(NAMES) == len(set(NAMES))
    for cls in extractors.EXTRACTORS:
        assert cls.name and cls.suffixes and cls.record_types, cls


@pytest.mark.parametrize("name", NAMES)
def test_good_samples_give_valid_records_with_provenance(name: str, tmp_path: Path) -> None:
    files = SAMPLES[name].good(tmp_path)
    assert files, f"{name} has no good samples"
    for path in files:
        results = extract(path)
        assert results
        for r in results:
            assert r.extractor == name
            assert r.type in RECORD_TYPES  # the current name; the 2023 one only at the wire
            assert check_type_json(r.type, r.type_json) == []
            part = f"#{r.part}" if r.part else ""
            assert (r.path, r.type_json["fileName"]) == _described(name, path, part)
            assert set(r.provenance) - {"startTime"} == set(r.type_json)
            assert (r.start_time is None) == ("startTime" not in r.provenance)
            assert all(isinstance(p.source, Source) and p.detail for p in r.provenance.values())
            json.dumps(r.to_json())  # plain JSON all the way down


@pytest.mark.parametrize("name", NAMES)
def test_bad_samples_are_refused_in_one_line_naming_the_file(name: str, tmp_path: Path) -> None:
    files = SAMPLES[name].bad(tmp_path)
    assert files, f"{name} has no bad samples"
    for path in files:
        with pytest.raises(ExtractionError) as info:
            extract(path)
        message = str(info.value)
        assert message.startswith(f"{path.name}: "), message
        assert "\n" not in message


@pytest.mark.parametrize("name", NAMES)
def test_cli_reports_bad_files_without_traceback_and_goes_on(name: str, tmp_path: Path) -> None:
    good = SAMPLES[name].good(tmp_path / "good")
    bad = SAMPLES[name].bad(tmp_path / "bad")
    result = CliRunner().invoke(cli, ["extract", "--json", *map(str, bad + good)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    entries = json.loads(result.stdout)
    errors = {e["path"]: e["error"] for e in entries if "error" in e}
    assert set(errors) == {str(p) for p in bad}
    for path in bad:
        assert errors[str(path)].startswith(f"{path.name}: ")
    assert {e["path"] for e in entries if "type_json" in e} == {
        _described(name, p, "")[0] for p in good}


def _described(name: str, path: Path, part: str) -> tuple[str, str]:
    """(record path, fileName) a family gives a sample file: the file and its name, unless
    its samples module says otherwise (``described``: a Miniscope device's metaData.json
    describes the device folder, named by the folder)."""
    hook = getattr(SAMPLES[name], "described", None)
    where, bare = hook(path) if hook is not None else (str(path), path.name)
    return where, bare + part


def test_unknown_suffix_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.xyz"
    path.write_text("hello")
    with pytest.raises(ExtractionError, match=r"^notes\.xyz: no extractor reads"):
        extract(path)
