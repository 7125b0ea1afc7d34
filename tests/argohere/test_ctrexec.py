"""ctrexec.py starts a container's process in its own mount namespace: an overlay root (writes
stay private), bind-mounted volumes and subPaths, the termination-message file, workingDir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CTREXEC = Path(__file__).resolve().parents[2] / "tools" / "argohere" / "ctrexec.py"

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or os.geteuid() != 0, reason="needs root on Linux (mount namespaces)")


def run(tmp: Path, name: str, mounts: list[dict], script: str, workdir: str = "/",
        ) -> subprocess.CompletedProcess[str]:
    spec = {"root": str(tmp / name / "root"), "upper": str(tmp / name / "upper"),
            "work": str(tmp / name / "work"), "mounts": mounts, "workingDir": workdir,
            "argv": ["/bin/sh", "-c", script], "env": {"PATH": "/usr/bin:/bin", "X": "1"}}
    (tmp / f"{name}.json").write_text(json.dumps(spec))
    return subprocess.run([sys.executable, "-I", "-S", str(CTREXEC), str(tmp / f"{name}.json")],
                          capture_output=True, text=True, timeout=60)


def test_volumes_overlay_and_termination_log(tmp_path: Path) -> None:
    vol = tmp_path / "vol"
    (vol / "sub").mkdir(parents=True)
    (vol / "sub" / "in.txt").write_text("from the volume\n")
    term = tmp_path / "term"
    term.write_text("")
    private = f"/tmp/argohere-ctrexec-test-{os.getpid()}"
    script = (f"cat /data/in.txt && echo out > /data/out.txt && echo $X > {private} "
              f"&& cat {private} && pwd && echo bye > /dev/termination-log && exit 3")
    r = run(tmp_path, "c1", [
        {"source": str(vol / "sub"), "path": "/data"},
        {"source": str(vol), "path": "/ro", "readOnly": True},
        {"source": str(term), "path": "/dev/termination-log"},
    ], script, workdir="/made/here")
    assert r.returncode == 3, r.stderr
    assert r.stdout.splitlines() == ["from the volume", "1", "/made/here"]
    assert (vol / "sub" / "out.txt").read_text() == "out\n"   # volume writes are shared
    assert term.read_text() == "bye\n"
    assert not Path(private).exists()                          # root writes are private
    assert not Path("/made").exists()


def test_mount_paths_resolve_symlinks_inside_the_root(tmp_path: Path) -> None:
    """/var/run is a symlink to /run on Debian: the mount lands in the container's /run, and
    neither it nor /dev/termination-log is created on the host."""
    if not Path("/var/run").is_symlink():
        pytest.skip("/var/run is not a symlink here")
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "token").write_text("t\n")
    term = tmp_path / "term"
    term.write_text("")
    name = f"argohere-test-{os.getpid()}"
    r = run(tmp_path, "c3", [{"source": str(vol), "path": f"/var/run/{name}/sa"},
                             {"source": str(term), "path": f"/dev/{name}-log"}],
            f"cat /run/{name}/sa/token && echo m > /dev/{name}-log && ls /dev/null")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["t", "/dev/null"] and term.read_text() == "m\n"
    assert not Path(f"/run/{name}").exists() and not Path(f"/dev/{name}-log").exists()
    r = run(tmp_path, "c2", [{"source": str(vol), "path": "/ro", "readOnly": True}],
            "touch /ro/x")
    assert r.returncode != 0 and "Read-only" in r.stderr


def test_missing_command_is_a_start_error(tmp_path: Path) -> None:
    spec = {"root": str(tmp_path / "r"), "upper": str(tmp_path / "u"), "work": str(tmp_path / "w"),
            "mounts": [], "argv": ["no-such-program-here"], "env": {"PATH": "/usr/bin"}}
    (tmp_path / "s.json").write_text(json.dumps(spec))
    r = subprocess.run([sys.executable, "-I", "-S", str(CTREXEC), str(tmp_path / "s.json")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 128 and 'exec: "no-such-program-here"' in r.stderr
