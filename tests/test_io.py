"""Tests for helpers.io: FITS frames, stacks, region files and folders of frames.

Each test compares with an independent truth (astropy read by hand, numbers written into
small files here) so that a wrong method fails, not only a crash.
"""
import gc
import math
import os
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from helpers import io
from helpers.io import collect, read_frame, read_regions, read_stack, select, write_frame

STRUCTURE = {"SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "BZERO", "BSCALE"}


def make_fits(path, data=None, **cards):
    """Write a small FITS file with the given header cards; return its path."""
    if data is None:
        data = np.arange(24, dtype=np.float32).reshape(4, 6)
    header = fits.Header()
    for keyword, value in cards.items():
        header[keyword.replace("__", " ")] = value
    fits.PrimaryHDU(data=data, header=header).writeto(path)
    return path


@pytest.fixture
def saao(realdata):
    return realdata / "saao_raw_overscan" / "a8280271.fits"


@pytest.fixture
def eso(realdata):
    return realdata / "sep_eso_field" / "image.fits"


# --------------------------------------------------------------------------- read_frame

def test_read_frame_real_uint16_bzero_frame_gives_physical_values(saao):
    data, header = read_frame(saao)
    assert data.dtype == np.float64
    assert data.shape == (520, 536)
    # Independent truth: the stored int16 numbers plus BZERO, done by hand.
    with fits.open(saao, do_not_scale_image_data=True) as hdul:
        stored = hdul[0].data.astype(np.float64)
        bzero = hdul[0].header["BZERO"]
    assert bzero == 32768 and stored.min() < 0  # so the comparison below can tell
    np.testing.assert_array_equal(data, stored + bzero)
    assert 0 <= data.min() and data.max() <= 65535
    assert 200 < np.median(data[:, 3:13]) < 230  # overscan level of about 214 ADU (README)
    assert header["IMAGETYP"].strip() == "object"
    assert header["EXPTIME"] == pytest.approx(150.04)
    assert header["GAIN"] == pytest.approx(1.9) and header["RDNOISE"] == pytest.approx(5.0)
    assert header["BIASSEC"].replace(" ", "") == "[4:13,1:520]"
    assert header["NAXIS1"] == 536 and header["NAXIS2"] == 520


def test_read_frame_eso_frame_without_warnings(eso):
    with pytest.warns(UserWarning):  # plain astropy does warn about the ESO-LOG cards ...
        with fits.open(eso) as hdul:
            stored = hdul[0].header  # noqa: F841  (parsing the header warns)
    with warnings.catch_warnings():  # ... read_frame must not
        warnings.simplefilter("error")
        data, header = read_frame(eso)
        header.tostring()  # touching every card later must not warn either
        assert header["EXPTIME"] == pytest.approx(1200.0)
        assert "ESO-LOG" in header  # non-standard cards are kept, not thrown away
    assert data.dtype == np.float64 and data.shape == (256, 256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(eso, do_not_scale_image_data=True) as hdul:
            raw = hdul[0].data.astype(np.float64)
            bscale, bzero = hdul[0].header["BSCALE"], hdul[0].header["BZERO"]
    np.testing.assert_allclose(data, raw * bscale + bzero, rtol=1e-6)


def _break_cards(path, *cards):
    """Put raw 80-character cards that break the FITS rules before END, as an old camera writes them."""
    raw = bytearray(path.read_bytes())
    end = raw.index(b"END" + b" " * 77)
    block = b"".join(c.ljust(80) for c in cards) + b"END".ljust(80)
    raw[end:end + len(block)] = block
    path.write_bytes(bytes(raw))
    return path


def test_read_frame_repairs_unparsable_cards_and_says_which(tmp_path):
    path = _break_cards(make_fits(tmp_path / "old-camera.fits"), b"DATE-OBS= 2013-07-13", b"FILTER  = V")
    with pytest.warns(io.HeaderRepairWarning) as caught:
        data, header = read_frame(path)
    message = str(caught[0].message)
    assert "old-camera.fits" in message and "DATE-OBS" in message and "FILTER" in message
    assert header["DATE-OBS"] == "2013-07-13" and header["FILTER"] == "V"
    assert any("FILTER" in h for h in header["HISTORY"])          # a derived frame will say it too
    np.testing.assert_array_equal(data, np.arange(24).reshape(4, 6))
    with warnings.catch_warnings():                                 # said once per file, not on every read
        warnings.simplefilter("error")
        read_frame(path)


def test_a_number_astropy_cannot_parse_is_still_read_and_written(tmp_path):
    """EXPTIME = 60,0 (a decimal comma): astropy refuses the card; collect reads 60 s, write_frame writes it."""
    night = tmp_path / "night"
    night.mkdir()
    path = _break_cards(make_fits(night / "m13.fits", IMAGETYP="object", FILTER="V"),
                        b"EXPTIME =                 60,0 / exposure")
    with fits.open(path) as hdul:                      # plain astropy: the card cannot be read
        with pytest.raises(fits.VerifyError):
            hdul[0].header["EXPTIME"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # collect says it in its table, not as a warning
        table = collect(night)
    assert table["exptime"][0] == 60.0 and table["problem"][0] == ""
    assert "EXPTIME" in table["note"][0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # already said by collect: no warning now
        data, header = read_frame(path)
    out = write_frame(tmp_path / "derived" / "m13-copy.fits", data, header)   # fixed on output
    with fits.open(out) as hdul:
        hdul.verify("exception")                       # the written file meets the standard
        assert any("EXPTIME" in h for h in hdul[0].header["HISTORY"])
    # a header the user got elsewhere, still broken, is repaired on output too
    with fits.open(path) as hdul:
        broken = hdul[0].header.copy()
    out2 = write_frame(tmp_path / "derived" / "m13-copy2.fits", data, broken)
    with fits.open(out2) as hdul:
        hdul.verify("exception")
        assert any("write_frame repaired a header card: EXPTIME" in h for h in hdul[0].header["HISTORY"])


def test_read_frame_plain_types(tmp_path):
    ints = np.array([[-3, 0, 7], [100, 200, 32767]], dtype=np.int16)
    data, _ = read_frame(make_fits(tmp_path / "int16.fits", ints))
    assert data.dtype == np.float64
    np.testing.assert_array_equal(data, ints.astype(np.float64))


def test_read_frame_truncated_or_not_fits_is_a_clear_error(tmp_path, saao):
    cut = tmp_path / "cut.fits"
    cut.write_bytes(saao.read_bytes()[:300000])
    with pytest.raises(OSError, match="truncated"):
        read_frame(cut)
    text = tmp_path / "notes.fits"
    text.write_text("these are my observing notes, not an image")
    with pytest.raises(OSError, match="notes.fits"):
        read_frame(text)


def test_read_frame_missing_file_and_folder_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        read_frame(tmp_path / "bias-1.fits")
    message = str(info.value)
    assert "bias-1.fits" in message and "helpers.data.ensure()" in message
    assert "does not exist either" not in message
    with pytest.raises(FileNotFoundError) as info:
        read_frame(tmp_path / "no-such-folder" / "bias-1.fits")
    message = str(info.value)
    assert "no-such-folder" in message and "does not exist either" in message
    assert "helpers.data.ensure()" in message and "your own" in message


def test_read_frame_picks_the_first_2d_hdu(tmp_path):
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    hdus = fits.HDUList([fits.PrimaryHDU(),
                         fits.BinTableHDU(Table({"a": [1, 2]}), name="CAT"),
                         fits.ImageHDU(image, name="SCI"),
                         fits.ImageHDU(image * 2, name="ERR")])
    path = tmp_path / "mef.fits"
    hdus.writeto(path)
    data, header = read_frame(path)
    np.testing.assert_array_equal(data, image)
    assert header["EXTNAME"] == "SCI"
    np.testing.assert_array_equal(read_frame(path, hdu="ERR")[0], image * 2)
    np.testing.assert_array_equal(read_frame(path, hdu=3)[0], image * 2)
    with pytest.raises(ValueError, match="no 2-D image"):
        read_frame(path, hdu="CAT")
    with pytest.raises(ValueError, match="no 2-D image"):
        read_frame(path, hdu=7)
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(Table({"a": [1]}))]).writeto(tmp_path / "t.fits")
    with pytest.raises(ValueError, match="no 2-D image"):
        read_frame(tmp_path / "t.fits")


# --------------------------------------------------------------------------- read_stack

def test_read_stack_stacks_frames_in_order(tmp_path):
    frames = [np.full((4, 6), 10.0 * i) + np.arange(6) for i in range(3)]
    paths = [make_fits(tmp_path / f"bias-{i + 1}.fits", f.astype(np.float32)) for i, f in enumerate(frames)]
    stack = read_stack([str(paths[0]), paths[1], paths[2]])  # str and Path both accepted
    assert stack.dtype == np.float64 and stack.shape == (3, 4, 6)
    np.testing.assert_array_equal(stack, np.array(frames))
    np.testing.assert_array_equal(read_stack(p for p in paths), stack)  # any iterable


def test_read_stack_names_the_odd_file(tmp_path):
    make_fits(tmp_path / "bias-1.fits", np.zeros((4, 6), np.float32))
    make_fits(tmp_path / "bias-2.fits", np.zeros((4, 6), np.float32))
    make_fits(tmp_path / "bias-3.fits", np.zeros((6, 4), np.float32))
    with pytest.raises(ValueError) as info:
        read_stack(sorted(tmp_path.glob("bias-*.fits")))
    assert "bias-3.fits is 6x4 (ny x nx) but bias-1.fits is 4x6" in str(info.value)


def test_read_stack_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        read_stack([])
    with pytest.raises(TypeError, match="list of paths"):
        read_stack(str(tmp_path / "bias-1.fits"))
    with pytest.raises(FileNotFoundError, match="bias-9.fits"):
        read_stack([make_fits(tmp_path / "bias-1.fits"), tmp_path / "bias-9.fits"])


# --------------------------------------------------------------------------- write_frame

def test_write_frame_round_trip_keeps_header_and_adds_history(tmp_path, saao):
    data, header = read_frame(saao)
    before = header.tostring()
    out = tmp_path / "derived" / "night1" / "a8280271-minus-bias.fits"  # folders do not exist yet
    result = write_frame(out, data - 214.0, header, history=["overscan subtracted", "level 214 ADU"])
    assert result == out and out.is_file()
    assert header.tostring() == before  # the caller's header is not changed
    back, new = read_frame(out)
    np.testing.assert_array_equal(back, data - 214.0)  # would fail if BZERO had been kept
    assert new["BITPIX"] == -32 and "BZERO" not in new and "BSCALE" not in new
    kept = [(c.keyword, c.value) for c in header.cards if c.keyword not in STRUCTURE]
    written = [(c.keyword, c.value) for c in new.cards if c.keyword not in STRUCTURE]
    assert written[:len(kept)] == kept  # every card, in the same order
    assert written[len(kept):] == [("HISTORY", "overscan subtracted"), ("HISTORY", "level 214 ADU")]


def test_write_frame_eso_header_round_trip_without_warnings(tmp_path, eso):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data, header = read_frame(eso)
        write_frame(tmp_path / "eso.fits", data, header, history="copied")
        back, new = read_frame(tmp_path / "eso.fits")
    np.testing.assert_allclose(back, data, rtol=1e-7)   # written as float32
    eso_log = [str(c) for c in header.cards if c.keyword == "ESO-LOG"]
    assert len(eso_log) == 4 and [str(c) for c in new.cards if c.keyword == "ESO-LOG"] == eso_log
    assert list(new["HISTORY"])[-1] == "copied"
    assert len(new["HISTORY"]) == len(header["HISTORY"]) + 1  # the old MIDAS history is kept
    assert new["EXPTIME"] == 1200.0


def test_write_frame_refuses_to_overwrite(tmp_path):
    path = write_frame(tmp_path / "m13.fits", np.ones((3, 5)))
    original = path.read_bytes()
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        write_frame(path, np.zeros((3, 5)), history="should not be written")
    assert path.read_bytes() == original  # byte for byte unchanged
    write_frame(path, np.full((3, 5), 7.0), overwrite=True)
    np.testing.assert_array_equal(read_frame(path)[0], np.full((3, 5), 7.0))
    assert sorted(os.listdir(tmp_path)) == ["m13.fits"]  # no temporary files left behind


def test_write_frame_failed_write_leaves_old_file_and_no_stray_files(tmp_path, monkeypatch):
    path = write_frame(tmp_path / "master-bias.fits", np.ones((3, 5)))
    original = path.read_bytes()

    def broken_writeto(self, name, *args, **kwargs):  # a disk that fills up half-way
        with open(name, "wb") as file:
            file.write(b"SIMPLE  =")
        raise OSError("No space left on device")

    monkeypatch.setattr(fits.PrimaryHDU, "writeto", broken_writeto)
    with pytest.raises(OSError, match="No space left"):
        write_frame(path, np.zeros((3, 5)), overwrite=True)
    assert path.read_bytes() == original
    assert sorted(os.listdir(tmp_path)) == ["master-bias.fits"]


def test_write_frame_types(tmp_path):
    floats = np.linspace(0, 1, 12).reshape(3, 4)  # float64 -> float32 on disk
    write_frame(tmp_path / "f.fits", floats)
    with fits.open(tmp_path / "f.fits") as hdul:
        assert hdul[0].header["BITPIX"] == -32
        np.testing.assert_array_equal(hdul[0].data, floats.astype(np.float32))
    counts = np.array([[0, 1, 65535], [32768, 40000, 5]], dtype=np.uint16)  # unchanged
    write_frame(tmp_path / "u.fits", counts)
    with fits.open(tmp_path / "u.fits") as hdul:
        assert hdul[0].data.dtype == np.uint16
        np.testing.assert_array_equal(hdul[0].data, counts)
    with pytest.raises(ValueError, match="2-D"):
        write_frame(tmp_path / "cube.fits", np.zeros((2, 3, 4)))
    assert not (tmp_path / "cube.fits").exists()


def test_write_frame_drops_stale_storage_cards(tmp_path):
    header = fits.Header({"OBJECT": "M13", "BLANK": -32768, "CHECKSUM": "stale", "DATASUM": "1"})
    image = np.arange(12, dtype=np.int16).reshape(3, 4)
    image[0, 0] = -32768  # the BLANK value: a pixel without data
    hdus = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(image, header=header, name="SCI")])
    hdus.writeto(tmp_path / "mef.fits")
    data, header = read_frame(tmp_path / "mef.fits")  # an extension header: XTENSION, PCOUNT ...
    assert np.isnan(data[0, 0]) and header["BLANK"] == -32768
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a BLANK card with float data would warn
        write_frame(tmp_path / "out.fits", data, header)
        back, new = read_frame(tmp_path / "out.fits")
    np.testing.assert_array_equal(back, data)  # NaN where BLANK was
    assert new["OBJECT"] == "M13" and new["EXTNAME"] == "SCI"
    for stale in ("BLANK", "CHECKSUM", "DATASUM", "XTENSION", "PCOUNT", "GCOUNT"):
        assert stale not in new
    assert new.cards[0].keyword == "SIMPLE"


