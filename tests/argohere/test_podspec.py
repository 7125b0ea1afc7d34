"""The kubelet's pod computations the argo-here pod runner copies (tools/argohere/podspec.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "argohere"))

from podspec import expand, field_value, resource_value, volume_source_path

POD = {
    "metadata": {"name": "wf-1-main", "namespace": "pipelines", "uid": "u-1",
                 "annotations": {"workflows.argoproj.io/template": '{"a":"b"}', "x": "y"},
                 "labels": {"app": "h2a"}},
    "spec": {"nodeName": "argohere", "serviceAccountName": "hkube2argo-workflow"},
    "status": {"podIP": "127.0.0.1"},
}


@pytest.mark.parametrize(("text", "want"), [
    ("$(A)-$(B)", "1-two"),
    ("$$(A)", "$(A)"),            # $$ escapes
    ("$(MISSING)", "$(MISSING)"),  # unknown names stay as written
    ("$(A", "$(A"),                # unterminated reference stays
    ("cost $5", "cost $5"),
    ("$", "$"),
    ("a$$b", "a$b"),
])
def test_expand_follows_kubernetes(text: str, want: str) -> None:
    assert expand(text, {"A": "1", "B": "two"}) == want


def test_field_refs_argo_uses() -> None:
    assert field_value(POD, "metadata.name") == "wf-1-main"
    assert field_value(POD, "metadata.namespace") == "pipelines"
    assert field_value(POD, "metadata.uid") == "u-1"
    assert field_value(POD, "spec.serviceAccountName") == "hkube2argo-workflow"
    assert field_value(POD, "metadata.annotations['x']") == "y"
    assert field_value(POD, "metadata.labels['app']") == "h2a"
    assert field_value(POD, "metadata.labels['nope']") == ""
    # the whole map: sorted key="quoted value" lines (fieldpath.FormatMap)
    assert field_value(POD, "metadata.annotations") == (
        'workflows.argoproj.io/template="{\\"a\\":\\"b\\"}"\nx="y"')
    with pytest.raises(ValueError, match="unsupported fieldRef"):
        field_value(POD, "spec.containers")


def test_resource_field_ref_rounds_up() -> None:
    ctr = {"resources": {"limits": {"memory": "512Mi", "cpu": "500m"}}}
    assert resource_value(ctr, {"resource": "limits.memory", "divisor": "1Mi"}) == "512"
    assert resource_value(ctr, {"resource": "limits.cpu"}) == "1"
    assert resource_value(ctr, {"resource": "requests.cpu", "divisor": "1m"}) == "500"


def test_missing_subpath_is_created_as_directory(tmp_path: Path) -> None:
    vol = tmp_path / "vol"
    vol.mkdir()
    src = volume_source_path(vol, {"name": "v", "mountPath": "/x", "subPath": "a/b"}, {})
    assert src == vol / "a" / "b" and src.is_dir()
    expr = {"name": "v", "mountPath": "/x", "subPathExpr": "$(POD)/in"}
    assert volume_source_path(vol, expr, {"POD": "p1"}) == vol / "p1" / "in"
    assert volume_source_path(vol, {"name": "v", "mountPath": "/x"}, {}) == vol
    with pytest.raises(ValueError, match="relative path"):
        volume_source_path(vol, {"name": "v", "mountPath": "/x", "subPath": "../etc"}, {})
