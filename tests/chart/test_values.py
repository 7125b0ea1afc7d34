"""values.yaml, values.schema.json and hkube2argo/config.py agree, and wrong values fail at
install time (Helm validates against the schema before rendering, as `helm install` does)."""

from __future__ import annotations

import json
import re
from typing import Any

import helm_python
import jsonschema
import pytest
import yaml

from hkube2argo import config

from .chart import CHART, DEPS_OFF, render

VALUES = yaml.safe_load((CHART / "values.yaml").read_text())
SCHEMA = json.loads((CHART / "values.schema.json").read_text())


def _at(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        assert isinstance(node, dict) and part in node, f"values.yaml has no {dotted}"
        node = node[part]
    return node


@pytest.mark.parametrize("field", sorted(config.CHART_VALUES))
def test_chart_default_equals_the_compiler_default(field: str) -> None:
    path = config.CHART_VALUES[field]
    assert _at(VALUES, path) == getattr(config.DEFAULT, field), (
        f"charts/hkube2argo/values.yaml {path} differs from ClusterConfig.{field}"
    )


def test_every_shared_value_in_values_yaml_is_checked_against_the_compiler() -> None:
    """A value marked (shared) in values.yaml must have a CHART_VALUES entry, and the other way
    round, so that a new shared name cannot drift unnoticed."""
    marked: list[str] = []
    stack: list[tuple[int, str]] = []
    for line in (CHART / "values.yaml").read_text().splitlines():
        m = re.match(r"^( *)([A-Za-z][\w-]*):", line)
        if not m:
            continue
        indent, key = len(m.group(1)), m.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        if "# (shared)" in line:
            marked.append(".".join(k for _, k in stack))
    assert sorted(marked) == sorted(config.CHART_VALUES.values())


def test_every_chart_values_path_is_in_the_schema() -> None:
    for path in config.CHART_VALUES.values():
        node = SCHEMA
        for part in path.split("."):
            node = node["properties"][part]
        assert "(shared)" in node.get("description", ""), path


def test_values_yaml_passes_its_own_schema() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert list(jsonschema.Draft7Validator(SCHEMA).iter_errors(VALUES)) == []


def test_schema_rejects_unknown_keys_everywhere() -> None:
    """Every object with listed properties forbids others; inside the dependency blocks the
    dependency charts' own top-level keys are listed (and their contents left to them)."""

    def walk(node: dict[str, Any], path: str) -> None:
        if "properties" in node:
            assert node.get("additionalProperties") is False, path or "<root>"
            for key, child in node["properties"].items():
                walk(child, f"{path}/{key}")

    walk(SCHEMA, "")
    for block, key in [
        ("minio", "persistence"),
        ("argo-workflows", "server"),
        ("argo-events", "controller"),
    ]:
        assert key in SCHEMA["properties"][block]["properties"], (block, key)


BAD_VALUES: dict[str, tuple[dict[str, Any], str]] = {
    "unknown top-level key": (
        {"artifactRepositry": {"create": True}},
        "additional properties 'artifactRepositry' not allowed",
    ),
    "misspelled nested key": (
        {"serviceAccounts": {"workflow": {"nmae": "x"}}},
        "additional properties 'nmae' not allowed",
    ),
    "wrong type": ({"priorityClasses": {"base": "high"}}, "/priorityClasses/base"),
    "pull policy not in the enum": (
        {"runtime": {"imagePullPolicy": "Sometimes"}},
        "/runtime/imagePullPolicy",
    ),
    "two JetStream replicas": (
        {"events": {"jetstream": {"replicas": 2}}},
        "/events/jetstream/replicas",
    ),
    "bucket name not S3": ({"minio": {"bucket": "My_Bucket"}}, "/minio/bucket"),
    "service account name not DNS": (
        {"serviceAccounts": {"sensor": {"name": "Sensor_SA"}}},
        "/serviceAccounts/sensor/name",
    ),
    "key prefix with a leading slash": (
        {"artifactRepository": {"keyPrefix": "/hkube2argo"}},
        "/artifactRepository/keyPrefix",
    ),
    "endpoint with a scheme": (
        {"artifactRepository": {"endpoint": "http://minio:9000"}},
        "/artifactRepository/endpoint",
    ),
    "external S3 without an endpoint": (
        {**DEPS_OFF, "minio": {"enabled": False, "credentials": {"secretKey": "12345678"}}},
        "/artifactRepository/endpoint",
    ),
    "external S3 without a secret key": (
        {**DEPS_OFF, "artifactRepository": {"endpoint": "s3:443"}, "minio": {"enabled": False}},
        "/minio/credentials/secretKey",
    ),
    "registry user without password": ({"registry": {"username": "me"}}, "/registry/password"),
    "registry password without user": ({"registry": {"password": "pw"}}, "/registry/username"),
    "concurrency limit zero": ({"concurrency": {"limits": {"numbers": 0}}}, "/concurrency/limits"),
    "concurrency key not a ConfigMap key": (
        {"concurrency": {"limits": {"my pipeline": 2}}},
        "invalid propertyName 'my pipeline'",
    ),
    "priority classes without a prefix": (
        {"priorityClasses": {"prefix": ""}},
        "/priorityClasses/prefix",
    ),
    "unknown preemption policy": (
        {"priorityClasses": {"preemptionPolicy": "Always"}},
        "/priorityClasses/preemptionPolicy",
    ),
    "runtime image with spaces": (
        {"runtime": {"images": {"python": "my image"}}},
        "/runtime/images/python",
    ),
    "dependency switch not a boolean": (
        {"argo-events": {"enabled": "yes"}},
        "/argo-events/enabled",
    ),
    "misspelled key of this chart in the minio block": (
        {"minio": {"bucekt": "x"}},
        "additional properties 'bucekt' not allowed",
    ),
    "misspelled key of a dependency chart": (
        {"argo-workflows": {"singleNamspace": True}},
        "additional properties 'singleNamspace' not allowed",
    ),
    "MinIO root password given to the MinIO chart directly": (
        {"minio": {"rootPassword": "0123456789"}},
        "/minio/rootPassword",
    ),
    "short root password": (
        {"minio": {"credentials": {"rootPassword": "short"}}},
        "/minio/credentials/rootPassword",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_bad_values_fail_on_the_schema(case: str) -> None:
    values, expected = BAD_VALUES[case]
    with pytest.raises(helm_python.HelmValuesError) as err:
        render(values)
    message = str(err.value)
    assert "values don't meet the specifications of the schema" in message
    assert expected in message, message


# Mistakes the schema cannot see (this chart's values against the MinIO chart's), caught by
# templates/checks.yaml when rendering.
BAD_COMBINATIONS: dict[str, tuple[dict[str, Any], str]] = {
    "MinIO reads another Secret": (
        {"minio": {"existingSecret": "other"}},
        "minio.existingSecret (other) must equal minio.secret.name",
    ),
    "bucket not created": (
        {"minio": {"buckets": [{"name": "elsewhere"}]}},
        'minio.buckets must contain the bucket "hkube2argo"',
    ),
    "workflows' user not created": (
        {"minio": {"users": [{"accessKey": "console", "secretKey": "console123", "policy": "x"}]}},
        'minio.users must contain the user "hkube2argo"',
    ),
    "user reads another secret key": (
        {
            "minio": {
                "users": [
                    {
                        "accessKey": "hkube2argo",
                        "existingSecret": "hkube2argo-minio",
                        "existingSecretKey": "rootPassword",
                        "policy": "hkube2argo-artifacts",
                    }
                ]
            }
        },
        "existingSecretKey must equal minio.secret.secretKeyKey (secretkey)",
    ),
    "two accounts with one name": (
        {"serviceAccounts": {"build": {"name": "hkube2argo-workflow"}}},
        "four different names",
    ),
    "policy missing": (
        {"minio": {"policies": []}},
        'minio.policies must define the policy "hkube2argo-artifacts"',
    ),
    "policy reaches another bucket": (
        {
            "minio": {
                "policies": [
                    {
                        "name": "hkube2argo-artifacts",
                        "statements": [{"resources": ["arn:aws:s3:::*"], "actions": ["s3:*"]}],
                    }
                ]
            }
        },
        'may only name the bucket "hkube2argo"',
    ),
    "one Secret key for both credentials": (
        {
            **DEPS_OFF,
            "artifactRepository": {"endpoint": "s3:443"},
            "minio": {
                "enabled": False,
                "secret": {"secretKeyKey": "accesskey"},
                "credentials": {"secretKey": "12345678"},
            },
        },
        "must differ from each other",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_COMBINATIONS))
def test_inconsistent_values_fail_when_rendering(case: str) -> None:
    values, expected = BAD_COMBINATIONS[case]
    with pytest.raises(helm_python.HelmRenderError) as err:
        render(values)
    assert expected in str(err.value), str(err.value)


def test_external_s3_needs_credentials_or_an_existing_secret() -> None:
    base = {**DEPS_OFF, "artifactRepository": {"endpoint": "s3:443"}}
    # The chart does not invent credentials for an S3 service it does not run.
    with pytest.raises(helm_python.HelmValuesError):
        render({**base, "minio": {"enabled": False}})
    rendered = render({**base, "minio": {"enabled": False, "secret": {"create": False}}})
    assert (
        "hkube2argo/templates/minio-secret.yaml" not in rendered
        or not rendered["hkube2argo/templates/minio-secret.yaml"].strip()
    )
