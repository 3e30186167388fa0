"""The local server's list cost as a store grows (issue 13): a look must not grow with it.

A client's recovery looks at what a session holds under a few keys
(``filter{session}=...&filter{details.fileName}=...``) and reads a session page by page.
Both are measured over real HTTP against stores of 1,000 and 10,000 records per
generation (half of them in the session looked at), median of 20 calls; the figure that
matters is the ratio 10,000 / 1,000. The records are written straight into the store
(as the server would store them) so that filling it does not dominate the run.

    python -m benchmarks.bench_server
"""

from __future__ import annotations

import json
import uuid
from functools import partial
from typing import Any

import httpx

from benchmarks._timing import median_call
from bsingest.server import LocalServer

SIZES = (1_000, 10_000)


def _fill(srv: LocalServer, n: int) -> None:
    """``n`` records per generation, every second one in the main session/dataset."""
    dataset, other = srv.seed.datasets["rat01-2024-03-01"], srv.seed.datasets["docs-example"]
    session, other_session = srv.seed.session, srv.seed.sessions["docs-example"]
    app = srv.app
    with app._lock:
        db = app._db
        db.execute("BEGIN")
        for i in range(n):
            name = f"probe_{i % 7}/rec{i}.dat"
            ed: dict[str, Any] = {
                  "id": str(uuid.uuid4()), "description": None, "hardware_device": None,
                  "actions": [], "dataset": dataset if i % 2 else other, "type": "Extracellular",
                  "type_json": {"fileName": name, "format": "DAT", "type": "int16",
                                "nChannels": 4, "sr": 20000, "nSamples": 100}}
            da: dict[str, Any] = {
                  "id": str(uuid.uuid4()), "type": "ExtracellularEphys", "notes": None,
                  "session": session if i % 2 else other_session, "procedures": [],
                  "equipment": [], "type_schema_version": "1.1.0",
                  "details": {"fileName": name, "sr": {"value": 20000, "unit": "Hz"}},
                  "image": None, "order": None}
            db.execute("INSERT INTO experiment_data (id, dataset, body) VALUES (?, ?, ?)",
                       (ed["id"], ed["dataset"], json.dumps(ed)))
            db.execute("INSERT INTO data_acquisition (id, session, body) VALUES (?, ?, ?)",
                       (da["id"], da["session"], json.dumps(da)))
        db.execute("COMMIT")


def _measure(n: int) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    with LocalServer() as srv, httpx.Client(base_url=srv.url, timeout=60) as http:
        _fill(srv, n)
        gens = (("2023", "/rest/private/modules/experimentdata/", f"Token {srv.token}",
                 "dataset", srv.seed.datasets["rat01-2024-03-01"], "type_json"),
                ("2026", "/api/private/modules/dataacquisition/", f"Bearer {srv.pat}",
                 "session", srv.seed.session, "details"))
        for gen, path, auth, column, where, blob in gens:
            headers = {"Authorization": auth}
            look = {f"filter{{{column}}}": where, f"filter{{{blob}.fileName}}": "probe_3/rec3.dat"}
            page = {f"filter{{{column}}}": where, "limit": 100, "offset": n // 4}

            out[(gen, "look")] = median_call(partial(_get, http, path, look, headers), 20)[0]
            out[(gen, "page")] = median_call(partial(_get, http, path, page, headers), 20)[0]
    return out


def _get(http: httpx.Client, path: str, params: dict[str, Any],
         headers: dict[str, str]) -> httpx.Response:
    resp = http.get(path, params=params, headers=headers)
    resp.raise_for_status()
    return resp


def main() -> None:
    results = {n: _measure(n) for n in SIZES}
    print("| generation | call | 1,000 records | 10,000 records | 10,000 / 1,000 |")
    print("|---|---|---|---|---|")
    for gen in ("2023", "2026"):
        for call, what in (("look", "narrow look (session + fileName)"),
                           ("page", "one page of 100 (session)")):
            small, large = results[SIZES[0]][(gen, call)], results[SIZES[1]][(gen, call)]
            print(f"| {gen} | {what} | {small * 1000:.1f} ms | {large * 1000:.1f} ms | "
                  f"{large / small:.2f} |")


if __name__ == "__main__":
    main()
