"""The compile stage at the edge: reads algorithm code (to address it by content), emits
the manifests, checks them strictly, serialises them."""

from __future__ import annotations

import functools
import gc
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from . import codepack, lint, serialize
from .config import DEFAULT, ClusterConfig
from .diagnostics import Diagnostic, ValidationFailed
from .emit import Manifests, compile_plan
from .emit.dag import DagTooLarge
from .emit.events import submitted_workflows
from .emit.templates import EmitError
from .jobgraph import CompileError
from .loading import Descriptor
from .plan import Plan
from .validate import Catalog, load_algorithms, one_pipeline, plan_descriptor

F = TypeVar("F", bound=Callable[..., Any])


def without_gc(func: F) -> F:
    """Runs ``func`` with the cyclic garbage collector off (restored after, also on errors).

    A compile allocates hundreds of thousands of small, acyclic objects (plan, manifests,
    YAML nodes); each allocation burst triggers collections that walk every live object,
    so a compile grew faster than its pipeline (22% of the CPU at 1,000 nodes, 42% at
    5,000: issue 17). Reference counting frees them as usual; the few cycles wait for the
    next collection after the stage."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not gc.isenabled():  # nested, or the caller turned it off
            return func(*args, **kwargs)
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            gc.enable()
    return wrapper  # type: ignore[return-value]


class ManifestInvalid(Exception):
    """The emitted manifests fail Argo's schema: a bug in hkube2argo, never the user's."""


def code_keys(plan: Plan, config: ClusterConfig) -> dict[str, str]:
    """Content-addressed object keys of the code algorithms' packed code."""
    keys = {}
    for alg in plan.algorithms:
        if alg.type == "Code" and alg.code_path:
            keys[alg.name] = codepack.code_key(config.key_prefix, alg.name,
                                               codepack.pack(alg.code_path))
    return keys


@without_gc
def compile_manifests(plan: Plan, config: ClusterConfig = DEFAULT) -> Manifests:
    """Plan -> checked manifests; problems the user can fix raise ValidationFailed."""
    missing = sorted({n.algorithm for n in plan.nodes if n.algorithm} -
                     {a.name for a in plan.algorithms})
    if missing:
        raise ValidationFailed([Diagnostic(
            f"algorithm(s) {', '.join(missing)} not given: compile needs every algorithm "
            "(-a FILE|FOLDER)", ("nodes",), plan.source)])
    try:
        manifests = compile_plan(plan, config, code_keys(plan, config))
    except (CompileError, EmitError, DagTooLarge) as exc:
        raise ValidationFailed([Diagnostic(str(exc), (), plan.source)]) from None
    # The Workflows the Sensors submit are plain objects to Argo Events' schema: check them
    # against Argo Workflows' own.
    _check_size(manifests, plan)
    problems = lint.lint([*_once(manifests.documents()),
                          *submitted_workflows(list(manifests.trigger_objects))])
    if problems:
        raise ManifestInvalid("\n".join(str(p) for p in problems))
    return manifests


# Argo keeps a Workflow in one Kubernetes object, ~1 MiB at most (etcd; the controller's
# MAX_WORKFLOW_SIZE); a run from a WorkflowTemplate also stores a copy of its spec
OBJECT_LIMIT = 1024 * 1024


def _check_size(manifests: Manifests, plan: Plan) -> None:
    """A pipeline too large for Argo fails here, in words, not at submit time."""
    stored = len(json.dumps(manifests.workflow, separators=(",", ":")).encode("utf-8"))
    if stored > OBJECT_LIMIT:
        raise ValidationFailed([Diagnostic(
            f"the compiled Workflow is {stored / 1024:.0f} KiB as Kubernetes stores it; Argo "
            f"keeps a workflow in one object of at most {OBJECT_LIMIT // 1024} KiB: split the "
            "pipeline into smaller ones (they can chain with triggers.pipelines)", ("nodes",),
            plan.source)])


