"""The user's files are never at risk: no write into a folder of their frames, no read-only file replaced,
no derived file beside raw data, and errors that name the user's file.

CI runs as root, and root writes through chmod. So a read-only file is refused by an explicit check of its
permission bits (tested here as root too), and the tests that need permissions really enforced run in a
forked child that has dropped root (``_as_nobody``).
"""
import json
import os
import stat
import tempfile
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from helpers import data, io


def _frame(path, value=7, **cards):
    header = fits.Header()
    for key, val in cards.items():
        header[key] = val
    fits.PrimaryHDU(np.full((4, 5), value, dtype=np.uint16), header).writeto(path)
    return path


def _snapshot(folder):
    """Every file under ``folder`` with its bytes and permission bits."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def my_night(tmp_path):
    """A user's folder of frames, with the synthetic set's own file names."""
    night = tmp_path / "my-night"
    night.mkdir()
    _frame(night / "bias-1.fits", 300, IMAGETYP="BIAS")
    _frame(night / "dark-1.fits", 310, IMAGETYP="DARK", EXPTIME=60.0)
    _frame(night / "ngc7000-r.fits", 900, IMAGETYP="LIGHT", FILTER="R", EXPTIME=60.0)
    return night


# ----------------------------------------------------------------------------- ensure / synthesize
def test_ensure_refuses_a_folder_of_the_users_frames_and_changes_nothing(my_night):
    before = _snapshot(my_night)
    with pytest.raises(FileExistsError) as info:
        data.ensure(my_night)
    message = str(info.value)
    assert str(my_night) in message and "bias-1.fits" in message        # what and where
    assert "CCD_HANDBOOK_FRAMES" in message                               # what to do instead
    assert _snapshot(my_night) == before                                  # nothing written, nothing replaced
    with pytest.raises(FileExistsError):
        data.synthesize(my_night, seed=1, size=64, overwrite=True)       # overwrite does not change that
    assert _snapshot(my_night) == before


def test_ensure_through_ccd_handbook_data_is_refused_too(my_night, monkeypatch):
    before = _snapshot(my_night)
    monkeypatch.setenv("CCD_HANDBOOK_DATA", str(my_night))
    with pytest.raises(FileExistsError, match="CCD_HANDBOOK_FRAMES"):
        data.ensure()
    assert _snapshot(my_night) == before


def test_a_folder_of_other_files_without_manifest_is_refused(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "observing-log.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="observing-log.txt"):
        data.synthesize(folder, seed=1, size=64)
    assert [p.name for p in folder.iterdir()] == ["observing-log.txt"]


def test_a_set_only_replaces_the_files_its_manifest_lists(tmp_path):
    folder = data.synthesize(tmp_path / "set", seed=3, size=64)
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    del manifest["files"]["dark-2.fits"]            # as if the user had put their own dark-2.fits there
    manifest["generator"] = "an older generator"   # so that ensure wants to remake the set
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))
    before = (folder / "dark-2.fits").read_bytes()
    with pytest.raises(FileExistsError, match="dark-2.fits"):
        data.ensure(folder)
    assert (folder / "dark-2.fits").read_bytes() == before


def test_an_interrupted_set_is_still_ours_and_is_completed(tmp_path, monkeypatch):
    """The manifest claims the files before they are written: a run cut short leaves a set ensure can finish."""
    folder = tmp_path / "set"
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    real = data._write
    monkeypatch.setattr(data, "_write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        data.synthesize(folder, seed=5, size=64)
    monkeypatch.setattr(data, "_write", real)
    assert not data.is_current(folder)
    data.ensure(folder)
    assert data.is_current(folder)


def test_a_set_never_replaces_a_read_only_file_even_its_own(tmp_path):
    """Checked from the mode bits, so that it holds as root (CI), where chmod 444 stops no write."""
    folder = data.synthesize(tmp_path / "set", seed=3, size=64)
    locked = folder / "bias-1.fits"
    locked.chmod(0o444)
    (folder / "dark-3.fits").unlink()              # the set is incomplete, so ensure wants to remake it
    before = _snapshot(folder)
    with pytest.raises(PermissionError) as info:
        data.ensure(folder)
    assert str(locked) in str(info.value) and "read-only" in str(info.value)
    assert _snapshot(folder) == before


# ----------------------------------------------------------------------------- write_frame
def test_overwrite_never_replaces_a_read_only_file(tmp_path):
    """Checked with the permission bits, so that it holds as root too (root writes through chmod 444)."""
    path = _frame(tmp_path / "reference.fits", 5)
    path.chmod(0o444)
    before = path.read_bytes()
    with pytest.raises(PermissionError) as info:
        io.write_frame(path, np.zeros((4, 5)), overwrite=True)
    assert "reference.fits" in str(info.value) and "read-only" in str(info.value)
    assert path.read_bytes() == before and stat.S_IMODE(path.stat().st_mode) == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reference.fits"]   # no temporary left over


def test_nothing_is_written_into_a_folder_collect_read(my_night):
    io.collect(my_night)
    before = _snapshot(my_night)
    for name, overwrite in [("ngc7000-r.fits", True), ("master-bias.fits", False)]:
        with pytest.raises(PermissionError) as info:
            io.write_frame(my_night / name, np.zeros((4, 5)), overwrite=overwrite)
        assert "folder of raw frames" in str(info.value) and "derived_folder" in str(info.value)
    assert _snapshot(my_night) == before


def test_nothing_is_written_into_a_synthetic_set(tmp_path):
    folder = data.synthesize(tmp_path / "set", seed=2, size=64)
    before = _snapshot(folder)
    for target in (folder / "bias-1.fits", folder / "new.fits", folder / "m51" / "new.fits"):
        with pytest.raises(PermissionError, match="folder of raw frames"):
            io.write_frame(target, np.zeros((4, 5)), overwrite=True)
    assert _snapshot(folder) == before


# ----------------------------------------------------------------------------- derived_folder
def test_derived_files_never_land_in_the_raw_folder(tmp_path, my_night):
    synthetic = data.synthesize(tmp_path / "elsewhere" / "derived", seed=4, size=64)  # a set in a folder named derived
    out = data.derived_folder(synthetic)
    assert out != synthetic and synthetic not in out.parents
    assert data.derived_folder(data.ensure()) == data.HANDBOOK_ROOT / "data" / "derived"   # as before
    mine = data.derived_folder(my_night)
    assert mine.is_dir() and my_night not in mine.parents and mine != my_night
    assert mine.parent == data.HANDBOOK_ROOT / "data" / "derived"          # not beside the user's folder either
    assert sorted(p.name for p in my_night.parent.iterdir()) == ["elsewhere", "my-night"]   # nothing new beside it
    io.collect(my_night)
    io.write_frame(mine / "master-bias.fits", np.zeros((4, 5)), overwrite=True)   # allowed there
    assert data.derived_folder(my_night) == mine                          # the same folder every time
    mine.joinpath("master-bias.fits").unlink()
    mine.rmdir()


# ----------------------------------------------------------------------------- without root's powers
def _as_nobody(function):
    """Run ``function()`` in a forked child that has given up root; return ('ok', value) or (type, message)."""
    if os.geteuid() != 0:
        try:
            return "ok", function()
        except Exception as err:  # noqa: BLE001 - reported to the test
            return type(err).__name__, str(err)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child
        os.close(read)
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                result = ("ok", repr(function()))
            except Exception as err:  # noqa: BLE001
                result = (type(err).__name__, str(err))
            os.write(write, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return tuple(json.loads(text))


@pytest.fixture
def shared_tmp():
    """A temporary folder that an unprivileged child can enter (pytest's own tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="ccd-handbook-"))
    folder.chmod(0o755)
    yield folder
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(0o755 if path.is_dir() else 0o644)
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()


def test_a_folder_without_write_permission_is_named_not_a_temporary_file(shared_tmp):
    locked = shared_tmp / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    kind, message = _as_nobody(lambda: io.write_frame(locked / "master-bias.fits", np.zeros((4, 5))))
    assert kind == "PermissionError"
    assert "master-bias.fits" in message and "no permission to write" in message and ".tmp" not in message
    assert list(locked.iterdir()) == []


def test_a_frame_without_read_permission_is_not_called_damaged(shared_tmp):
    night = shared_tmp / "night"
    night.mkdir()
    _frame(night / "a-light.fits", IMAGETYP="LIGHT", FILTER="V", EXPTIME=10.0)
    _frame(night / "b-secret.fits", IMAGETYP="LIGHT", FILTER="V", EXPTIME=10.0).chmod(0o000)
    kind, message = _as_nobody(lambda: io.read_frame(night / "b-secret.fits"))
    assert kind == "UnreadableFrameError"
    assert "no permission to read it" in message and "truncated" not in message
    kind, problems = _as_nobody(lambda: list(io.collect(night)["problem"]))
    assert kind == "ok" and eval(problems) == ["", "unreadable: no permission to read it"]


def test_frames_put_into_the_derived_folder_itself_get_advice_not_a_bug_report(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "HANDBOOK_ROOT", tmp_path)
    inside = tmp_path / "data" / "derived"
    inside.mkdir(parents=True)
    with pytest.raises(ValueError, match="Move the frames to a folder of their own"):
        data.derived_folder(inside)
    assert not any(inside.iterdir())
