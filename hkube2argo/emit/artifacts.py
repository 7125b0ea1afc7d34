"""A task's files and the object keys behind them (key-only S3 artifacts: bucket and
credentials come from the artifact repository, never from the manifest)."""

from __future__ import annotations

from ..runtime import layout
from . import shapes as m

ROOT = layout.DEFAULT_ROOT
TASK = "{{inputs.parameters.task}}"
INDEX = "{{inputs.parameters.index}}"


def job_prefix(key_prefix: str) -> str:
    return layout.job_prefix(key_prefix, "{{workflow.name}}")


PARENT_PARAMETER = "parent-job"  # the jobId of the run that triggered this one, or ""
NO_PARENT = "none"  # a job id no run has (Argo names are lowercase DNS names)


def parent_results_key(key_prefix: str) -> str:
    return layout.job_prefix(key_prefix, f"{{{{workflow.parameters.{PARENT_PARAMETER}}}}}") + \
        f"/{layout.results_key()}"


def _s3(key: str) -> m.S3Artifact:
    return m.S3Artifact(key=key)


def spec_input(key_prefix: str) -> m.Artifact:
    return m.Artifact(name="spec", path=f"{ROOT}/{layout.SPEC_FILE}",
                      s3=_s3(f"{job_prefix(key_prefix)}/{layout.spec_key(TASK)}"))


def inbox_inputs(key_prefix: str, item: bool) -> list[m.Artifact]:
    """The shared inbox (every item reads it) and, for batch items, the item's own."""
    job = job_prefix(key_prefix)
    out = [m.Artifact(name="shared", path=f"{ROOT}/{layout.SHARED_DIR}", optional=True,
                      s3=_s3(f"{job}/{layout.inbox_shared(TASK)}"))]
    if item:
        out.append(m.Artifact(name="item", path=f"{ROOT}/{layout.ITEM_DIR}", optional=True,
                              s3=_s3(f"{job}/{layout.inbox_item(TASK, INDEX)}")))
    return out


def code_input(key: str) -> m.Artifact:
    return m.Artifact(name="code", path=f"{ROOT}/{layout.CODE_DIR}", s3=_s3(key))


def outbox_output(key_prefix: str) -> m.Artifact:
    """Everything the task wrote under ``out/``, uploaded file by file under the job prefix
    (no archive, so readers fetch single objects or prefixes)."""
    return m.Artifact(name="out", path=f"{ROOT}/{layout.OUT_DIR}", optional=True,
                      archive=m.ArchiveStrategy(none=m.NoneStrategy()),
                      s3=_s3(f"{job_prefix(key_prefix)}/"))


def count_outputs(names: list[str]) -> list[m.Parameter]:
    return [m.Parameter(name=name, value_from=m.ValueFrom(
        path=f"{ROOT}/{layout.COUNTS_DIR}/{name}", default="0")) for name in names]
