"""The Argo Workflow that builds a code algorithm's image (``algorithm apply --build``).

HKube's algorithm-builder unpacks the code to ``/hkube/algorithm-runner/algorithm_unique_folder``,
installs ``requirements.txt`` (python) or runs ``npm install`` (nodejs), or runs the
algorithm's ``dependencyInstallCmd`` instead, on top of ``baseImage`` or its default per env,
and pushes ``<registry>/<namespace>/<algorithm>:<version>`` (hkube-reference 2 and 7.1).
Here one kaniko pod (daemonless, no privileges beyond root in its container) does the same:

- the code tarball is a key-only S3 input artifact (bucket and credentials come from the
  artifact repository), which Argo unpacks into the build context ``/workspace/code``;
- the Dockerfile and the install script are raw input artifacts written by Argo, so no
  user value is ever pasted into shell text: ``baseImage`` reaches kaniko as one argument
  (``--build-arg=BASE_IMAGE=...``, checked to be one image reference), and
  ``dependencyInstallCmd`` is the whole content of ``install.sh`` (it is a command by
  definition), run with ``sh -e`` in the code folder. Argo substitutes ``{{...}}`` in both
  (it has no escape), so either is refused when it contains ``{{``;
- the registry's docker-config Secret (the chart's ``registry.secretName``) is mounted at
  ``/kaniko/.docker/config.json`` by the kubelet; no secret value is in the manifest.

**Base image.** hkube2argo's runtime wrapper runs *inside* the algorithm image with the
image's ``python3`` and needs Python >= 3.10. HKube's defaults cannot run it (``python:3.8``
is too old; ``node:18.1.0-buster-slim`` has no Python at all, and Debian buster's would be
3.7), so the default here is hkube2argo's runtime image of the env (``ClusterConfig.python_image``
/ ``nodejs_image``: Python 3.11, Node.js 20). A ``baseImage`` given by the algorithm is used
as is; when it has no ``python3`` the build installs it with apt-get or apk, and every build
ends by checking the Python version, so an unusable image fails its build, not its first run.

**Tag.** ``<code digest>-<recipe digest>``: the code pack's digest (its content version,
as in the code key) and a digest of what else goes into the image (env, base image, install
script, Dockerfile). The same code with the same recipe always has the same tag, so the
backend never builds it twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .. import naming
from ..config import LABEL_DOMAIN, ClusterConfig
from . import shapes as m
from .templates import IMAGE_CODE_DIR, EmitError, _no_tags
from .workflow import API_VERSION

BUILD_LABEL = f"{LABEL_DOMAIN}/build"
IMAGE_ANNOTATION = f"{LABEL_DOMAIN}/image"
# HKube's builder defaults, for reference: not used as defaults here (see above)
HKUBE_BASE_IMAGES = {"python": "python:3.8", "nodejs": "node:18.1.0-buster-slim"}
MIN_PYTHON = (3, 10)  # the runtime wrapper's (bytes | bytearray in isinstance, zip strict)
RUNTIME_USER = "10001:10001"  # of the runtime images (images/runtime-*/Dockerfile)
WORKSPACE = "/workspace"
DOCKER_CONFIG = "/kaniko/.docker"
BUILD_DEADLINE = 3600  # seconds
ENTRY = "build"
# One image reference (registry/name[:tag][@digest]) and nothing else: no space, no quote.
IMAGE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]*(:[A-Za-z0-9._\-]+)?(@sha256:[0-9a-f]{64})?$")
REGISTRY = re.compile(r"^[a-z0-9][a-z0-9.\-]*(:[0-9]+)?(/[a-z0-9][a-z0-9._\-]*)*$")

# python3 for the runtime wrapper when the base image lacks it: Debian/Ubuntu (an EOL Debian
# release such as buster only has archive.debian.org left) or Alpine. Static text.
_PYTHON3 = r"""RUN if ! command -v python3 >/dev/null 2>&1; then \
      if command -v apt-get >/dev/null 2>&1; then \
        (apt-get update || { sed -i -e 's|//deb.debian.org|//archive.debian.org|g' \
            -e 's|//security.debian.org|//archive.debian.org|g' -e '/-updates/d' \
            /etc/apt/sources.list && apt-get update; }) \
        && apt-get install --yes --no-install-recommends python3 \
        && rm -rf /var/lib/apt/lists/*; \
      elif command -v apk >/dev/null 2>&1; then apk add --no-cache python3; \
      else echo "hkube2argo: the base image has no python3 and neither apt-get nor apk to \
install it (the runtime wrapper needs it)" >&2; exit 1; fi; \
    fi"""

_CHECK = ('RUN python3 -c "import sys; sys.exit(0 if sys.version_info >= {v} else '
          "'hkube2argo: the runtime wrapper needs Python >= {s} in the image, found ' + "
          'sys.version.split()[0])"')


def _get(algorithm: Any, key: str) -> Any:
    """A field of an AlgorithmSpec (its descriptor) or of a REST-shaped descriptor."""
    if isinstance(algorithm, Mapping):
        return algorithm.get(key)
    descriptor = getattr(algorithm, "descriptor", None) or {}
    return descriptor.get(key)


def base_image(algorithm: Any, config: ClusterConfig) -> tuple[str, bool]:
    """(image, whether it is hkube2argo's runtime image)."""
    given = _get(algorithm, "baseImage")
    if given:
        given = _no_tags(str(given), "baseImage")
        if not IMAGE_REF.match(given):
            raise EmitError(f"baseImage '{given}' is not one image reference "
                            "(registry/name:tag, no spaces)")
        return given, False
    return config.runtime_image(_get(algorithm, "env")), True


def install_script(algorithm: Any) -> str | None:
    command = _get(algorithm, "dependencyInstallCmd")
    if command is None or not str(command).strip():
        return None
    return _no_tags(str(command), "dependencyInstallCmd").rstrip("\n") + "\n"


def dockerfile(algorithm: Any, config: ClusterConfig,
               files: Iterable[str] | None = None) -> str:
    """The Dockerfile of the build context ``/workspace`` (``code/`` = the unpacked code,
    ``h2a/install.sh`` = dependencyInstallCmd). ``files``: the code's file names; when
    given, only the installs that apply are written, else they test for the files."""
    env = _get(algorithm, "env")
    if env not in ("python", "nodejs"):
        raise EmitError(f"algorithm builds support env python and nodejs, not {env!r}")
    _, runtime = base_image(algorithm, config)
    names = None if files is None else {f.removeprefix("./") for f in files}
    manifest, install = ("requirements.txt", "python3 -m pip install --no-cache-dir "
                         "-r requirements.txt") if env == "python" else \
        ("package.json", "npm install --no-audit --no-fund")
    lines = ["# Written by hkube2argo (algorithm apply --build): HKube's algorithm-builder layout",
             "ARG BASE_IMAGE",
             "FROM ${BASE_IMAGE}"]
    if runtime:  # the runtime images run as a non-root user: install as root, then back
        lines.append("USER root")
    lines += [f"ENV ALGORITHM_PATH=algorithm_unique_folder H2A_CODE_DIR={IMAGE_CODE_DIR}",
              f"WORKDIR {IMAGE_CODE_DIR}",
              "COPY code/ ./"]
    if install_script(algorithm) is not None:
        lines += ["COPY h2a/install.sh /hkube/h2a-build/install.sh",
                  "RUN sh -e /hkube/h2a-build/install.sh"]
    elif names is None:
        lines.append(f"RUN if [ -f {manifest} ]; then {install}; fi")
    elif manifest in names:
        lines.append(f"RUN {install}")
    if not runtime:
        lines.append(_PYTHON3)
    lines.append(_CHECK.format(v=MIN_PYTHON, s=".".join(map(str, MIN_PYTHON))))
    if runtime:
        lines.append(f"USER {RUNTIME_USER}")
    return "\n".join(lines) + "\n"


def image_tag(algorithm: Any, code_digest: str, config: ClusterConfig,
              files: Iterable[str] | None = None) -> str:
    """``<code digest>-<recipe digest>`` (see the module's docstring)."""
    base, _ = base_image(algorithm, config)
    recipe = "\0".join([str(_get(algorithm, "env")), base, install_script(algorithm) or "",
                        dockerfile(algorithm, config, files)])
    return f"{code_digest[:16]}-{hashlib.sha256(recipe.encode()).hexdigest()[:8]}"


def destination(registry: str, algorithm_name: str, tag: str) -> str:
    """``<registry>/<namespace>/<algorithm>:<tag>``; ``registry`` is ``HOST/NAMESPACE``."""
    registry = registry.strip().rstrip("/")
    if not REGISTRY.match(registry):
        raise EmitError(f"registry '{registry}' is not HOST[:PORT]/NAMESPACE in lowercase "
                        "(e.g. registry.example.com/my-team, docker.io/my-user)")
    return f"{registry}/{algorithm_name}:{tag}"


def build_workflow(algorithm: Any, code_key: str, image: str, config: ClusterConfig,
                   files: Iterable[str] | None = None) -> dict[str, Any]:
    """The build Workflow of ``algorithm`` (an AlgorithmSpec or a REST-shaped descriptor),
    whose code is at ``code_key`` in the artifact repository, pushing ``image``."""
    name = str(_get(algorithm, "name") or getattr(algorithm, "name", ""))
    if not name:
        raise EmitError("the algorithm has no name")
    base, _ = base_image(algorithm, config)
    _no_tags(image, "the image")
    _no_tags(code_key, "the code key")
    if not IMAGE_REF.match(image):
        raise EmitError(f"'{image}' is not one image reference")
    script = install_script(algorithm)
    raw = [m.Artifact(name="dockerfile", path=f"{WORKSPACE}/Dockerfile",
                      raw=m.RawArtifact(data=dockerfile(algorithm, config, files)))]
    if script is not None:
        raw.append(m.Artifact(name="install", path=f"{WORKSPACE}/h2a/install.sh",
                              raw=m.RawArtifact(data=script)))
    label = naming.label_value(name)
    template = m.Template(
        name=ENTRY,
        metadata=m.Metadata(labels={BUILD_LABEL: label}),
        inputs=m.Inputs(artifacts=[
            m.Artifact(name="code", path=f"{WORKSPACE}/code", s3=m.S3Artifact(key=code_key)),
            *raw]),
        container=m.Container(
            image=config.kaniko_image,
            image_pull_policy=config.image_pull_policy,
            # kaniko's image has no shell: an argument list, one value per argument
            args=[f"--context=dir://{WORKSPACE}",
                  f"--dockerfile={WORKSPACE}/Dockerfile",
                  f"--build-arg=BASE_IMAGE={base}",
                  f"--destination={image}",
                  "--cleanup"],
            volume_mounts=[m.VolumeMount(name="registry", mount_path=DOCKER_CONFIG,
                                         read_only=True)]),
    )
    spec = m.WorkflowSpec(
        entrypoint=ENTRY,
        service_account_name=config.build_service_account,
        artifact_repository_ref=m.ArtifactRepositoryRef(
            config_map=config.artifact_repository_configmap, key=config.artifact_repository_key),
        active_deadline_seconds=BUILD_DEADLINE,
        volumes=[m.Volume(name="registry", secret=m.SecretVolumeSource(
            secret_name=config.registry_secret,
            items=[m.KeyToPath(key=".dockerconfigjson", path="config.json")]))],
        templates=[template],
    )
    meta: dict[str, Any] = {
        "generateName": f"build-{naming.dns_name(name)[:40].rstrip('-')}-",
        "labels": {BUILD_LABEL: label},
        "annotations": {IMAGE_ANNOTATION: image},
    }
    if config.namespace:
        meta["namespace"] = config.namespace
    return {"apiVersion": API_VERSION, "kind": "Workflow", "metadata": meta,
            "spec": spec.model_dump(mode="json", by_alias=True, exclude_none=True)}
