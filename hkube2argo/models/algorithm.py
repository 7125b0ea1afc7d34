"""The HKube algorithm descriptor, in both of its shapes.

The REST API shape (``/store/algorithms``) has ``algorithmImage``, ``cpu``, ``mem``,
``entryPoint``. The hkubectl file shape has ``image``, ``resources: {cpu, mem, gpu}`` and
``code: {path, entryPoint}``. Both normalise into :class:`Algorithm` before validation,
so everything downstream sees one model (hkube-reference section 2).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

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


EnvValue = str | EnvSource


class Mount(HKubeModel):
    pvc_name: str = Field(min_length=1, max_length=63)
    path: str = Field(min_length=1)
    volume_type: Literal["emptyDir", "configMap"] | None = None


class Algorithm(OpenHKubeModel):
    """An algorithm, normalised from either shape."""

    quiet_keys: ClassVar[frozenset[str]] = frozenset({
        "created", "modified", "auditTrail", "fileInfo", "gitRepository", "errors",
        "readme", "cpuLimits",
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
        data = dict(data)
        moves: list[tuple[str, str, str]] = []
        resources = data.pop("resources", None)
        if isinstance(resources, dict):
            moves += [("resources", key, key) for key in resources]
            for key, value in resources.items():
                data.setdefault(f"resources.{key}", value)
        elif resources is not None:
            raise ValueError("resources must be an object such as {cpu: 0.5, mem: 512Mi}")
        code = data.pop("code", None)
        if isinstance(code, dict):
            for src, dst in (("path", "codePath"), ("entryPoint", "entryPoint")):
                if src in code:
                    moves.append(("code", src, dst))
                    data.setdefault(f"code.{src}", code[src])
            unknown = sorted(set(code) - {"path", "entryPoint"})
            if unknown:
                raise ValueError(f"code has unknown key(s) {', '.join(unknown)}; "
                                 "allowed: path, entryPoint")
        elif code is not None:
            raise ValueError("code must be an object such as {path: ./src, entryPoint: main.py}")
        if "image" in data:
            moves.append(("", "image", "algorithmImage"))
        for parent, src, dst in moves:
            key = f"{parent}.{src}" if parent else src
            value = data.pop(key)
            if dst in data and data[dst] != value:
                where = f"{parent}.{src}" if parent else src
                raise ValueError(f"{where} conflicts with {dst}: give one of them")
            data[dst] = value
        return data

    @field_validator("gpu", mode="before")
    @classmethod
    def _gpu_number(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise ValueError(f"'{value}' is not a number of GPUs") from None
        return value

    @model_validator(mode="after")
    def _runnable(self) -> Algorithm:
        kind = self.effective_type
        if kind == "Image" and not self.algorithm_image:
            raise ValueError("give algorithmImage (or image) for an image algorithm, "
                             "or code.path for a code algorithm")
        if kind == "Code" and not self.code_path and not self.algorithm_image:
            raise ValueError("a Code algorithm needs code.path (its code folder or archive)")
        if kind in ("Code", "Git") and self.env is None:
            raise ValueError("env is required for code algorithms: python or nodejs")
        return self

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
