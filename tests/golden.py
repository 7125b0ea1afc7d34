"""The example corpus: each example pipeline with its algorithms and golden outputs.

Golden files live beside each example under ``golden/`` and are regenerated only on
purpose, with ``python -m tests.golden`` from the repository root; the tests compare
byte for byte.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from hkube2argo.compiler import compile_file
from hkube2argo.config import DEFAULT, ClusterConfig
from hkube2argo.validate import plan_pipeline

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@dataclass(frozen=True)
class Example:
    name: str
    pipeline: Path
    algorithms: Path
    namespace: str | None = None  # compile --namespace (pipeline triggers need one)
    prefix: str = ""  # several pipelines in one folder: "<stem>." names their plan/expected

    @property
    def golden(self) -> Path:
        return self.pipeline.parent / "golden"

    @property
    def golden_plan(self) -> Path:
        return self.golden / f"{self.prefix}plan.json"

    @property
    def expected(self) -> Path:
        return self.pipeline.parent / f"{self.prefix}expected.json"

    @property
    def config(self) -> ClusterConfig:
        return DEFAULT.with_overrides(namespace=self.namespace)


TRIGGERS_NAMESPACE = "pipelines"  # the chart README's install namespace


def examples() -> list[Example]:
    out = [Example("numbers", EXAMPLES / "numbers" / "numbers.yaml",
                   EXAMPLES / "numbers" / "algorithms")]
    for path in sorted(EXAMPLES.glob("*/pipeline.yaml")):
        out.append(Example(path.parent.name, path, EXAMPLES / "algorithms"))
    # examples/triggers: pipelines that start one another (and a cron trigger)
    for path in sorted((EXAMPLES / "triggers").glob("*.yaml")):
        out.append(Example(f"triggers-{path.stem}", path, EXAMPLES / "algorithms",
                           namespace=TRIGGERS_NAMESPACE, prefix=f"{path.stem}."))
    return out


def rel(path: Path) -> str:
    return os.path.relpath(path, ROOT)


def render_plan(example: Example) -> str:
    """The plan as golden JSON; paths relative to the repository root, as run from there."""
    plan = plan_pipeline(rel(example.pipeline), [rel(example.algorithms)], triggered_runs=True)
    return json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n"


def render_manifests(example: Example) -> dict[str, str]:
    """The compiled manifests (default cluster settings, plus the example's namespace) as
    golden YAML, by file name."""
    return compile_file(rel(example.pipeline), [rel(example.algorithms)], example.config).files()


def regenerate() -> None:
    os.chdir(ROOT)
    for example in examples():
        example.golden.mkdir(exist_ok=True)
        files = {example.golden_plan.name: render_plan(example), **render_manifests(example)}
        for name, text in files.items():
            (example.golden / name).write_text(text, encoding="utf-8")
            print(f"wrote {rel(example.golden / name)}")


if __name__ == "__main__":
    regenerate()
    sys.exit(0)
