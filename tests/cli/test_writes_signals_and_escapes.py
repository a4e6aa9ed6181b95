"""A hostile user: inputs are never written, the last step of a write cannot clobber, SIGTERM
cleans up like Ctrl-C, a failed write or a memory limit is one ``Error:`` line, names from files cannot
forge output."""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT, invoke, one_error


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (hidden ones too): file bytes, or None for a folder."""
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))}


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder with x.npy (6×6×2 float32), b.npz (a bias of 2) and b.txt (the same as text)."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.random((6, 6, 2)).astype(np.float32))
    np.savez(tmp_path / "b.npz", b=np.array([1.0, 2.0]))
    (tmp_path / "b.txt").write_text("1\n2\n")
    np.save(tmp_path / "k.npy", rng.random((3, 3, 2, 2)))
    return tmp_path


# --------------------------------------------------------------------------------------------
# Every file the command reads is an input, and no writer replaces it, with or without --force


@pytest.mark.parametrize(("bias", "option", "target"), [
    ("b.npz", "--save", "b.npz"),
    ("b.npz", "--save", "./b.npz"),
    ("b.txt", "--export", "b.txt"),
    ("b.txt", "--export", "./b.txt"),
])
@pytest.mark.parametrize("force", [False, True])
def test_the_bias_file_is_never_a_target(folder: Path, bias: str, option: str, target: str, force: bool) -> None:
    before = snapshot(folder)
    r = invoke("run", "x.npy", "--filters", "2", "--bias", bias, option, target, *(["--force"] * force))
    assert r.exit_code == 1, r.output
    one_error(r.stderr, "is an input file; convcli never overwrites its inputs")
    assert snapshot(folder) == before


@pytest.mark.parametrize(("read", "option", "link"), [
    (["--bias", "b.npz"], "--save", "hl.npz"),
    (["--bias", "b.txt"], "--export", "hl.txt"),
    (["--kernel", "k.npy"], "--figure", "hl.png"),
    ([], "--save", "hl.npz"),  # a hard link to the input itself
])
def test_a_hard_link_to_an_input_is_that_input(folder: Path, read: list[str], option: str, link: str) -> None:
    source = {"hl.npz": "b.npz", "hl.txt": "b.txt", "hl.png": "k.npy"}[link] if read else "x.npy"
    os.link(folder / source, folder / link)  # a hard link with the target's suffix
    before = snapshot(folder)
    r = invoke("run", "x.npy", "--filters", "2", *read, option, link, "--force")
    assert r.exit_code == 1, r.output
    one_error(r.stderr, f"{link} is an input file")
    assert snapshot(folder) == before


def test_a_map_file_that_is_an_input_is_refused(folder: Path) -> None:
    (folder / "m").mkdir()
    os.link(folder / "x.npy", folder / "m" / "filter_1.png")
    before = snapshot(folder)
    r = invoke("run", "x.npy", "--filters", "2", "--save-maps", "m", "--force")
    assert r.exit_code == 1, r.output
    one_error(r.stderr, "m/filter_1.png is an input file")
    assert snapshot(folder) == before


def test_the_last_step_refuses_an_input_too(folder: Path) -> None:
    """A writer called without check_target (a library caller) still never replaces a file the command read."""
    from convcli import reads
    from convcli.errors import SaveError
    from convcli.files import atomic

    end = reads.begin()
    try:
        reads.register(folder / "b.txt")
        before = snapshot(folder)
        with pytest.raises(SaveError, match="is an input file"):
            atomic.atomic_write(folder / "b.txt", lambda fh: fh.write(b"new"), force=True)
        assert snapshot(folder) == before
    finally:
        end()
    # outside a command nothing is registered: the same call writes
    atomic.atomic_write(folder / "b.txt", lambda fh: fh.write(b"new"), force=True)
    assert (folder / "b.txt").read_bytes() == b"new"


# --------------------------------------------------------------------------------------------
# A file that appears at the target while the command computes is not replaced without --force


def _appear_during_the_run(monkeypatch: pytest.MonkeyPatch, target: Path, content: bytes) -> None:
    """Make ``target`` appear after the checks, while the layer is computed."""
    from convcli import engine

    real = engine.run_layer

    def run_layer(*args, **kwargs):
        target.write_bytes(content)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "run_layer", run_layer)


@pytest.mark.parametrize(("option", "target"), [("--save", "out.npz"), ("--figure", "f.png"),
                                                 ("--export", "o.txt"), ("--save-maps", "m/filter_0.png")])
@pytest.mark.parametrize("links", [True, False])
def test_a_target_that_appears_meanwhile_is_left_alone(
    folder: Path, monkeypatch: pytest.MonkeyPatch, option: str, target: str, links: bool
) -> None:
    if not links:  # a file system without hard links: the O_EXCL placeholder fallback
        def no_link(src: object, dst: object) -> None:
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr("convcli.files.atomic.os.link", no_link)
    path = folder / target
    path.parent.mkdir(exist_ok=True)
    _appear_during_the_run(monkeypatch, path, b"someone else's")
    given = "m" if option == "--save-maps" else target
    r = invoke("run", "x.npy", "--filters", "2", option, given)
    assert r.exit_code == 1, r.output
    # save_maps checks its folder again before it starts (then: "exists"); the others meet it at the last step
    line = one_error(r.stderr, target)
    if option != "--save-maps":
        assert f"{target} appeared while convcli was working; it was left as it is" in line
    assert path.read_bytes() == b"someone else's"
    assert not list(folder.rglob("*.tmp"))


@pytest.mark.parametrize("links", [True, False])
def test_with_force_the_target_that_appeared_is_replaced(
    folder: Path, monkeypatch: pytest.MonkeyPatch, links: bool
) -> None:
    if not links:
        monkeypatch.setattr("convcli.files.atomic.os.link",
                            lambda src, dst: (_ for _ in ()).throw(OSError(errno.EXDEV, "Invalid cross-device link")))
    _appear_during_the_run(monkeypatch, folder / "out.npz", b"someone else's")
    r = invoke("run", "x.npy", "--filters", "2", "--save", "out.npz", "--force")
    assert r.exit_code == 0, r.output
    with np.load(folder / "out.npz") as npz:
        np.testing.assert_array_equal(npz["input"], np.load(folder / "x.npy"))


@pytest.mark.parametrize("links", [True, False])
def test_without_a_race_the_write_lands_whole(folder: Path, monkeypatch: pytest.MonkeyPatch, links: bool) -> None:
    if not links:
        monkeypatch.setattr("convcli.files.atomic.os.link",
                            lambda src, dst: (_ for _ in ()).throw(OSError(errno.EOPNOTSUPP, "Not supported")))
    r = invoke("run", "x.npy", "--filters", "2", "--save", "out.npz")
    assert r.exit_code == 0, r.output
    with np.load(folder / "out.npz") as npz:
        np.testing.assert_array_equal(npz["input"], np.load(folder / "x.npy"))
    assert oct((folder / "out.npz").stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert sorted(p.name for p in folder.iterdir()) == ["b.npz", "b.txt", "k.npy", "out.npz", "x.npy"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --------------------------------------------------------------------------------------------
# SIGTERM: the same cleanup as Ctrl-C, exit 143


_SLOW_SAVE = """
import sys, time
import numpy as np
import convcli.files.writers
def slow_write(out, a):  # the first array's (the streamed partials') first write
    out.write(b"x" * 1_000_000)  # a partial file on disk, then a long wait
    out.flush()
    time.sleep(60)