def test_write_frame_header_from_dict_and_single_history(tmp_path):
    write_frame(tmp_path / "d.fits", np.zeros((2, 2)), {"OBJECT": "M51", "EXPTIME": 60.0},
                history="made in a test")
    _, header = read_frame(tmp_path / "d.fits")
    assert header["OBJECT"] == "M51" and header["EXPTIME"] == 60.0
    assert list(header["HISTORY"]) == ["made in a test"]


# --------------------------------------------------------------------------- read_regions

def write_text(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_read_regions_ds9_4_1(tmp_path):
    path = write_text(tmp_path / "ds9.reg", [
        "# Region file format: DS9 version 4.1",
        'global color=green dashlist=8 3 width=1 font="helvetica 10 normal roman" select=1 '
        "highlite=1 dash=0 fixed=0 edit=1 move=1 delete=1 include=1 source=1",
        "image",
        "circle(512.5,300.25,8.5) # text={star 1}",
        "",
        "annulus(400,410,10,20,35) # color=red",
        "point(101,51) # point=x",
        "image;circle(11,21,3)",
        "# circle(1,1,1) a commented-out region",
    ])
    table = read_regions(path)
    assert table.colnames == ["shape", "x", "y", "r", "r_in", "r_out"]
    assert list(table["shape"]) == ["circle", "annulus", "annulus", "point", "circle"]
    np.testing.assert_allclose(table["x"], [511.5, 399, 399, 100, 10])
    np.testing.assert_allclose(table["y"], [299.25, 409, 409, 50, 20])
    np.testing.assert_allclose(table["r"], [8.5, np.nan, np.nan, np.nan, 3])
    np.testing.assert_allclose(table["r_in"], [np.nan, 10, 20, np.nan, np.nan])
    np.testing.assert_allclose(table["r_out"], [np.nan, 20, 35, np.nan, np.nan])


def test_read_regions_one_based_to_zero_based_on_an_image(tmp_path):
    image = np.zeros((40, 60))
    image[20, 30] = 1000.0  # numpy row y=20, column x=30: DS9 shows it at (31, 21)
    path = write_text(tmp_path / "star.reg", ["# Region file format: DS9 version 4.1",
                                              "physical", "circle(31,21,3)"])
    row = read_regions(path)[0]
    assert (row["x"], row["y"]) == (30.0, 20.0)
    assert image[int(row["y"]), int(row["x"])] == 1000.0
    yy, xx = np.indices(image.shape)
    inside = (xx - row["x"]) ** 2 + (yy - row["y"]) ** 2 <= row["r"] ** 2
    assert image[inside].sum() == 1000.0


def test_read_regions_xy_list(tmp_path):
    path = tmp_path / "stars.xy"
    path.write_bytes(b"\xef\xbb\xbf# x y from DS9, XY format\r\n31 21\r\n  100.5   200.25\r\n"
                     b"\r\n5 6 7.5\r\n")  # a BOM and Windows line ends, as some editors save
    table = read_regions(path)
    assert list(table["shape"]) == ["point"] * 3
    np.testing.assert_allclose(table["x"], [30, 99.5, 4])
    np.testing.assert_allclose(table["y"], [20, 199.25, 5])
    assert np.all(np.isnan(table["r"])) and np.all(np.isnan(table["r_in"]))


def test_read_regions_pros_format(tmp_path):
    path = write_text(tmp_path / "annulus.reg", [
        "# pros regions",
        "image; annulus 512.0 512.0 10 20",
        "logical;annulus 512 512 20 30 45",
        "physical;circle 100 100 5",
    ])
    table = read_regions(path)
    assert list(table["shape"]) == ["annulus"] * 3 + ["circle"]
    np.testing.assert_allclose(table["x"], [511, 511, 511, 99])
    np.testing.assert_allclose(table["y"], [511, 511, 511, 99])
    np.testing.assert_allclose(table["r_in"], [10, 20, 30, np.nan])
    np.testing.assert_allclose(table["r_out"], [20, 30, 45, np.nan])
    np.testing.assert_allclose(table["r"], [np.nan, np.nan, np.nan, 5])


@pytest.mark.parametrize("lines", [
    ["# Region file format: DS9 version 4.1", "fk5", 'circle(13:29:52.7,+47:11:43,5")'],
    ["icrs; circle(202.47,47.19,0.002)"],
    ["galactic", "point(104.85,68.56)"],
    ["13:29:52.7 +47:11:43"],
    ["image", 'circle(100,100,5")'],
])
def test_read_regions_sky_coordinates_are_refused(tmp_path, lines):
    path = write_text(tmp_path / "sky.reg", lines)
    with pytest.raises(ValueError, match="only image coordinates are supported") as info:
        read_regions(path)
    assert "coordinate system 'image'" in str(info.value)


@pytest.mark.parametrize("bad, why", [
    ("circle(10,20)", "expected circle(x,y,r), got 2 value(s)"),
    ("circle()", "expected circle(x,y,r), got 0 value(s)"),
    ("annulus(10,20,30)", "expected annulus(x,y,r_in,r_out,...), got 3 value(s)"),
    ("point 10 20 30", "expected point(x,y), got 3 value(s)"),
    ("circle(10,abc,3)", "'abc' is not a number"),
    ("box(10,20,4,4,0)", "unsupported shape 'box'"),
    ("annulus(10,20,30,20)", "increasing"),
    ("circle(10,20,-3)", "positive"),
    ("circle(10,20", "cannot understand"),
    ("42", "expected point(x,y), got 1 value(s)"),
    ("17 nan", "not a finite number"),
])
def test_read_regions_bad_line_names_file_and_line(tmp_path, bad, why):
    path = write_text(tmp_path / "bad.reg", ["# Region file format: DS9 version 4.1", "image",
                                             "circle(5,5,2)", bad, "circle(6,6,2)"])
    with pytest.raises(ValueError) as info:
        read_regions(path)
    message = str(info.value)
    assert "bad.reg, line 4" in message and repr(bad) in message and why in message


def test_read_regions_missing_or_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match="ds9.reg"):
        read_regions(tmp_path / "ds9.reg")
    path = write_text(tmp_path / "empty.reg", ["# Region file format: DS9 version 4.1",
                                               "global color=green", "image"])
    with pytest.raises(ValueError, match="no regions"):
        read_regions(path)


