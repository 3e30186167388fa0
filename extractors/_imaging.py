"""Helpers shared by the imaging families: safe XML, numbers from text, and the
record types a lab would choose by default.

XML sidecars (Bruker PrairieView, ThorImage ``Experiment.xml``, OME-XML) are parsed
with defusedxml: entity declarations and external references are refused, so a
"billion laughs" file costs nothing and no file outside the session is ever read.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bsingest.errors import SidecarError

from .base import special_file

__all__ = ["TWO_PHOTON", "WIDEFIELD", "finite_number", "iter_xml", "parse_xml"]

#: Laser-scanning two-photon systems (ScanImage, PrairieView, ThorImage, Scanbox), and
#: Suite2p output, which is computed from such recordings.
TWO_PHOTON = "TwoPhotonMicroscopy"
#: Camera stacks without a two-photon system's metadata (plain multi-page TIFF, OME-TIFF,
#: Micro-Manager): widefield one-photon imaging is what cameras record. A lab that saves
#: confocal or light-sheet stacks states its type with the type map.
WIDEFIELD = "SinglePhotonMicroscopy"

#: XML elements nested deeper than this are not an acquisition system's settings file.
MAX_XML_DEPTH = 64


def finite_number(text: Any) -> float | None:
    """``text`` as a finite float, or None (empty, not a number, NaN or infinite)."""
    if text is None or isinstance(text, bool):
        return None
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def iter_xml(data_path: Path, xml_path: Path, limit: int) -> Iterator[tuple[str, Any, int]]:
    """Stream ``(event, element, depth)`` of ``xml_path`` safely ("start" and "end").

    Refusals are :class:`SidecarError` naming ``data_path`` first and the XML after it
    when they differ: a file larger than ``limit`` bytes, entities or external
    references, malformed XML, elements nested deeper than :data:`MAX_XML_DEPTH`.
    The caller clears elements it is done with, so memory stays flat.
    """
    from xml.etree.ElementTree import ParseError

    import defusedxml
    import defusedxml.ElementTree as SafeET

    where = "" if xml_path == data_path else f"{xml_path.name}: "
    kind = special_file(xml_path)
    if kind:
        raise SidecarError(data_path, f"{where}{kind}, not a file: not read")
    depth = 0
    try:
        size = os.stat(xml_path).st_size
        if size > limit:
            raise SidecarError(data_path, f"{where}{size} bytes is larger than the "
                               f"{limit // 2**20} MiB an acquisition XML can be")
        for event, el in SafeET.iterparse(str(xml_path), events=("start", "end"),
                                          forbid_dtd=False, forbid_entities=True,
                                          forbid_external=True):
            if event == "start":
                depth += 1
                if depth > MAX_XML_DEPTH:
                    raise SidecarError(data_path, f"{where}elements nested more than "
                                       f"{MAX_XML_DEPTH} deep: not an acquisition XML")
                yield event, el, depth
            else:
                yield event, el, depth
                depth -= 1
    except defusedxml.DefusedXmlException as exc:
        raise SidecarError(data_path, f"{where}refused unsafe XML ({type(exc).__name__}: "
                           "entity declarations and external references are not "
                           "allowed)") from exc
    except ParseError as exc:
        raise SidecarError(data_path, f"{where}malformed XML: {exc}") from exc
    except LookupError as exc:  # expat: an encoding declaration Python does not know
        raise SidecarError(data_path, f"{where}malformed XML: {_one_line(exc)}") from exc
    except OSError as exc:
        raise SidecarError(data_path, f"{where}cannot read: {exc.strerror or exc}") from exc


def parse_xml(data_path: Path, text: str, what: str) -> Any:
    """Parse a small XML string (OME-XML from a TIFF tag) safely; returns the root."""
    from xml.etree.ElementTree import ParseError

    import defusedxml
    import defusedxml.ElementTree as SafeET

    try:
        return SafeET.fromstring(text, forbid_dtd=False, forbid_entities=True,
                                 forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise SidecarError(data_path, f"{what}: refused unsafe XML ({type(exc).__name__})"
                           ) from exc
    except (ParseError, LookupError) as exc:
        raise SidecarError(data_path, f"{what}: malformed XML: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
