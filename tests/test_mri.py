"""NIfTI and DICOM: values against nibabel and pydicom (the writers, read back as second
readers), series folded into one record, and bad input refused in one line."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract, extract_folder
from extractors import discover
from tests.fixtures_mri_photometry import write_dicom, write_nifti, write_series

nib = pytest.importorskip("nibabel")
pydicom = pytest.importorskip("pydicom")

_TIME_S = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}
_SPACE_UM = {"mm": 1e3, "meter": 1e6, "micron": 1.0}


def _nibabel_values(path: Path) -> dict[str, float]:
    img = nib.load(path)
    shape = img.shape
    zooms = img.header.get_zooms()
    space, time = img.header.get_xyzt_units()
    out = {"horizontalResolution": shape[0], "verticalResolution": shape[1],
           "nFrames": shape[3] if len(shape) > 3 else 1}
    if len(shape) > 3 and shape[3] > 1:
        out["frameRate"] = 1.0 / (zooms[3] * _TIME_S[time])
    out["voxels"] = tuple(z * _SPACE_UM[space] for z in zooms[:3])
    return out


@pytest.mark.parametrize("kw", [
    {"shape": (6, 5, 4, 7), "zooms": (3.0, 3.0, 3.5, 2.0)},
    {"shape": (8, 7, 6), "zooms": (1.0, 1.0, 1.2)},
    {"shape": (4, 4, 3, 5), "zooms": (2.0, 2.0, 2.0, 1500.0), "units": ("mm", "msec"),
     "version": 2, "endian": ">"},
    {"shape": (5, 3, 2, 9), "zooms": (0.1, 0.1, 0.5, 500000.0), "units": ("micron", "usec"),
     "endian": ">"},
])
@pytest.mark.parametrize("name", ["x.nii", "x.nii.gz"])
def test_nifti_values_equal_nibabels(tmp_path: Path, kw: dict, name: str) -> None:
    path = write_nifti(tmp_path / name, **kw)
    (r,) = extract(path)
    want = _nibabel_values(path)
    tj = r.type_json
    assert r.type == ("FunctionalMagneticResonanceImaging" if want["nFrames"] > 1
                      else "MagneticResonanceImaging")
    for key in ("horizontalResolution", "verticalResolution", "nFrames"):
        assert tj[key] == want[key], key
    if "frameRate" in want:
        assert math.isclose(tj["frameRate"], want["frameRate"], rel_tol=1e-6)
    else:
        assert "frameRate" not in tj
    assert tj["format"] == f"NIfTI-{kw.get('version', 1)}"
    assert (tj.get("compression") == "gzip") == name.endswith(".gz")
    assert not r.warnings


def test_field_strength_from_the_bids_sidecar(tmp_path: Path) -> None:
    anat = write_nifti(tmp_path / "sub-01_T1w.nii.gz", (4, 4, 4), (1, 1, 1),
                       sidecar={"MagneticFieldStrength": 9.4})
    (r,) = extract(anat)
    assert r.type_json["magneticFieldStrength"] == 9.4
    assert "sub-01_T1w.json" in r.provenance["magneticFieldStrength"].detail
    found = discover(tmp_path)
    assert found.data == [anat] and tmp_path / "sub-01_T1w.json" in found.sidecars


def test_a_tr_that_disagrees_with_bids_or_is_implausible_warns(tmp_path: Path) -> None:
    bold = write_nifti(tmp_path / "bold.nii", (4, 4, 2, 5), (2, 2, 2, 200.0),
                       sidecar={"RepetitionTime": 2.0})  # 200 "s": a unit slip
    (r,) = extract(bold)
    assert math.isclose(r.type_json["frameRate"], 1 / 200)
    assert any("outside" in w for w in r.warnings)
    assert any("RepetitionTime 2 s differs" in w for w in r.warnings)
    # 2000 s: no frame interval at all; the record stands without a frameRate.
    (r,) = extract(write_nifti(tmp_path / "slip.nii", (4, 4, 2, 5), (2, 2, 2, 2000.0)))
    assert "frameRate" not in r.type_json and r.type_json["nFrames"] == 5


def test_nii_gz_reads_only_the_head_of_the_stream(tmp_path: Path, monkeypatch) -> None:
    path = write_nifti(tmp_path / "big.nii.gz", (64, 64, 32, 40), (2, 2, 2, 1.0))
    asked: list[int] = []
    real = gzip.GzipFile.read

    def spy(self, size=-1):
        asked.append(size)
        return real(self, size)

    monkeypatch.setattr(gzip.GzipFile, "read", spy)
    (r,) = extract(path)
    assert r.type_json["nFrames"] == 40
    assert asked and all(0 <= n <= 540 for n in asked)


def test_bad_nifti_is_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "fake.nii.gz"
    fake.write_bytes(b"\x5c\x01\x00\x00" + b"\x00" * 600)
    with pytest.raises(ExtractionError) as info:
        extract(fake)
    assert str(info.value).startswith("fake.nii.gz: ") and "\n" not in str(info.value)
    assert "not gzip" in str(info.value)
    path = write_nifti(tmp_path / "cut.nii", (16, 16, 16, 4), (1, 1, 1, 1))
    path.write_bytes(path.read_bytes()[:2000])
    (r,) = extract(path)
    assert any("truncated" in w for w in r.warnings)


# --- DICOM --------------------------------------------------------------------------------

def test_dicom_values_equal_pydicoms(tmp_path: Path) -> None:
    for syntax in ("explicit", "implicit", "big"):
        path = write_dicom(tmp_path / f"{syntax}.dcm", rows=10, columns=7, syntax=syntax)
        ds = pydicom.dcmread(path)
        (r,) = extract(path)
        tj = r.type_json
        assert r.type == "MagneticResonanceImaging"
        assert (tj["horizontalResolution"], tj["verticalResolution"]) == (ds.Columns, ds.Rows)
        assert tj["nFrames"] == 1
        assert tj["magneticFieldStrength"] == float(ds.MagneticFieldStrength)
        assert tj["compression"] == "raw"
        assert "frameRate" not in tj  # a structural scan's TR is not a frame interval
        assert r.start_time == "2024-01-31T10:15:02.500000"


def test_compression_is_the_transfer_syntax(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "j2k.dcm", jpeg2000=True)
    uid = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    (r,) = extract(path)
    assert uid.is_compressed and r.type_json["compression"] == uid.name
    assert "1.2.840.10008.1.2.4.90" in r.provenance["compression"].detail


def test_dicom_modalities_and_multi_frame(tmp_path: Path) -> None:
    ct = write_dicom(tmp_path / "ct", modality="CT", field_t=None)
    pet = write_dicom(tmp_path / "pet.dcm", modality="PT", field_t=None)
    bold = write_dicom(tmp_path / "bold.dcm", frames=30, temporal=30, tr_ms=800.0)
    assert extract(ct)[0].type == "ComputedTomography"
    assert extract(pet)[0].type == "PositronEmissionTomography"
    (r,) = extract(bold)
    assert r.type == "FunctionalMagneticResonanceImaging"
    assert r.type_json["nFrames"] == pydicom.dcmread(bold).NumberOfFrames == 30
    assert math.isclose(r.type_json["frameRate"], 1000 / 800.0)
    assert "magneticFieldStrength" not in r.type_json  # not in fMRI's schema


def test_single_slice_files_of_one_series_are_one_record(tmp_path: Path) -> None:
    folder = tmp_path / "session" / "MR1"
    files = write_series(folder, n_slices=5)
    other = write_dicom(folder / "scout.dcm")  # another series in the same folder
    found = discover(tmp_path / "session")
    assert sorted(found.data) == sorted([files[0], other])
    assert all(found.sidecars[p] == files[0] for p in files[1:])
    report = extract_folder(tmp_path / "session")
    assert report.ok, report.errors
    names = sorted(x.relative_to(tmp_path / "session").file_name for x in report.extractions)
    uid = pydicom.dcmread(files[0]).SeriesInstanceUID
    assert names == sorted([f"MR1#{uid}", "MR1/scout.dcm"])  # the folder, then the series
    series = next(x for x in report.extractions if x.part == uid)
    assert series.type == "MagneticResonanceImaging" and series.type_json["nFrames"] == 1
    # One slice given alone describes its series.
    (alone,) = extract(files[3])
    assert alone.key == series.key


def test_a_series_of_volumes_in_time_is_functional(tmp_path: Path) -> None:
    files = write_series(tmp_path / "bold", n_slices=3, n_volumes=4, tr_ms=2500.0)
    (r,) = extract(files[0])
    assert r.type == "FunctionalMagneticResonanceImaging"
    assert r.type_json["nFrames"] == 4 == len(files) // 3
    assert math.isclose(r.type_json["frameRate"], 0.4)


def test_copies_of_one_instance_are_separate_records(tmp_path: Path) -> None:
    a = write_dicom(tmp_path / "a.dcm", series_uid="1.2.3", instance=1)
    b = write_dicom(tmp_path / "b.dcm", series_uid="1.2.3", instance=1, syntax="big")
    assert sorted(discover(tmp_path).data) == [a, b]


def test_bad_dicom_is_one_line(tmp_path: Path) -> None:
    good = write_dicom(tmp_path / "x.dcm")
    raw = good.read_bytes()
    nopre = tmp_path / "nopre.dcm"
    nopre.write_bytes(raw[132:])
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(raw[:150])
    for p in (nopre, cut):
        with pytest.raises(ExtractionError) as info:
            extract(p)
        msg = str(info.value)
        assert msg.startswith(f"{p.name}: ") and "\n" not in msg
    # A bad file does not stop the session.
    report = extract_folder(tmp_path)
    assert set(report.errors) == {str(nopre), str(cut)}
    assert [x.file_name for x in report.extractions] == ["x.dcm"]


# --- PAR/REC and ParaVision ---------------------------------------------------------------

def test_parrec_values_from_the_par_header(tmp_path: Path) -> None:
    from tests.fixtures_mri_photometry import write_parrec

    rec = write_parrec(tmp_path, "bold", dynamics=6, recon=(80, 64), tr_ms=2500.0)
    (r,) = extract(rec)
    assert r.type == "FunctionalMagneticResonanceImaging"
    assert (r.type_json["horizontalResolution"], r.type_json["verticalResolution"]) == (80, 64)
    assert r.type_json["nFrames"] == 6 and math.isclose(r.type_json["frameRate"], 0.4)
    assert rec.with_suffix(".PAR") in discover(tmp_path).sidecars


def test_paravision_scan_folder(tmp_path: Path) -> None:
    from tests.fixtures_mri_photometry import write_paravision

    method = write_paravision(tmp_path / "study" / "5", matrix=(96, 64), reps=20, tr_ms=1000.0,
                              bf1=400.13)
    (r,) = extract(method)
    assert r.type == "FunctionalMagneticResonanceImaging"
    assert (r.type_json["horizontalResolution"], r.type_json["verticalResolution"]) == (96, 64)
    assert r.type_json["nFrames"] == 20 and math.isclose(r.type_json["frameRate"], 1.0)
    found = discover(tmp_path)
    assert found.data == [method] and not found.skipped
    assert method.parent / "acqp" in found.sidecars
    # A segmented sequence: 4 TRs a volume; the scan time says so, the TR does not.
    rare = write_paravision(tmp_path / "study" / "7", reps=10, tr_ms=250.0, scan_ms=12000.0,
                            dummy_ms=2000.0)
    (q,) = extract(rare)
    assert math.isclose(q.type_json["frameRate"], 10 / 10.0)
    assert "PVM_ScanTime" in q.provenance["frameRate"].detail
    anat = write_paravision(tmp_path / "study" / "3", bf1=300.33)
    (s,) = extract(anat)
    assert s.type == "MagneticResonanceImaging"
    assert math.isclose(s.type_json["magneticFieldStrength"], 300.33 / 42.577)


def test_dicomdir_and_non_image_objects_are_skipped_not_failed(tmp_path: Path) -> None:
    mr = write_dicom(tmp_path / "IM0001")
    sr = write_dicom(tmp_path / "SR0001", modality="SR")
    index = write_dicom(tmp_path / "DICOMDIR")
    report = extract_folder(tmp_path)
    assert report.ok and [x.path for x in report.extractions] == [str(mr)]
    assert set(report.skipped) == {str(sr), str(index)}


def test_an_mri_and_photometry_session_is_accepted_whole_and_once(tmp_path: Path) -> None:
    """Into the local server's current generation: every record created, a re-run none."""
    from bsingest.client import BrainstemClient, RetryPolicy
    from bsingest.ingest import ingest
    from bsingest.server import LocalServer
    from tests.fixtures_mri_photometry import write_doric, write_npm, write_ppd, write_tdt

    session, procedure = ("4b060709-9585-484b-bde0-0a47a554aaab",
                          "087b71c4-6785-437c-b8ef-e35a82a8463e")
    folder = tmp_path / "scan-day"
    write_series(folder / "MR1", n_slices=4, n_volumes=3)
    write_dicom(folder / "ct" / "17106", modality="CT", field_t=None)
    write_nifti(folder / "sub-01_bold.nii.gz", (4, 4, 2, 10), (3, 3, 3, 2.0),
                sidecar={"MagneticFieldStrength": 3})
    write_nifti(folder / "sub-01_T1w.nii", (6, 6, 6), (1, 1, 1),
                sidecar={"MagneticFieldStrength": 7})
    write_ppd(folder / "fp.ppd", 1300)
    write_npm(folder / "npm.csv", 200)
    write_doric(folder / "rec.doric", 500)
    write_tdt(folder / "tank" / "b1", "b1", {"465A": (1017.25, 1, 2), "405A": (1017.25, 1, 2)})
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv, \
            BrainstemClient(server=srv.url, token=srv.pat, api="2026",
                            retry=RetryPolicy(wait=False)) as c:
        report = ingest(folder, session=session, procedures=[procedure], client=c,
                        journal=tmp_path / "j.sqlite")
        assert {r.outcome for r in report.results} == {"created"}, [
            (r.path, r.error) for r in report.results if r.outcome != "created"]
        uid = pydicom.dcmread(folder / "MR1" / "IM0001").SeriesInstanceUID
        assert sorted(r.key for r in report.results) == sorted([
            f"FunctionalMagneticResonanceImaging|MR1#{uid}",
            "ComputedTomography|ct/17106",
            "FunctionalMagneticResonanceImaging|sub-01_bold.nii.gz",
            "MagneticResonanceImaging|sub-01_T1w.nii",
            "FiberPhotometry|fp.ppd", "FiberPhotometry|npm.csv", "FiberPhotometry|rec.doric",
            "FiberPhotometry|tank/b1/b1.tev#405A", "FiberPhotometry|tank/b1/b1.tev#465A"])
        again = ingest(folder, session=session, procedures=[procedure], client=c,
                       journal=tmp_path / "j.sqlite")
        assert again.counts() == {"unchanged": 9}


