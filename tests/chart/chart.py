"""Render charts/hkube2argo with Helm's own engine and validate what comes out.

Helm is the Helm 4 Go library bundled in the `helm-python-sdk` wheel (import name
`helm_python`): no helm binary, no cluster and no network. Its `render` runs the same steps
as `helm template`: values coalesced with the chart's defaults, checked against
values.schema.json, templates executed (`lookup` returns nothing, as offline).

The dependency charts (argo-workflows, argo-events, minio) are not vendored: `helm dependency
update` needs the network. So every render here is of this chart's own templates only, which
is what the chart is responsible for.
"""

from __future__ import annotations

import base64
import copy
from functools import cache
from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import kubernetes_validate
import yaml

import hkube2argo.lint

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "hkube2argo"
NAMESPACE = "pipelines"
RELEASE = "hkube2argo"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schema that
# kubernetes-validate ships.
KUBE_VERSIONS = ("1.27.0", kubernetes_validate.latest_version())

DEPS_OFF: dict[str, Any] = {
    "argo-workflows": {"enabled": False},
    "argo-events": {"enabled": False},
    "minio": {"enabled": False},
}

# Value sets rendered by the tests: (release name, values). "defaults" passes no values at all.
VALUE_SETS: dict[str, tuple[str, dict[str, Any]]] = {
    "defaults": (RELEASE, {}),
    "dependencies-disabled-minio-bundled": (
        RELEASE,
        {"argo-workflows": {"enabled": False}, "argo-events": {"enabled": False}},
    ),
    "external-s3": (
        "pipes",
        {
            **DEPS_OFF,
            "artifactRepository": {
                "endpoint": "s3.eu-west-1.amazonaws.com:443",
                "insecure": False,
                "region": "eu-west-1",
                "default": False,
            },
            "minio": {
                "enabled": False,
                "bucket": "team-pipelines",
                "credentials": {"accessKey": "AKIAEXAMPLE", "secretKey": "s3cr3t-from-values"},
            },
            "priorityClasses": {"create": False},
        },
    ),
    "custom-names-and-registry": (
        "my-minio",
        {
            "argo-workflows": {"enabled": False},
            "argo-events": {"enabled": False},
            "artifactRepository": {
                "configMap": "repos",
                "key": "team-a",
                "keyPrefix": "runs/team-a",
            },
            "minio": {
                "bucket": "team-a-data",
                "secret": {"name": "s3-creds", "accessKeyKey": "ak", "secretKeyKey": "sk"},
                "credentials": {"accessKey": "team-a-user", "rootUser": "admin"},
                "existingSecret": "s3-creds",
                "users": [
                    {
                        "accessKey": "{{ .Values.credentials.accessKey }}",
                        "existingSecret": "{{ .Values.secret.name }}",
                        "existingSecretKey": "sk",
                        "policy": "team-a",
                    }
                ],
                "policies": [
                    {
                        "name": "team-a",
                        "statements": [
                            {"resources": ["arn:aws:s3:::team-a-data/*"], "actions": ["s3:*"]}
                        ],
                    }
                ],
            },
            "serviceAccounts": {
                "workflow": {"name": "wf", "annotations": {"example.com/role": "pipelines"}},
                "sensor": {"name": "sensor"},
                "eventSource": {"name": "watcher"},
                "build": {"name": "kaniko"},
            },
            "concurrency": {"configMap": "limits", "limits": {"numbers": 2, "nightly.etl": 1}},
            "priorityClasses": {
                "prefix": "team-a-p",
                "base": 100,
                "step": 10,
                "preemptionPolicy": "PreemptLowerPriority",
            },
            "events": {
                "eventBus": "pipelines-bus",
                "jetstream": {
                    "version": "2.9.16",
                    "replicas": 5,
                    "persistence": {
                        "storageClassName": "fast",
                        "accessMode": "ReadWriteOnce",
                        "volumeSize": "10Gi",
                    },
                },
                "eventSource": {"name": "runs", "eventName": "run-updates"},
            },
            "runtime": {
                "images": {
                    "python": "registry.example.com:5000/team-a/runtime-python:1.2.3",
                    "nodejs": "registry.example.com:5000/team-a/runtime-nodejs@sha256:" + "0" * 64,
                },
                "imagePullPolicy": "Always",
            },
            "registry": {
                "registry": "registry.example.com:5000",
                "namespace": "team-a",
                "username": "builder",
                "password": "p@ss:word",
                "secretName": "push-creds",
            },
        },
    ),
    "bring-your-own-everything": (
        RELEASE,
        {
            **DEPS_OFF,
            "artifactRepository": {"create": False, "endpoint": "minio.storage:9000"},
            "minio": {"enabled": False, "secret": {"create": False}},
            "serviceAccounts": {
                "workflow": {"create": False},
                "sensor": {"create": False},
                "eventSource": {"create": False},
                "build": {"create": False},
            },
            "concurrency": {"create": False},
            "priorityClasses": {"create": False},
            "events": {"createEventBus": False, "eventSource": {"create": False}},
        },
    ),
}


@cache
def _chart() -> helm_python.Chart:
    return helm_python.Chart.load(CHART)


def render(values: dict[str, Any] | None = None, *, release: str = RELEASE) -> dict[str, str]:
    """Template path -> rendered text, exactly as Helm renders it."""
    return _chart().render(
        copy.deepcopy(values or {}), name=release, namespace=NAMESPACE, is_install=True
    )


def objects(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """Every Kubernetes object in a render (NOTES.txt left out)."""
    out: list[dict[str, Any]] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc is not None:
                out.append(doc)
    return out


def by_kind(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def merged_values(values: dict[str, Any]) -> dict[str, Any]:
    """The values an install would use (defaults coalesced with the overrides)."""
    return _chart().merge_values(copy.deepcopy(values))


def decode(secret: dict[str, Any], key: str) -> str:
    return base64.b64decode(secret["data"][key], validate=True).decode()


# --- strict validators ------------------------------------------------------------------------
# Argo and Argo Events objects: the compiler's own strict check (hkube2argo.lint, Argo's JSON
# schemas vendored in the package and closed against unknown fields, argo-notes §1.4).


def argo_events_validator(kind: str) -> jsonschema.protocols.Validator:
    return hkube2argo.lint.validator(kind)


def _errors(validator: jsonschema.protocols.Validator, doc: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(doc)
    ]


ARGO_EVENTS_KINDS = {"EventBus", "EventSource", "Sensor"}


def validation_errors(obj: dict[str, Any]) -> list[str]:
    """Strict validation of one rendered object; [] when valid."""
    if obj.get("apiVersion") == "argoproj.io/v1alpha1":
        if obj.get("kind") not in ARGO_EVENTS_KINDS:
            return [f"no schema here for argoproj.io kind {obj.get('kind')!r}"]
        return _errors(argo_events_validator(obj["kind"]), obj)
    errors = []
    for version in KUBE_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            where = "/".join(map(str, e.absolute_path)) or "<root>"
            errors.append(f"Kubernetes {version}: {where}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"Kubernetes {version}: no schema for {obj['apiVersion']} {obj['kind']}")
    return errors


def artifact_repository_errors(repository: Any) -> list[str]:
    """Argo Workflows' ArtifactRepository (the data of the artifact-repositories ConfigMap)."""
    return _errors(hkube2argo.lint.validator("ArtifactRepository"), repository)
