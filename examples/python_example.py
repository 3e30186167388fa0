"""bsingest from Python: describe a session, then ingest it into the local demo server.

    .venv/bin/python examples/python_example.py

Runs offline: with no server configured, ``bsingest.ingest`` starts the local
BrainSTEM-compatible server for the call. Pass ``server="https://www.brainstem.org"``
(and your own IDs) to upload for real.
"""

from __future__ import annotations

from pathlib import Path

import bsingest

SESSION = Path(__file__).parent / "session"

report = bsingest.extract_folder(SESSION)
for x in report.extractions:
    tj = x.type_json
    print(f"{tj['fileName']:<16} {x.type:<20} {x.provenance['fileName'].source.value}")
    for key in ("nChannels", "sr", "nSamples", "nFrames", "frameRate"):
        if key in tj:
            print(f"    {key:<10} {tj[key]!r:<14} ({x.provenance[key].detail})")

# IDs come from examples/session/bsingest.toml; any given here win.
result = bsingest.ingest(SESSION)
for f in result.results:
    print(f"{f.path:<16} {f.outcome:<10} {f.server_id or f.error}")
print("exit code for a script:", result.exit_code)
