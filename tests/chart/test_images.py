"""The runtime images' Dockerfiles (images/), checked as text: nothing can be built or pulled
on the machines this project is developed on (no container runtime, no image registry)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
import yaml

from hkube2argo import config

from .chart import CHART, ROOT

IMAGES = ROOT / "images"
DOCKERFILES = {
    "python": IMAGES / "runtime-python" / "Dockerfile",
    "nodejs": IMAGES / "runtime-nodejs" / "Dockerfile",
}
VALUES = yaml.safe_load((CHART / "values.yaml").read_text())


def _lines(path: Path) -> list[str]:
    """Instructions with continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


@pytest.mark.parametrize("env", sorted(DOCKERFILES))
def test_base_images_are_pinned(env: str) -> None:
    lines = _lines(DOCKERFILES[env])
    args = dict(re.findall(r"^ARG (\w+_IMAGE)=(\S+)$", "\n".join(lines), re.M))
    assert args, "base images are given as ARG defaults"
    for image in args.values():
        tag = image.partition(":")[2]
        assert re.fullmatch(r"\d+\.\d+\.\d+-[a-z-]+", tag), f"{image}: pin a full version tag"
        assert "latest" not in tag
    for line in lines:
        if line.startswith("FROM "):
            base = line.split()[1]
            assert base.startswith("${") and base.strip("${}") in args, line
    # Python 3.11, as pyproject's requires-python; Node.js 20 for JavaScript algorithms.
    assert args["PYTHON_IMAGE"].startswith("python:3.11.")
    if env == "nodejs":
        assert args["NODE_IMAGE"].startswith("node:20.")


@pytest.mark.parametrize("env", sorted(DOCKERFILES))
def test_runs_as_a_non_root_user(env: str) -> None:
    users = [line.split()[1] for line in _lines(DOCKERFILES[env]) if line.startswith("USER ")]
    assert users, "no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, "numeric non-root uid, so runAsNonRoot can verify it"
    assert gid.isdigit() and int(gid) != 0


@pytest.mark.parametrize("env", sorted(DOCKERFILES))
def test_installs_this_package_without_dependencies(env: str) -> None:
    text = "\n".join(_lines(DOCKERFILES[env]))
    assert "COPY pyproject.toml README.md ./" in text
    assert "COPY hkube2argo ./hkube2argo" in text
    assert re.search(r"pip wheel [^\n]*--no-deps", text)
    assert re.search(r"pip install [^\n]*--no-deps [^\n]*/wheels/\*\.whl", text)
    assert 'ENTRYPOINT ["python", "-m", "hkube2argo.runtime"]' in text


@pytest.mark.parametrize("env", sorted(DOCKERFILES))
def test_build_command_in_the_dockerfile_makes_the_chart_image(env: str) -> None:
    image = VALUES["runtime"]["images"][env]
    assert image == config.DEFAULT.runtime_image(env)
    command = f"docker build -f images/runtime-{env}/Dockerfile -t {image} ."
    assert command in DOCKERFILES[env].read_text()


def test_readme_build_commands_make_the_chart_images() -> None:
    readme = (IMAGES / "README.md").read_text()
    repo = re.search(r"^REPO=(\S+)", readme, re.M).group(1)
    version = re.search(r"^VERSION=(\S+)", readme, re.M).group(1)
    for env in DOCKERFILES:
        assert f"{repo}/runtime-{env}:{version}" == VALUES["runtime"]["images"][env]
        assert (
            f"docker build -f images/runtime-{env}/Dockerfile -t $REPO/runtime-{env}:$VERSION ."
            in readme
        )


def test_the_copied_files_make_a_package_with_every_module() -> None:
    """The wheel stage copies pyproject.toml, README.md and hkube2argo/ only: pyproject's
    package discovery must pick up every package under hkube2argo/ (the runtime wrapper
    included) and every data file, and require the Python of the base images. (Building the
    wheel here would need setuptools>=68 from the network: the image build does that.)"""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["readme"] == "README.md"
    assert project["project"]["requires-python"] == ">=3.11"
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {
        p.parent.relative_to(ROOT).as_posix().replace("/", ".")
        for p in (ROOT / "hkube2argo").rglob("__init__.py")
    }
    # setuptools' find_packages(include=...) matches dotted names with fnmatch patterns.
    found = {p for p in packages if any(fnmatchcase(p, pattern) for pattern in include)}
    assert "hkube2argo" in found
    assert found == packages, sorted(packages - found)
    # Files other than modules (a Node.js shim of the wrapper, say) reach the image only if
    # package-data lists them.
    data = project["tool"]["setuptools"].get("package-data", {}).get("hkube2argo", [])
    others = [
        p.relative_to(ROOT / "hkube2argo").as_posix()
        for p in (ROOT / "hkube2argo").rglob("*")
        if p.is_file() and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts
    ]
    missing = [f for f in others if not any(fnmatchcase(f, pattern) for pattern in data)]
    assert missing == [], f"add to [tool.setuptools.package-data] hkube2argo: {missing}"


def test_dockerignore_keeps_what_the_images_copy() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert not ignored & {"pyproject.toml", "README.md", "hkube2argo"}


def test_the_wrapper_runs_from_a_no_deps_install(tmp_path: Path) -> None:
    """The images install the package with --no-deps: `python -m hkube2argo.runtime` and every
    runtime module must work with the standard library alone (-I -S: no site-packages)."""
    shutil.copytree(
        ROOT / "hkube2argo", tmp_path / "hkube2argo", ignore=shutil.ignore_patterns("__pycache__")
    )
    modules = sorted(
        f"hkube2argo.runtime.{p.stem}"
        for p in (ROOT / "hkube2argo" / "runtime").glob("*.py")
        if p.stem not in {"__init__", "__main__"}
    )
    code = (
        "import importlib, runpy, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "sys.argv = ['python -m hkube2argo.runtime', '--help']\n"
        "runpy.run_module('hkube2argo.runtime', run_name='__main__', alter_sys=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "usage: python -m hkube2argo.runtime" in done.stdout
