"""The on-disk compilation cache of :mod:`tsrnn._config`, in fresh processes.

Each test copies the package's sources to a temporary folder and runs a tiny LSTM in a
subprocess that imports that copy, with HOME and TMPDIR pointing at folders of the test's own,
and ``NUMBA_CACHE_DIR``/``XDG_CACHE_HOME`` unset unless the test sets them.

"Read-only" must hold for the subprocess. Root ignores file permissions, and an unprivileged
user often cannot run this interpreter (a pyenv or virtualenv under /root), so as root the
subprocess stays root but first drops the capabilities that bypass permission checks
(``CAP_DAC_OVERRIDE``, ``CAP_DAC_READ_SEARCH``, ``CAP_FOWNER``) from its bounding set and
re-executes itself; it then meets the permissions like any owner. Every run reports whether it
could write to the package and HOME, so a sandbox that does not hold fails the test rather than
passing it vacuously.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tsrnn"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
CANNOT_DROP_PRIVILEGES = 77

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions"),
    pytest.mark.skipif(IS_ROOT and not sys.platform.startswith("linux"), reason="drops root's capabilities with prctl"),
]

SCRIPT = """
import json, os, tempfile
import numba
import numpy as np
import tsrnn
import tsrnn._config as config
from tsrnn import kernels
from tsrnn.kernels import _cells, _cpu, _math

out = None
if os.environ["RUN_KERNEL"] == "1":
    x = np.linspace(-1.0, 1.0, 6).reshape(2, 3, 1)
    w_ih = np.linspace(-0.5, 0.5, 4).reshape(4, 1)
    w_hh = np.linspace(0.3, -0.3, 4).reshape(4, 1)
    out = kernels.lstm_forward(x, None, None, w_ih, w_hh, np.zeros(4), np.full(4, 0.1))[0].tolist()

dispatchers = {
    id(obj): obj
    for module in (_cpu, _cells, _math)
    for obj in vars(module).values()
    if isinstance(obj, numba.core.dispatcher.Dispatcher)
}


def writable(path):
    try:
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


print(json.dumps({
    "package": os.path.dirname(tsrnn.__file__),
    "cache": config.CACHE,
    "cache_dir": numba.config.CACHE_DIR,
    "out": out,
    "hits": sum(sum(d.stats.cache_hits.values()) for d in dispatchers.values()),
    "misses": sum(sum(d.stats.cache_misses.values()) for d in dispatchers.values()),
    "package_writable": writable(os.path.dirname(tsrnn.__file__)),
    "home_writable": writable(os.path.expanduser("~")),
}))
"""

# Run as root: drop the permission-bypassing capabilities for good, then run the real command.
DROP_PRIVILEGES = f"""
import ctypes, os, sys
prctl = ctypes.CDLL(None, use_errno=True).prctl
for capability in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
    if prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
        print("prctl:", os.strerror(ctypes.get_errno()), file=sys.stderr)
        sys.exit({CANNOT_DROP_PRIVILEGES})
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""


def expected_output():
    from tsrnn import kernels

    x = np.linspace(-1.0, 1.0, 6).reshape(2, 3, 1)
    w_ih = np.linspace(-0.5, 0.5, 4).reshape(4, 1)
    w_hh = np.linspace(0.3, -0.3, 4).reshape(4, 1)
    return kernels.lstm_forward(x, None, None, w_ih, w_hh, np.zeros(4), np.full(4, 0.1))[0].tolist()


