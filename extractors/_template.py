"""Template for a new file family: copy to ``extractors/<family>.py`` and fill in.

Say in this docstring which reader you chose (an established library, or a small
header parser of our own) and why, and the cost you measured: extraction must cost
the same for a 1 GB and a 1 TB file, so read headers and ``os.stat`` sizes, never
the sample data. See ``docs/adding-a-format.md`` for the whole recipe.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .base import Claim, Extraction, Extractor, Fields


class TemplateExtractor(Extractor):
    """One line on what this family reads."""

    name = "template"  # shown in output and provenance; the samples module uses it
    suffixes = (".xyz",)  # lower-case, with the dot
    record_types = ("GeneralTimeSeries",)  # current names (bsingest/recordtypes.py)
    # Every ending a name claim() accepts may have: other files are never asked.
    claim_endings = suffixes

    @classmethod
    def claim(cls, path: Path) -> Claim:
        # SPECIFIC when magic bytes or a sidecar prove the family; SUFFIX when only the
        # suffix fits (a generic reader); NO otherwise. Keep it cheap: a few bytes.
        if path.suffix.lower() not in cls.suffixes:
            return Claim.NO
        with open(path, "rb") as fh:
            return Claim.SPECIFIC if fh.read(4) == b"XYZ1" else Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        # Files this one's description reads; a folder listing shows them as sidecars.
        return []

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        # Heavy libraries are imported here, never at module level.
        f = Fields()
        with open(path, "rb") as fh:
            header = fh.read(16)
        if len(header) < 16:
            # Every refusal names the file (ExtractionError does) and says why, in one line.
            raise ExtractionError(path, f"{len(header)} bytes is too short for an XYZ header")
        f.header("format", "XYZ", "magic bytes 'XYZ1'")
        f.header("nChannels", int.from_bytes(header[4:8], "little"), "header bytes 4-8")
        # ... every value through f.header / f.computed / f.stated / f.default, and
        # f.warn("...") for anything the user should know (damage, assumptions).
        return [self.result(path, "GeneralTimeSeries", f)]