def _once(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents to lint, each template list checked once: the Workflow carries the
    WorkflowTemplate's templates again, and the schema checks them the same way in both
    (linting is most of a large compile's time)."""
    seen: list[Any] = []
    out = []
    for doc in documents:
        spec = doc.get("spec") or {}
        templates = spec.get("templates")
        if templates and any(t is templates or t == templates for t in seen):
            doc = {**doc, "spec": {**spec, "templates": []}}
        elif templates:
            seen.append(templates)
        out.append(doc)
    return out


_FLOW_INPUT_PATH = re.compile(r"@?flowInput[\w.\-\[\]]*")


@dataclass(frozen=True)
class Output:
    name: str  # file stem, the pipeline's Kubernetes name
    manifests: Manifests
    warnings: tuple[Diagnostic, ...] = ()  # the descriptors' warnings, for the user to see
    # why there is no raw-run Workflow: the flowInput it needs comes at run time (a stored
    # pipeline, as HKube checks @flowInput paths only when it runs)
    no_raw_run: tuple[Diagnostic, ...] = ()

    def documents(self) -> list[dict[str, Any]]:
        docs = self.manifests.documents()
        return [d for d in docs if d is not self.manifests.workflow] if self.no_raw_run \
            else docs

    @without_gc
    def files(self) -> dict[str, str]:
        # the Workflow repeats the WorkflowTemplate's templates: written once (dump_each)
        texts = serialize.dump_each([self.manifests.workflow_template,
                                     *(() if self.no_raw_run else (self.manifests.workflow,))])
        out = {f"{self.name}.workflowtemplate.yaml": texts[0]}
        if not self.no_raw_run:
            out[f"{self.name}.workflow.yaml"] = texts[1]
        if self.manifests.cron_workflow:
            out[f"{self.name}.cronworkflow.yaml"] = serialize.dump(self.manifests.cron_workflow)
        if self.manifests.trigger_objects:
            out[f"{self.name}.triggers.yaml"] = serialize.dump_all(self.manifests.trigger_objects)
        if self.manifests.semaphore:
            out[f"{self.name}.semaphore.yaml"] = serialize.dump(self.manifests.semaphore)
        return out

    @without_gc
    def text(self) -> str:
        semaphore = [self.manifests.semaphore] if self.manifests.semaphore else []
        return serialize.dump_all([*self.documents(), *semaphore])

    def note(self) -> str | None:
        """What a person is told when the raw run was left out."""
        if not self.no_raw_run:
            return None
        found = (_FLOW_INPUT_PATH.search(d.message) for d in self.no_raw_run)
        paths = ", ".join(sorted({m.group(0).lstrip("@") for m in found if m}))
        return (f"note: no {self.name}.workflow.yaml (a raw run): its flowInput lacks what the "
                f"pipeline reads ({paths}); the WorkflowTemplate, which runs with the flowInput "
                f"given at run time, is written (hkube2argo exec stored {self.name} -f "
                "FLOWINPUT), and @flowInput paths are checked then, as HKube does")


@without_gc
def compile_file(pipeline: str | Path, algorithms: Sequence[str | Path],
                 config: ClusterConfig = DEFAULT) -> Output:
    catalog = load_algorithms(algorithms) if algorithms else None
    return compile_descriptor(one_pipeline(pipeline), catalog, config)


@without_gc
def compile_descriptor(desc: Descriptor, catalog: Catalog | None,
                       config: ClusterConfig = DEFAULT) -> Output:
    """One pipeline descriptor into its checked manifests, whatever it was read from."""
    try:
        plan, warnings = plan_descriptor(desc, catalog, triggered_runs=True)
        missing: list[Diagnostic] = []
    except ValidationFailed as failed:
        # a stored pipeline's flowInput may come at run time: when nothing but @flowInput
        # paths fail, the stored objects are still compiled, without the raw run
        try:
            plan, warnings = plan_descriptor(desc, catalog, triggered_runs=True,
                                             check_flow_input=False)
        except ValidationFailed:
            raise failed from None
        missing = failed.errors
    manifests = compile_manifests(plan, config)
    return Output(manifests.workflow_template["metadata"]["name"], manifests, tuple(warnings),
                  tuple(missing))