def test_a_bids_sidecar_nested_too_deeply_is_a_warning(tmp_path: Path) -> None:
    path = write_nifti(tmp_path / "x.nii", (4, 4, 4), (1, 1, 1))
    (tmp_path / "x.json").write_text("[" * 100000 + "]" * 100000)
    (r,) = extract(path)
    assert any("nested too deeply" in w for w in r.warnings)


def _nibabel_par_files() -> list[Path]:
    folder = Path(nib.__file__).parent / "tests" / "data"
    return sorted(folder.glob("*.PAR")) if folder.is_dir() else []


@pytest.mark.parametrize("par", _nibabel_par_files(), ids=lambda p: p.name)
def test_parrec_equals_nibabel_on_its_own_par_files(par: Path, tmp_path: Path) -> None:
    """nibabel's test PAR files (Philips scanners' v4 to v4.2 headers) as nibabel reads them:
    the recon size, the dynamics, and their begin times' spacing as the frame rate."""
    import shutil
    import warnings

    copy = tmp_path / par.name
    shutil.copy(par, copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open(par, encoding="latin-1") as fh:
            hdr = nib.parrec.PARRECHeader.from_fileobj(fh, permit_truncated=True,
                                                       strict_sort=False)
    defs = hdr.image_defs
    (r,) = extract(copy)
    tj = r.type_json
    x, y = defs["recon resolution"][0]
    assert (tj["horizontalResolution"], tj["verticalResolution"]) == (x, y)
    dynamics = sorted(set(defs["dynamic scan number"]))
    assert tj["nFrames"] == len(dynamics)
    if len(dynamics) > 1:
        begins = [min(defs["dyn_scan_begin_time"][defs["dynamic scan number"] == d])
                  for d in dynamics]
        if begins[-1] > begins[0]:
            want = (len(begins) - 1) / (begins[-1] - begins[0])
            assert math.isclose(tj["frameRate"], want, rel_tol=1e-6)
    else:
        assert r.type == "MagneticResonanceImaging" and "frameRate" not in tj


def test_a_rec_shorter_than_its_par_describes_warns(tmp_path: Path) -> None:
    from tests.fixtures_mri_photometry import write_parrec

    rec = write_parrec(tmp_path, "cut", dynamics=3, recon=(16, 16), slices=2)
    assert not extract(rec)[0].warnings
    rec.write_bytes(rec.read_bytes()[:1000])  # 6 images of 16 x 16 x 2 bytes: 3072
    (r,) = extract(rec)
    assert any("fewer than the 3072" in w and "truncated" in w for w in r.warnings)


def test_a_dicomdir_is_known_by_its_sop_class_whatever_its_name(tmp_path: Path) -> None:
    """pydicom's FileSet writes a medium as media writers do: DICOMDIR plus images in
    PT000000/ST000000/SE000000/; a copy renamed keeps the SOP class, not the name."""
    import shutil

    from pydicom import dcmread
    from pydicom.fileset import FileSet
    from pydicom.uid import generate_uid

    from bsingest.errors import NothingToDescribe
    from extractors.dicom import DICOMDIR_CLASS, media_storage_class

    image = write_dicom(tmp_path / "src" / "IM0001")
    ds = dcmread(image)
    # What a medium's PATIENT/STUDY/SERIES records need (PS3.3 F.5), as a scanner writes.
    ds.PatientID, ds.PatientName = "sub-01", "sub-01"
    ds.StudyInstanceUID, ds.StudyID = generate_uid(), "1"
    ds.StudyDate, ds.StudyTime = "20240131", "101502"
    fs = FileSet()
    fs.add(ds)
    medium = tmp_path / "medium"
    fs.write(medium)
    index = medium / "DICOMDIR"
    assert dcmread(index).file_meta.MediaStorageSOPClassUID == DICOMDIR_CLASS
    renamed = medium / "index.dcm"
    shutil.copyfile(index, renamed)
    assert media_storage_class(renamed) == DICOMDIR_CLASS
    assert media_storage_class(image) != DICOMDIR_CLASS

    report = extract_folder(medium)
    assert report.ok, report.errors
    [x] = report.extractions
    assert x.type == "MagneticResonanceImaging" and "DICOMDIR" not in x.path
    reason = ("a DICOMDIR (Media Storage SOP Class 1.2.840.10008.1.3.10): the index of a "
              "DICOM medium, not an image; the image files it lists are described on their own")
    assert report.skipped == {str(index): reason, str(renamed): reason}
    with pytest.raises(NothingToDescribe) as info:
        extract(renamed)
    assert str(info.value) == f"index.dcm: {reason}"