# --------------------------------------------------------------------------- collect / select

@pytest.mark.parametrize("imagetyp, kind", [
    ("Bias Frame", "bias"), ("BIAS", "bias"), ("zero", "bias"), ("bias_frame", "bias"),
    ("Dark Frame", "dark"), ("dark", "dark"),
    ("Flat Field", "flat"), ("flat", "flat"), ("FLATFIELD", "flat"), ("Sky Flat", "flat"),
    ("dome_flat", "flat"), ("Twilight Flat", "flat"),
    ("Light Frame", "science"), ("light", "science"), ("OBJECT", "science"), ("science", "science"),
    ("focus", "unknown"), ("", "unknown"), ("flat dark", "unknown"),
])
def test_frame_kind(imagetyp, kind):
    assert io.frame_kind(imagetyp) == kind


@pytest.fixture
def night(tmp_path):
    """A folder of small frames written the way different cameras write them."""
    f = tmp_path / "night"
    f.mkdir()
    make_fits(f / "bias-1.fits", IMAGETYP="Bias Frame", EXPTIME=0.0)
    make_fits(f / "bias-2.FIT", IMAGETYP="zero", EXPOSURE=0.0)
    make_fits(f / "dark-1.fts", np.zeros((5, 7), np.float32), IMAGETYP="DARK", ITIME=120.0)
    make_fits(f / "flat-b-1.fits", IMAGETYP="Flat Field", FILTER1="B", EXPTIME=3.0)
    make_fits(f / "flat-v-1.fits", IMAGETYP="sky_flat", FILTER="V", EXPTIME=2.5)
    make_fits(f / "flat-v-2.FITS", IMAGETYP="Twilight Flat", FILTNAME="v", EXPTIME=2.5004)
    make_fits(f / "m13-r.fits", IMAGETYP="Light Frame", FILT="R", EXPTIME=60.0)
    make_fits(f / "m13-u.fits", IMAGETYP="object", INSFLNAM="U  ", EXPTIME=60.0)
    make_fits(f / "m13-v.fits", IMAGETYP="science", FILTER="V", EXPTIME=60.0)
    make_fits(f / "eso.fits", IMAGETYP="LIGHT", HIERARCH__ESO__INS__FILT1__NAME="Ha",
              EXPTIME="30.5")
    make_fits(f / "focus.fits", IMAGETYP="focus", FILTER="V", EXPTIME=1.0)
    make_fits(f / "mystery.fits")  # no IMAGETYP, no filter, no exposure time
    (f / "notes.txt").write_text("clouds after midnight")
    (f / ".bias-1.fits.1a2b.tmp").write_bytes(b"half written")
    (f / "older").mkdir()
    make_fits(f / "older" / "bias-9.fits", IMAGETYP="bias")  # not read: not recursive
    return f