convcli.files.writers._write_flat = slow_write
from convcli.cli import app
sys.argv = ["convcli", *sys.argv[1:]]
app()
"""


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "torch", "NO_COLOR": "1"}


@pytest.mark.parametrize("args", [["--save", "out.npz"], ["--save", "out.npz", "--force"]])
def test_sigterm_during_a_save_cleans_up_and_exits_143(folder: Path, args: list[str]) -> None:
    if "--force" in args:
        (folder / "out.npz").write_bytes(b"old")
    before = snapshot(folder)
    child = subprocess.Popen([sys.executable, "-c", _SLOW_SAVE, "run", "x.npy", "-q", *args], cwd=folder,
                             env=_child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not any(p.stat().st_size >= 1_000_000 for p in folder.glob(".out.npz.*.tmp")):
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the temporary file never appeared"
            time.sleep(0.02)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 143, err
    assert err == "Error: terminated\n"
    assert snapshot(folder) == before  # no .tmp, no partial output, the old file untouched


def test_sigterm_during_a_real_save_of_a_large_file(folder: Path) -> None:
    """Unpatched: a save of about 100 MB, SIGTERM as soon as its temporary file grows."""
    np.save(folder / "big.npy", np.random.default_rng(1).random((400, 400, 8)))
    before = snapshot(folder)
    child = subprocess.Popen([sys.executable, "-m", "convcli", "run", "big.npy", "-q", "--json", "--filters", "8",
                              "--save", "out.npz"], cwd=folder, env=_child_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(folder.glob(".out.npz.*.tmp")) and child.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    if child.returncode == 0:  # the save won the race (a fast disk): then the file is whole
        pytest.skip("the save finished before SIGTERM arrived")
    assert child.returncode == 143, err
    assert err == "Error: terminated\n"
    assert snapshot(folder) == before


def test_the_sigterm_handler_is_the_callers_again_after_a_command(folder: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    assert invoke("params", "-k", "3", "--in-channels", "2", "--filters", "2").exit_code == 0
    assert signal.getsignal(signal.SIGTERM) is before


# --------------------------------------------------------------------------------------------
# Writing that fails: one Error line naming the file and the reason, no temporary file


@contextlib.contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


_WRITES = [("--save", "o.npz"), ("--figure", "o.png"), ("--export", "o.txt"), ("--save-maps", "maps")]


@pytest.mark.parametrize(("option", "name"), _WRITES)
def test_a_read_only_file_system(folder: Path, option: str, name: str) -> None:
    with _tmpfs(folder / "ro", "size=1m,ro") as ro:
        r = invoke("run", "x.npy", "--filters", "2", option, ro / name)
        assert r.exit_code == 1, r.output
        one_error(r.stderr, f"{ro / name}: could not ")
        assert "Read-only file system" in r.stderr
        assert list(ro.iterdir()) == []


@pytest.mark.parametrize(("option", "name"), _WRITES)
def test_a_full_disk(folder: Path, option: str, name: str) -> None:
    np.save(folder / "big.npy", np.random.default_rng(2).random((200, 200, 3)))
    with _tmpfs(folder / "full", "size=1m") as full:
        filler = full / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as fh:  # fill the disk to the last block
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
        r = invoke("run", "big.npy", "--filters", "8", option, full / name)
        assert r.exit_code == 1, r.output
        line = one_error(r.stderr, "No space left on device")
        assert str(full) in line
        assert list(full.rglob("*")) == [filler]  # no temporary file, no half set of maps


@pytest.mark.parametrize(("option", "name"), _WRITES)
def test_a_folder_that_refuses_new_files(folder: Path, option: str, name: str) -> None:
    """An immutable folder (chattr +i) refuses even root, unlike a chmod."""
    locked = folder / "locked"
    locked.mkdir()
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(locked)],
                                                        capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        r = invoke("run", "x.npy", "--filters", "2", option, locked / name)
        assert r.exit_code == 1, r.output
        one_error(r.stderr, f"{locked / name}: could not ")
        assert "Operation not permitted" in r.stderr
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=True)
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize("mode", [0o500, 0o600])  # read-only; no search permission
def test_a_folder_without_write_or_search_permission(folder: Path, mode: int) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions (the tmpfs and chattr cases cover this as root)")
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(mode)
    try:
        r = invoke("run", "x.npy", "--filters", "2", "--save", locked / "o.npz")
        assert r.exit_code == 1, r.output
        one_error(r.stderr, "Permission denied")
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("failure", [PermissionError(errno.EACCES, "Permission denied"),
                                     OSError(errno.ENOSPC, "No space left on device"),
                                     OSError(errno.EROFS, "Read-only file system")])
def test_the_temporary_file_failing_is_one_line(folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                failure: OSError) -> None:
    """mkstemp itself failing (it used to run outside the try)."""
    def mkstemp(*args, **kwargs):
        raise failure

    monkeypatch.setattr("convcli.files.atomic.tempfile.mkstemp", mkstemp)
    for option, name in _WRITES:
        r = invoke("run", "x.npy", "--filters", "2", option, name)
        assert r.exit_code == 1, r.output
        one_error(r.stderr, f"could not write ({failure.strerror})")


def test_an_oserror_that_slips_past_the_writers_is_one_line(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from convcli import engine

    def run_layer(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "/somewhere/file")

    monkeypatch.setattr(engine, "run_layer", run_layer)
    r = invoke("run", "x.npy", "--filters", "2")
    assert r.exit_code == 1
    assert r.stderr == "Error: /somewhere/file: Permission denied\n"


# --------------------------------------------------------------------------------------------
# Memory: the estimate respects the process's own limit; a MemoryError is one line


def test_memory_error_is_one_line(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from convcli import engine

    def run_layer(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(engine, "run_layer", run_layer)
    r = invoke("run", "x.npy", "--filters", "2")
    assert r.exit_code == 1
    # float32 is already the dtype, so it is not advised
    one_error(r.stderr, "out of memory; use fewer --filters, a smaller image or raise the limit")
    r = invoke("run", "x.npy", "--filters", "2", "--dtype", "float64")
    assert r.exit_code == 1
    one_error(r.stderr, "out of memory; use --dtype float32, fewer --filters, a smaller image or raise the limit")


def _limit_address_space(nbytes: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (nbytes, nbytes))

    return limit


@pytest.mark.parametrize(("args", "needs"), [
    (["--filters", "512"], "998×998×512 output would need 3.9 GiB"),
    (["--filters", "80", "--save", "o.npz"], "998×998×80 output would need"),
])
def test_the_estimate_respects_an_address_space_limit(folder: Path, args: list[str], needs: str) -> None:
    np.save(folder / "big.npy", np.random.default_rng(3).random((1000, 1000, 3)))
    limit = 1 << 30
    done = subprocess.run([sys.executable, "-m", "convcli", "run", "big.npy", "-q", *args], cwd=folder,
                          env=_child_env(), preexec_fn=_limit_address_space(limit), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    line = one_error(done.stderr, needs)
    assert "allowed by the process's address-space limit (ulimit -v)" in line
    assert not (folder / "o.npz").exists() and not (folder / "o.png").exists()


def test_the_estimate_counts_the_figures_maps(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory for the output, but not for the --figure's panels (maps this small: each filter's
    (H', W', Cg) partial maps themselves) and its picture."""
    from convcli import engine
    from convcli.engine import tiles
    from convcli.figure import budget
    from convcli.pipeline import memory

    np.save(folder / "m.npy", np.random.default_rng(4).random((100, 100, 3)))
    ho = wo = 98
    # float64 pre-activation and output, and the engine's block buffers (engine.run_bytes)
    run = 2 * ho * wo * 8 * 4 + 4 * tiles.THREADS * tiles.TILE_VALUES * 8
    maps = ho * wo * 3 * 4 * 8  # 4 shown filters' partial maps
    layer = engine.prepare(np.zeros((100, 100, 3)), np.zeros((3, 3, 3, 4)), dtype=np.float64)
    figure = budget.figure_bytes(layer, "linear", 4, 1920)
    assert figure >= maps
    avail = int((run + figure // 2) / 0.8)  # enough for the run alone, not with the figure
    monkeypatch.setattr(memory, "available_bytes", lambda: (avail, "free"))
    args = ["run", "m.npy", "--filters", "4", "--filter", "0-3", "--dtype", "float64", "-q"]
    assert invoke(*args).exit_code == 0
    r = invoke(*args, "--figure", "o.png")
    assert r.exit_code == 1, r.output
    one_error(r.stderr, f"the 98×98×4 output and the 4 rows of --figure would need "
                         f"{(run + figure) / 2**30:.1f} GiB but only {avail / 2**30:.1f} GiB is free")
    assert not (folder / "o.png").exists()


def test_available_memory_is_the_lower_of_free_and_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from convcli.pipeline import memory

    monkeypatch.setattr(memory, "free_bytes", lambda: 8 << 30)
    monkeypatch.setattr(memory, "address_space_left", lambda: 1 << 30)
    assert memory.available_bytes() == (1 << 30, "allowed by the process's address-space limit (ulimit -v)")
    monkeypatch.setattr(memory, "address_space_left", lambda: None)
    assert memory.available_bytes() == (8 << 30, "free")
    monkeypatch.setattr(memory, "free_bytes", lambda: None)
    assert memory.available_bytes() is None
    memory.ensure_fits(10**15, "x", "y")  # nothing known: nothing refused


def test_address_space_left_reads_the_limit() -> None:
    from convcli.pipeline import memory

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    code = ("import resource; from convcli.pipeline import memory; "
            "resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30)); print(memory.address_space_left())")
    done = subprocess.run([sys.executable, "-c", code], env=_child_env(), capture_output=True, text=True, check=True)
    left = int(done.stdout)
    assert 0 < left < 8 << 30  # the limit less what the process has mapped already
    assert memory.address_space_left() is None or soft != resource.RLIM_INFINITY


# --------------------------------------------------------------------------------------------
# Names from files: escaped, one line, never markup


_FORGED = "a\nError: forged\x1b[31m[bold red]x"


def test_member_names_cannot_forge_an_error_line(folder: Path) -> None:
    np.savez(folder / "names.npz", **{_FORGED: np.ones((4, 4)), "b\r\x07": np.ones((4, 4))})
    r = invoke("run", "names.npz")
    assert r.exit_code == 1
    line = one_error(r.stderr, "names.npz holds 2 arrays")
    assert "\x1b" not in r.stderr and "\r" not in r.stderr and "\x07" not in r.stderr
    assert "a\\nError: forged\\x1b[31m[bold red]x" in line
    assert "b\\r\\x07" in line


def test_a_member_name_in_the_header_is_escaped_and_not_markup(folder: Path) -> None:
    np.savez(folder / "one.npz", **{_FORGED: np.ones((4, 4, 2))})
    r = invoke("run", "one.npz", "--filters", "1", columns=200)
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.stdout
    assert "[bold red]x" in r.stdout  # shown as it is, not taken as markup
    assert "Error: forged" not in r.stdout.replace("\\nError: forged", "")


def test_a_path_with_markup_and_control_characters_is_shown_as_it_is(folder: Path) -> None:
    name = "[red]o\x1bk.npz"
    r = invoke("run", "x.npy", "--filters", "2", "--save", name, columns=200)
    assert r.exit_code == 0, r.output
    assert "saved [red]o\\x1bk.npz: bias, input" in r.stderr  # saved lines on stderr
    assert "\x1b" not in r.stdout + r.stderr
    assert (folder / name).exists()


@pytest.mark.parametrize(("text", "shown"), [
    ("plain · ünïcode 名前", "plain · ünïcode 名前"),
    ("a\nb", "a\\nb"),
    ("\x1b[31m", "\\x1b[31m"),
    ("\r\t\x00\x7f\x9b", "\\r\\t\\x00\\x7f\\x9b"),
    ("line\u2028sep\u202eRTL", "line\\u2028sep\\u202eRTL"),
    ("[bold]not markup[/bold]", "[bold]not markup[/bold]"),
])
def test_shown_escapes_control_characters(text: str, shown: str) -> None:
    from convcli.text import shown as escape

    assert escape(text) == shown
    assert escape(Path("d") / text) == f"d/{shown}"


def test_a_target_that_cannot_even_be_looked_at_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder on the way without search permission: stat fails with EACCES (as root only by a patch)."""
    from convcli.errors import SaveError
    from convcli.files import targets

    def is_dir(self: Path) -> bool:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "is_dir", is_dir)
    with pytest.raises(SaveError, match=r"^locked/o\.npz: cannot be written \(Permission denied\)$"):
        targets.check_target("locked/o.npz", force=False)