class Sandbox:
    """A copy of the package, a HOME and a TMPDIR under ``root``."""

    def __init__(self, root: Path):
        self.root = root
        self.site = root / "site"
        self.home = root / "home"
        self.tmp = root / "tmp"
        shutil.copytree(PACKAGE, self.site / "tsrnn", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        self.home.mkdir()
        self.tmp.mkdir()
        self._frozen: list[Path] = []

    @property
    def fallback(self) -> Path:
        return self.tmp / f"tsrnn-numba-cache-{os.getuid()}"

    def freeze(self, *folders: Path) -> None:
        """Make ``folders`` and everything in them read-only."""
        for folder in folders:
            for path in [folder, *folder.rglob("*")]:
                mode = 0o555 if path.is_dir() else 0o444
                path.chmod(mode)
                self._frozen.append(path)

    def thaw(self) -> None:
        for path in self._frozen:
            path.chmod(stat.S_IRWXU | path.stat().st_mode)

    def files(self) -> dict[str, tuple[int, int] | None]:
        """Every path under the root, with size and mtime for files.

        Folders' mtimes are left out: ``tempfile.gettempdir`` probes TMPDIR with a file that
        it removes again.
        """
        return {
            str(path.relative_to(self.root)): None
            if stat.S_ISDIR(path.lstat().st_mode)
            else (path.lstat().st_size, path.lstat().st_mtime_ns)
            for path in self.root.rglob("*")
        }

    def run(self, run_kernel: bool = True, **env_changes: str) -> dict:
        """Import the copy in a fresh process, run a tiny LSTM unless told not to, and report."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "TSRNN_CACHE", "PYTHONPATH")
        }
        env.update(
            PYTHONPATH=str(self.site),
            HOME=str(self.home),
            TMPDIR=str(self.tmp),
            PYTHONDONTWRITEBYTECODE="1",
            RUN_KERNEL=str(int(run_kernel)),
        )
        env.update(env_changes)
        command = [sys.executable, "-c", SCRIPT]
        if IS_ROOT:
            command = [sys.executable, "-c", DROP_PRIVILEGES, *command[1:]]
        # cwd: not the checkout, whose tsrnn would shadow the copy.
        done = subprocess.run(command, env=env, cwd=self.root, capture_output=True, text=True, timeout=600)
        if done.returncode == CANNOT_DROP_PRIVILEGES:
            pytest.skip(f"running as root without CAP_SETPCAP: {done.stderr.strip()}")
        assert done.returncode == 0, done.stderr[-4000:]
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert Path(report["package"]) == self.site / "tsrnn"
        assert report["out"] == (expected_output() if run_kernel else None)
        return report


@pytest.fixture
def sandbox(tmp_path):
    box = Sandbox(tmp_path)
    yield box
    box.thaw()


def cache_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob("*") if path.suffix in (".nbi", ".nbc"))


@pytest.mark.slow
def test_read_only_package_and_home_fall_back_to_the_temp_dir(sandbox):
    sandbox.freeze(sandbox.site, sandbox.home)
    before = sandbox.files()
    report = sandbox.run()
    assert not report["package_writable"]
    assert not report["home_writable"]
    assert report["cache"] is True
    assert report["cache_dir"] == str(sandbox.fallback)
    written = sorted(set(sandbox.files()) - set(before))
    assert written, "nothing was cached"
    assert all(path.startswith(str(sandbox.fallback.relative_to(sandbox.root))) for path in written), written
    assert any(name.endswith(".nbi") for name in cache_files(sandbox.fallback))
    assert any(name.endswith(".nbc") for name in cache_files(sandbox.fallback))
    # Nobody but this user may write to a folder that Numba loads pickles from.
    assert stat.S_IMODE(sandbox.fallback.stat().st_mode) & 0o022 == 0


@pytest.mark.slow
@pytest.mark.parametrize("read_only", [True, False], ids=["read-only", "writable"])
def test_cache_off_writes_nothing(sandbox, read_only):
    if read_only:
        sandbox.freeze(sandbox.site, sandbox.home)
    before = sandbox.files()
    report = sandbox.run(TSRNN_CACHE="0")
    assert report["package_writable"] is not read_only
    assert report["cache"] is False
    assert report["hits"] == 0
    assert sandbox.files() == before


def writable_by_others(sandbox):
    sandbox.fallback.mkdir(mode=0o700)
    sandbox.fallback.chmod(0o777)


def owned_by_another_user(sandbox):
    if not IS_ROOT:
        pytest.skip("needs root to create a folder owned by another user")
    sandbox.fallback.mkdir(mode=0o700)
    os.chown(sandbox.fallback, 65534, 65534)
    sandbox.fallback.chmod(0o777)  # what an attacker would do, so that this user can write there


def regular_file(sandbox):
    sandbox.fallback.write_text("not a folder")


def symbolic_link(sandbox):
    target = sandbox.root / "elsewhere"
    target.mkdir(mode=0o700)
    sandbox.fallback.symlink_to(target, target_is_directory=True)


@pytest.mark.parametrize(
    "plant",
    [pytest.param(regular_file, marks=pytest.mark.slow), writable_by_others, owned_by_another_user, symbolic_link],
)
def test_unusable_fallback_folder_compiles_without_cache(sandbox, plant):
    # A file in the way: no cache, but the import and the kernels still work. The others: the
    # fallback folder's name is predictable, so another user could create it first and fill it
    # with cache entries (pickles) for this user's processes to load.
    sandbox.freeze(sandbox.site, sandbox.home)
    plant(sandbox)
    before = sandbox.files()
    # Compiling adds nothing to what is checked here but time, except with the file in the way.
    report = sandbox.run(run_kernel=plant is regular_file)
    assert report["cache"] is False
    assert report["cache_dir"] == ""
    assert sandbox.files() == before


@pytest.mark.slow
def test_second_process_reuses_the_cache(sandbox):
    cache_dir = sandbox.root / "numba-cache"
    first = sandbox.run(NUMBA_CACHE_DIR=str(cache_dir))
    assert first["cache"] is True
    assert first["cache_dir"] == str(cache_dir)
    assert first["misses"] > 0
    files = cache_files(cache_dir)
    assert any(name.endswith(".nbi") for name in files)
    assert any(name.endswith(".nbc") for name in files)
    snapshot = sandbox.files()

    second = sandbox.run(NUMBA_CACHE_DIR=str(cache_dir))
    assert second["misses"] == 0
    assert second["hits"] >= 1
    assert sandbox.files() == snapshot