def test_collect_reads_the_usual_header_spellings(night):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = collect(night)
    expected = [  # name, kind, filter, exptime, ny, nx; sorted by name
        ("bias-1.fits", "bias", "", 0.0, 4, 6),
        ("bias-2.FIT", "bias", "", 0.0, 4, 6),
        ("dark-1.fts", "dark", "", 120.0, 5, 7),
        ("eso.fits", "science", "Ha", 30.5, 4, 6),
        ("flat-b-1.fits", "flat", "B", 3.0, 4, 6),
        ("flat-v-1.fits", "flat", "V", 2.5, 4, 6),
        ("flat-v-2.FITS", "flat", "v", 2.5004, 4, 6),
        ("focus.fits", "unknown", "V", 1.0, 4, 6),
        ("m13-r.fits", "science", "R", 60.0, 4, 6),
        ("m13-u.fits", "science", "U", 60.0, 4, 6),
        ("m13-v.fits", "science", "V", 60.0, 4, 6),
        ("mystery.fits", "unknown", "", math.nan, 4, 6),
    ]
    assert list(table["name"]) == [e[0] for e in expected]
    assert list(table["kind"]) == [e[1] for e in expected]
    assert list(table["filter"]) == [e[2] for e in expected]
    np.testing.assert_allclose(table["exptime"], [e[3] for e in expected])
    assert list(table["ny"]) == [e[4] for e in expected]
    assert list(table["nx"]) == [e[5] for e in expected]
    assert list(table["path"]) == [str(night / e[0]) for e in expected]
    assert table["imagetyp"][table["name"] == "focus.fits"][0] == "focus"
    assert {"path", "name", "kind", "filter", "exptime", "ny", "nx"} <= set(table.colnames)


