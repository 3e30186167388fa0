"""SpikeGLX samples: ``.bin`` files with the ``.meta`` SpikeGLX writes, generated here.

``write_spikeglx`` writes a meta in SpikeGLX's own layout (key=value lines, ``~`` before
the table keys) so that neo's reader, the second reader in ``tests/test_spikeglx.py``,
accepts it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

EXTRACTOR = "spikeglx"


def write_spikeglx(path: Path, *, n_samples: int, probe: str = "np1", kind: str = "ap",
                   n_neural: int = 8, sync: bool = True, ap_gains: Sequence[int] | None = None,
                   lf_gain: int = 250, rate: float | None = None, n_shanks: int = 1,
                   meta_size: int | None = None, write_bin: bool = True,
                   extra_bytes: int = 0, nidq_counts: tuple[int, int, int, int] = (0, 0, 2, 1),
                   ni_range: float = 5.0) -> Path:
    """``<path>`` (a ``.bin``) and its ``.meta``; returns the ``.bin`` path.

    probe: ``np1`` (gains in imroTbl), ``np2`` (type 24, fixed gain 80), ``np2013``
    (imChan0apGain 100) or ``nidq``. ``meta_size`` overrides fileSizeBytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    meta: dict[str, str] = {}
    if probe == "nidq":
        n_channels = sum(nidq_counts)
        meta.update({
            "typeThis": "nidq", "niSampRate": f"{rate or 25000}", "niAiRangeMax": f"{ni_range}",
            "niAiRangeMin": f"{-ni_range}", "niMNGain": "200", "niMAGain": "1",
            "niMaxInt": "32768", "snsMnMaXaDw": ",".join(map(str, nidq_counts)),
            "acqMnMaXaDw": ",".join(map(str, nidq_counts)), "snsSaveChanSubset": "all",
            "~snsShankMap": "(1,2,0)",
        })
        last = n_channels - 1
        names = [f"XA{i};{i}:{i}" for i in range(last)] + [f"XD0;{last}:{last}"]
        meta["~snsChanMap"] = "(0,0,0,0,0)" + "".join(f"({n})" for n in names)
    else:
        n_sync = 1 if sync else 0
        n_channels = n_neural + n_sync
        ap, lf = (n_neural, 0) if kind == "ap" else (0, n_neural)
        gains = list(ap_gains) if ap_gains is not None else [500] * n_neural
        meta.update({
            "typeThis": "imec", "imSampRate": f"{rate or (30000 if kind == 'ap' else 2500)}",
            "snsApLfSy": f"{ap},{lf},{n_sync}", "acqApLfSy": f"{n_neural},{n_neural},1",
        })
        first = 0 if kind == "ap" else n_neural
        subset = f"{first}:{first + n_neural - 1}" + (f",{2 * n_neural}" if sync else "")
        meta["snsSaveChanSubset"] = subset
        if probe == "np1":
            meta.update({"imDatPrb_type": "0", "imDatPrb_pn": "NP1000", "imAiRangeMax": "0.6",
                         "imAiRangeMin": "-0.6"})
            meta["~imroTbl"] = f"(0,{n_neural})" + "".join(
                f"({c} 0 0 {gains[c]} {lf_gain} 1)" for c in range(n_neural))
        else:
            ptype, pn = ("24", "NP2010") if probe == "np2" else ("2013", "NP2013")
            meta.update({"imDatPrb_type": ptype, "imDatPrb_pn": pn,
                         "imAiRangeMax": "0.5" if probe == "np2" else "0.62",
                         "imAiRangeMin": "-0.5" if probe == "np2" else "-0.62",
                         "imMaxInt": "8192" if probe == "np2" else "2048"})
            if probe == "np2013":
                meta["imChan0apGain"] = "100"
            meta["~imroTbl"] = f"({ptype},{n_neural})" + "".join(
                f"({c} {c * n_shanks // n_neural} 0 0 {c})" for c in range(n_neural))
        per_shank = n_neural // n_shanks
        meta["~snsShankMap"] = f"({n_shanks},2,480)" + "".join(
            f"({c // per_shank}:{c % 2}:{c // 2}:{0 if c == 1 else 1})" for c in range(n_neural))
        prefix = "AP" if kind == "ap" else "LF"
        chans = [f"({prefix}{c};{c}:{c})" for c in range(n_neural)]
        if sync:
            chans.append(f"(SY0;{n_neural}:{n_neural})")
        meta["~snsChanMap"] = f"({ap},{lf},{n_sync})" + "".join(chans)
    size = n_samples * n_channels * 2
    meta.update({
        "nSavedChans": str(n_channels),
        "fileSizeBytes": str(size if meta_size is None else meta_size),
        "fileTimeSecs": "1", "fileName": f"D:/data/{path.name}", "firstSample": "0",
        "appVersion": "20230815",
    })
    lines = [f"{k}={v}" for k, v in meta.items() if not k.startswith("~")]
    lines += [f"{k}={v}" for k, v in meta.items() if k.startswith("~")]
    path.with_suffix(".meta").write_text("\n".join(lines) + "\n")
    if write_bin:
        data = (np.arange(n_samples * n_channels) % 2000 - 1000).astype("<i2")
        with open(path, "wb") as fh:
            fh.write(data.tobytes())
            fh.write(b"\x00" * extra_bytes)
    return path


def good(tmp: Path) -> list[Path]:
    ap = write_spikeglx(tmp / "run_g0" / "run_g0_t0.imec0.ap.bin", n_samples=100)
    lf = write_spikeglx(tmp / "run_g0" / "run_g0_t0.imec0.lf.bin", n_samples=10, kind="lf")
    np2 = write_spikeglx(tmp / "np2" / "run_g0_t0.imec0.ap.bin", n_samples=20, probe="np2",
                         n_shanks=4, meta_size=10**9)
    ni = write_spikeglx(tmp / "run_g0" / "run_g0_t0.nidq.bin", n_samples=50, probe="nidq")
    return [ap, lf, np2, ni]


def bad(tmp: Path) -> list[Path]:
    out = []
    empty = write_spikeglx(tmp / "empty" / "e.imec0.ap.bin", n_samples=0)
    out.append(empty)
    nochans = write_spikeglx(tmp / "zero" / "z.imec0.ap.bin", n_samples=4)
    meta = nochans.with_suffix(".meta")
    meta.write_text(meta.read_text().replace("nSavedChans=9", "nSavedChans=0"))
    out.append(nochans)
    norate = write_spikeglx(tmp / "norate" / "r.imec0.ap.bin", n_samples=4)
    meta = norate.with_suffix(".meta")
    meta.write_text(meta.read_text().replace("imSampRate=30000", "imSampRate=fast"))
    out.append(norate)
    lone = write_spikeglx(tmp / "lone" / "l.imec0.ap.bin", n_samples=4, write_bin=False)
    meta = lone.with_suffix(".meta")
    meta.write_text("\n".join(x for x in meta.read_text().splitlines()
                              if not x.startswith("fileSizeBytes")))
    out.append(meta)
    return out
