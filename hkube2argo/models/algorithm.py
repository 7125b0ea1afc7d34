"""The HKube algorithm descriptor, in both of its shapes.

The REST API shape (``/store/algorithms``) has ``algorithmImage``, ``cpu``, ``mem``,
``entryPoint``. The hkubectl file shape has ``image``, ``resources: {cpu, mem, gpu}`` and
``code: {path, entryPoint}``. Both normalise into :class:`Algorithm` before validation,
so everything downstream sees one model (hkube-reference section 2).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from .base import HKubeModel, OpenHKubeModel
from .fields import AlgorithmName, Cores, Image, Memory

ENV_SOURCES = ("fieldRef", "configMapKeyRef", "resourceFieldRef", "secretKeyRef")


class EnvSource(HKubeModel):
    """An ``algorithmEnv`` value that is an object: becomes a Kubernetes ``valueFrom``."""

    field_ref: dict[str, Any] | None = None
    config_map_key_ref: dict[str, Any] | None = None
    resource_field_ref: dict[str, Any] | None = None
    secret_key_ref: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> EnvSource:
        given = [k for k, v in self.wire().items() if v is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(ENV_SOURCES)}")
        return self


def _env_kind(value: Any) -> str:
    return "~source" if isinstance(value, dict | EnvSource) else "~plain"


# A string becomes ``value``, an object ``valueFrom``; the discriminator keeps pydantic from
# reporting the branch that was never meant.
EnvValue = Annotated[
    Annotated[str, Tag("~plain")] | Annotated[EnvSource, Tag("~source")],
    Discriminator(_env_kind),
]


class Mount(HKubeModel):
    pvc_name: str = Field(min_length=1, max_length=63)
    path: str = Field(min_length=1)
    volume_type: Literal["emptyDir", "configMap"] | None = None


# hkubectl file shape -> REST shape: (parent key, key inside it or None, REST field)
_FILE_SHAPE = (
    ("resources", "cpu", "cpu"),
    ("resources", "mem", "mem"),
    ("resources", "gpu", "gpu"),
    ("code", "path", "codePath"),
    ("code", "entryPoint", "entryPoint"),
    ("image", None, "algorithmImage"),
)


def fold_file_shape(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[str, ...]],
                                                    list[tuple[tuple[str, ...], str]]]:
    """The REST-shaped descriptor, where each moved field came from (so errors point at the
    key the user wrote), and problems with the file shape itself."""
    out = {k: v for k, v in data.items() if k not in ("resources", "code", "image")}
    moved: dict[str, tuple[str, ...]] = {}
    problems: list[tuple[tuple[str, ...], str]] = []
    for parent, shape in (("resources", "{cpu: 0.5, mem: 512Mi}"),
                          ("code", "{path: ./src, entryPoint: main.py}")):
        value = data.get(parent)
        if value is not None and not isinstance(value, dict):
            problems.append(((parent,), f"must be an object such as {shape}"))
        elif isinstance(value, dict):
            allowed = [k for p, k, _ in _FILE_SHAPE if p == parent]
            for key in value:
                if key not in allowed:
                    problems.append(((parent, key), f"unknown key '{key}'; allowed: "
                                                    f"{', '.join(allowed)}"))
    for parent, key, field in _FILE_SHAPE:
        container = data if key is None else data.get(parent)
        name = parent if key is None else key
        if not isinstance(container, dict) or name not in container:
            continue
        origin = (parent,) if key is None else (parent, key)
        value = container[name]
        if field in out and out[field] != value:
            problems.append((origin, f"{'.'.join(origin)} conflicts with {field}: give one of "
                                     "them"))
            continue
        out[field] = value
        moved[field] = origin
    return out, moved, problems


class Algorithm(OpenHKubeModel):
    """An algorithm, normalised from either shape."""

    quiet_keys: ClassVar[frozenset[str]] = frozenset({
        "created", "modified", "auditTrail", "fileInfo", "gitRepository", "errors",
        "readme", "cpuLimits", "build", "buildId",
    })

    name: AlgorithmName
    kind: Literal["batch", "stream"] | None = None
    algorithm_image: Image | None = None
    type: Literal["Image", "Code", "Git"] | None = None
    env: Literal["nodejs", "python", "java"] | None = None
    entry_point: str | None = None
    code_path: str | None = Field(
        None, description="hkube2argo: the algorithm's code (folder, .zip or .tar.gz), from "
                          "the hkubectl file's code.path; relative to the descriptor file.")
    base_image: str | None = None
    dependency_install_cmd: str | None = None
    git_repository: dict[str, Any] | None = None
    cpu: Cores = 0.1
    gpu: float | None = Field(None, ge=0)
    mem: Memory = "256Mi"
    reserved_memory: str | None = None
    apply_cpu_limits: bool | None = None
    worker_custom_resources: dict[str, Any] | None = None
    min_hot_workers: int = Field(0, ge=0)
    max_workers: int | None = Field(None, ge=0)
    quota_guarantee: int | None = Field(None, ge=0)
    algorithm_env: dict[str, EnvValue] | None = None
    worker_env: dict[str, EnvValue] | None = None
    node_selector: dict[str, str] | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    mounts: list[Mount] | None = None
    volumes: list[dict[str, Any]] | None = None
    volume_mounts: list[dict[str, Any]] | None = None
    side_cars: list[dict[str, Any]] | None = None
    security_context: dict[str, Any] | None = None
    kai_object: dict[str, Any] | None = None
    state_type: Literal["stateless", "stateful"] | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    download_file_ext: str | None = None
    version: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_file_shape(cls, data: Any) -> Any:
        """Fold the hkubectl file shape (resources, code, image) into the REST shape."""
        if not isinstance(data, dict):
            return data
        folded, _, problems = fold_file_shape(data)
        if problems:
            raise ValueError(problems[0][1])
        return folded

    @field_validator("gpu", mode="before")
    @classmethod
    def _gpu_number(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise ValueError(f"'{value}' is not a number of GPUs") from None
        return value

    @property
    def effective_type(self) -> str:
        """HKube's rule: Code when code is given, Git for a repository, else Image."""
        if self.type:
            return self.type
        if self.code_path:
            return "Code"
        if self.git_repository:
            return "Git"
        return "Image"

    def runnable_problems(self) -> list[tuple[str, str]]:
        """(field, message) for what keeps this algorithm from running anywhere."""
        kind = self.effective_type
        if kind == "Image" and not self.algorithm_image:
            return [("algorithmImage", "no image: build it or set algorithmImage (or image), "
                                       "or give code.path for a code algorithm")]
        if kind == "Code" and not self.code_path and not self.algorithm_image:
            return [("codePath", "a Code algorithm needs code.path (its code folder or "
                                 "archive)")]
        if kind == "Git" and not self.algorithm_image:
            return [("gitRepository", "a Git algorithm runs from the image HKube builds from "
                                      "its repository: build it, or set algorithmImage")]
        if kind in ("Code", "Git") and self.env is None:
            return [("env", "env is required for code algorithms: python or nodejs")]
        return []