def test_collect_real_frames_without_warnings(tmp_path, saao, eso):
    (tmp_path / "a8280271.fits").write_bytes(saao.read_bytes())
    (tmp_path / "image.fits").write_bytes(eso.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = collect(tmp_path)
    # SAAO: IMAGETYP='object'; ESO (1992): no IMAGETYP, but ESO GEN EXPO TYPE = 'SCI'
    assert list(table["kind"]) == ["science", "science"]
    assert list(table["filter"]) == ["48", ""]  # SAAO's FILTERS = 48 (a filter number); ESO names none we know
    assert list(table["problem"]) == ["", "no filter (looked for FILTER, FILTERS, FILTER1, FILTER2, FILTNAME, "
                                      "FILT, INSFLNAM, ESO INS FILT1 NAME)"]
    np.testing.assert_allclose(table["exptime"], [150.04, 1200.0])
    assert list(zip(table["ny"], table["nx"])) == [(520, 536), (256, 256)]


def test_select(night):
    table = collect(night)
    names = lambda paths: [os.path.basename(p) for p in paths]  # noqa: E731
    assert names(select(table, kind="bias")) == ["bias-1.fits", "bias-2.FIT"]
    assert names(select(table, kind="flat", filter="v")) == ["flat-v-1.fits", "flat-v-2.FITS"]
    assert names(select(table, kind="flat", filter="V", exptime=2.5)) == ["flat-v-1.fits", "flat-v-2.FITS"]
    assert names(select(table, kind="flat", exptime=3)) == ["flat-b-1.fits"]
    assert names(select(table, kind="science", exptime=60.0)) == ["m13-r.fits", "m13-u.fits", "m13-v.fits"]
    assert names(select(table, exptime=61.0)) == []
    assert names(select(table, filter="V")) == ["flat-v-1.fits", "flat-v-2.FITS", "m13-v.fits"]
    assert names(select(table, kind="unknown")) == []        # unknown frames have a problem: never selected
    assert len(select(table)) == len(table) - 2
    stack = read_stack(select(table, kind="bias"))  # the paths feed read_stack directly
    assert stack.shape == (2, 4, 6)
    with pytest.raises(ValueError, match="unknown kind 'flats'"):
        select(table, kind="flats")


def test_collect_lists_bad_files_with_the_reason_and_goes_on(night, saao):
    (night / "z-cut.fits").write_bytes(saao.read_bytes()[:300000])  # header intact, data cut
    (night / "z-head.fits").write_bytes(saao.read_bytes()[:1000])    # header itself cut
    (night / "z-notes.fits").write_text("clouds, then rain")         # not FITS at all
    (night / "z-empty.fit").write_bytes(b"")
    table = collect(night)
    bad = table[table["kind"] == "unreadable"]
    reasons = dict(zip(bad["name"], bad["problem"]))
    assert reasons == {"z-cut.fits": "unreadable: truncated or damaged",
                       "z-head.fits": "unreadable: truncated or damaged",
                       "z-notes.fits": "unreadable: not a FITS file (it does not start with 'SIMPLE  =')",
                       "z-empty.fit": "unreadable: the file is empty"}
    assert list(bad["ny"]) == [0] * 4 and np.isnan(bad["exptime"]).all()
    assert len(table) == 16 and len(select(table, kind="bias")) == 2     # the rest goes on
    assert not any("z-" in os.path.basename(p) for p in select(table))
    with pytest.raises(OSError, match="z-cut.fits.*truncated"):          # reading it still says so
        read_frame(night / "z-cut.fits")


def test_collect_says_why_a_frame_cannot_be_used(night):
    table = collect(night)
    problem = dict(zip(table["name"], table["problem"]))
    assert problem["focus.fits"] == "IMAGETYP = 'focus' is not a bias, dark, flat or science frame"
    assert problem["mystery.fits"].startswith("no frame-type keyword (looked for IMAGETYP, OBSTYPE")
    assert problem["bias-1.fits"] == problem["m13-v.fits"] == ""


def test_collect_reads_compressed_files_in_any_case(tmp_path, saao):
    import bz2
    import gzip
    data, header = read_frame(saao)
    plain = tmp_path / "plain.fits"
    fits.PrimaryHDU(fits.getdata(saao), fits.getheader(saao)).writeto(plain)
    night = tmp_path / "night"
    night.mkdir()
    (night / "a.fits.gz").write_bytes(gzip.compress(plain.read_bytes()))
    (night / "b.FIT.GZ").write_bytes(gzip.compress(plain.read_bytes()))
    (night / "c.fits.bz2").write_bytes(bz2.compress(plain.read_bytes()))
    compressed = fits.CompImageHDU(fits.getdata(saao), fits.getheader(saao), compression_type="RICE_1")
    fits.HDUList([fits.PrimaryHDU(), compressed]).writeto(night / "d.fits.fz")
    (night / "e.gz").write_bytes(gzip.compress(b"not a frame"))          # not a FITS name: ignored
    table = collect(night)
    assert list(table["name"]) == ["a.fits.gz", "b.FIT.GZ", "c.fits.bz2", "d.fits.fz"]
    assert list(table["kind"]) == ["science"] * 4 and set(table["ny"]) == {520}
    for path in table["path"]:
        np.testing.assert_array_equal(read_frame(path)[0], data)


def _header_night(tmp_path, frames):
    night = tmp_path / "night"
    night.mkdir()
    for name, cards in frames.items():
        make_fits(night / name, **cards)
    return collect(night)


@pytest.mark.parametrize("cards, kind, band, exptime", [
    ({"OBSTYPE": "BIAS"}, "bias", "", 0.0),
    ({"DATA-TYP": "OBJECT", "FILTERS": "W-J-V", "EXPTIME": 30.0}, "science", "W-J-V", 30.0),
    ({"HIERARCH__ESO__DPR__TYPE": "FLAT,SKY", "HIERARCH__ESO__INS__FILT1__NAME": "V_Bess", "EXPTIME": 4.0},
     "flat", "V_Bess", 4.0),
    ({"HIERARCH__ESO__DPR__TYPE": "OBJECT", "HIERARCH__ESO__INS__FILT1__NAME": "Free",
      "HIERARCH__ESO__INS__FILT2__NAME": "B_Bess", "EXPTIME": 4.0}, "science", "B_Bess", 4.0),
    ({"IMAGETYP": "domeflat", "FILTER1": "Clear", "FILTER2": "R", "ITIME": 2.0}, "flat", "R", 2.0),
    ({"IMAGETYP": "twilight", "FILTER1": "B", "FILTER2": "open", "EXPOSURE": 2.0}, "flat", "B", 2.0),
    ({"IMAGETYP": "LIGHT", "FILTER": "r (530-700)", "EXPOSURE": "60 s"}, "science", "r (530-700)", 60.0),
    ({"IMAGETYP": "Dark Frame", "EXPTIME": 120}, "dark", "", 120.0),
    ({"IMAGETYP": "zero"}, "bias", "", 0.0),
    ({"IMAGETYP": "STD", "FILTNAME": "V", "EXPTIME": 10.0}, "science", "V", 10.0),
])
def test_collect_reads_the_spellings_real_cameras_use(tmp_path, cards, kind, band, exptime):
    table = _header_night(tmp_path, {"frame.fits": cards})
    assert (table["kind"][0], table["filter"][0], table["exptime"][0]) == (kind, band, exptime)
    assert table["problem"][0] == ""


def test_a_frame_without_filter_or_exposure_time_is_named_not_used(tmp_path):
    table = _header_night(tmp_path, {
        "dark-noexp.fits": {"IMAGETYP": "DARK"},
        "flat-nofilter.fits": {"IMAGETYP": "FLAT", "EXPTIME": 3.0},
        "light-noexp.fits": {"IMAGETYP": "LIGHT", "FILTER": "V", "EXPTIME": "long"},
        "light-ok.fits": {"IMAGETYP": "LIGHT", "FILTER": "V", "EXPTIME": 60.0},
        "light-negative.fits": {"IMAGETYP": "LIGHT", "FILTER": "V", "EXPTIME": -1.0},
    })
    problem = dict(zip(table["name"], table["problem"]))
    assert problem["dark-noexp.fits"] == "no exposure time (looked for EXPTIME, EXPOSURE, ITIME)"
    assert problem["light-noexp.fits"] == problem["light-negative.fits"] == problem["dark-noexp.fits"]
    assert problem["flat-nofilter.fits"].startswith("no filter (looked for FILTER, FILTERS, FILTER1")
    assert problem["light-ok.fits"] == ""
    assert [os.path.basename(p) for p in select(table)] == ["light-ok.fits"]   # never a silent NaN downstream


def test_blank_pixels_become_nan(tmp_path):
    """uint16 with BZERO and BLANK (astropy itself leaves them at 0 ADU), and int16 with BSCALE and BLANK."""
    stored = np.array([[-32768, -32668], [32767, -32763]], dtype=np.int16)   # -32768 is BLANK
    hdu = fits.PrimaryHDU(stored)
    hdu.header["BZERO"], hdu.header["BLANK"] = 32768, -32768
    hdu.writeto(tmp_path / "u16.fits")
    with fits.open(tmp_path / "u16.fits") as hdul:
        assert hdul[0].data[0, 0] == 0             # plain astropy: the dead pixel reads as 0 ADU
    data, _ = read_frame(tmp_path / "u16.fits")
    np.testing.assert_array_equal(data, [[np.nan, 100.0], [65535.0, 5.0]])

    hdu = fits.PrimaryHDU(np.array([[-32768, 100], [3, 5]], dtype=np.int16))
    hdu.header["BSCALE"], hdu.header["BZERO"], hdu.header["BLANK"] = 0.3, 1000.0, -32768
    hdu.writeto(tmp_path / "i16.fits")
    data, _ = read_frame(tmp_path / "i16.fits")
    np.testing.assert_array_equal(data, [[np.nan, 1000.0 + 0.3 * 100], [1000.0 + 0.3 * 3, 1000.0 + 0.3 * 5]])


def test_collect_missing_or_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        collect(tmp_path / "my-night")
    assert "my-night" in str(info.value) and "helpers.data.ensure()" in str(info.value)
    (tmp_path / "readme.txt").write_text("no frames here")
    with pytest.raises(ValueError) as info:
        collect(tmp_path)
    assert all(ext in str(info.value) for ext in (".fits", ".fit", ".fts"))
    with pytest.raises(NotADirectoryError):
        collect(tmp_path / "readme.txt")


@pytest.mark.parametrize("card, said", [
    (b"BITPIX  = 'sixteen'", "BITPIX  = 'sixteen' (must be a whole number)"),
    (b"EXPTIME = 1.0\x00\x00", "characters that are not printable ASCII"),
])
def test_a_header_beyond_repair_is_not_called_truncated(tmp_path, card, said):
    path = make_fits(tmp_path / "odd.fits", EXPTIME=1.0)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"BITPIX  =" if card.startswith(b"BITPIX") else b"EXPTIME =")
    raw[at:at + 80] = card.ljust(80)
    path.write_bytes(bytes(raw))
    with pytest.raises(io.UnreadableFrameError) as info:
        read_frame(path)
    message = str(info.value)
    assert "odd.fits" in message and "breaks the FITS standard beyond repair" in message and said in message
    assert "truncated" not in message.split("What to do")[0]
    with warnings.catch_warnings(record=True) as caught:   # and the file is closed, although astropy gave up
        warnings.simplefilter("always")
        assert collect(tmp_path)["problem"][0].startswith("unreadable: a header card breaks the FITS standard")
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_non_ascii_header_is_read_and_the_repair_said(tmp_path):
    path = make_fits(tmp_path / "observer.fits", OBSERVER="Jorg")
    raw = bytearray(path.read_bytes())
    at = raw.index(b"'Jorg")
    raw[at + 2] = 0xF6                       # 'J\xf6rg', as some camera software writes it
    path.write_bytes(bytes(raw))
    with pytest.warns(io.HeaderRepairWarning, match="observer.fits.*non-ASCII"):
        data, header = read_frame(path)
    assert header["OBSERVER"] == "J?rg"
    np.testing.assert_array_equal(data, np.arange(24).reshape(4, 6))
