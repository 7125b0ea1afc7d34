"""`helm lint` (Helm's own linter, through helm-python-sdk) passes on the chart."""

from __future__ import annotations

from typing import Any

import helm_python
import pytest

from .chart import CHART, NAMESPACE, VALUE_SETS

INFO, WARNING, ERROR = 1, 2, 3
# The only finding allowed: the dependency charts are fetched by `helm dependency update`,
# which needs the network, so they are never present here.
MISSING_DEPENDENCIES = (
    "chart directory is missing these dependencies: argo-workflows,argo-events,minio"
)


def _findings(report: dict[str, Any], severity: int) -> list[str]:
    return [m["error"] for m in report["messages"] if m["severity"] == severity]


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_lint_is_clean(name: str) -> None:
    report = helm_python.lint(CHART, VALUE_SETS[name][1], namespace=NAMESPACE)
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    assert _findings(report, ERROR) == []
    assert _findings(report, WARNING) == [MISSING_DEPENDENCIES]


def test_lint_reports_a_bad_value() -> None:
    report = helm_python.lint(CHART, {"runtime": {"imagePullPolicy": "Sometimes"}})
    assert any("/runtime/imagePullPolicy" in e for e in report["errors"]), report


def test_chart_metadata_declares_the_official_dependencies() -> None:
    with helm_python.Chart.load(CHART) as chart:
        meta = chart.metadata
    assert meta["apiVersion"] == "v2"
    deps = {d["name"]: d for d in meta["dependencies"]}
    assert set(deps) == {"argo-workflows", "argo-events", "minio"}
    assert deps["argo-workflows"]["repository"] == "https://argoproj.github.io/argo-helm"
    assert deps["argo-events"]["repository"] == "https://argoproj.github.io/argo-helm"
    assert deps["minio"]["repository"] == "https://charts.min.io/"
    for name, dep in deps.items():
        assert dep["condition"] == f"{name}.enabled"
        assert dep["version"][0].isdigit(), "pin an exact version"
