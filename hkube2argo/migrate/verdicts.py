"""What each stored pipeline and algorithm becomes on Argo, and how faithfully.

A pipeline is ``exact`` when its compiled manifests do what HKube does, ``approximated``
when they run but something differs on Argo (each difference named, with what happens
instead), and ``unsupported`` when it cannot be compiled (each reason named). The list of
differences follows docs/hkube-semantics.md ("HKube options on Argo").
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..compiler import Output, compile_descriptor
from ..config import ClusterConfig
from ..cron import CronError, to_argo
from ..diagnostics import Diagnostic, ValidationFailed
from ..loading import Descriptor
from ..validate import Catalog, used_algorithms

Status = Literal["exact", "approximated", "unsupported"]
AlgorithmStatus = Literal["image", "code", "to-build", "broken", "unused"]

# Algorithm fields that steer HKube's own workers and have no counterpart in an Argo pod.
HKUBE_ONLY = {
    "minHotWorkers": lambda v: bool(v),
    "maxWorkers": lambda v: v is not None,
    "quotaGuarantee": lambda v: v is not None,
    "workerEnv": lambda v: bool(v),
    "workerCustomResources": lambda v: bool(v),
    "sideCars": lambda v: bool(v),
    "reservedMemory": lambda v: v is not None,
    "kaiObject": lambda v: bool(v),
}
WHAT_INSTEAD = {
    "minHotWorkers": "no warm workers: every task starts its own pod",
    "maxWorkers": "no per-algorithm cap on pods (Argo's parallelism is per workflow)",
    "quotaGuarantee": "no scheduling guarantee for the algorithm",
    "workerEnv": "there is no HKube worker container to receive it",
    "workerCustomResources": "there is no HKube worker container to size",
    "sideCars": "its sidecar containers are not run",
    "reservedMemory": "pods have no HKube data cache; the memory is not reserved",
    "kaiObject": "no KAI scheduler object is made",
}


@dataclass(frozen=True)
class PipelineVerdict:
    name: str
    status: Status
    reasons: tuple[str, ...]  # the differences (approximated) or the causes (unsupported)
    output: Output | None  # the compiled manifests, unless unsupported
    algorithms: tuple[str, ...]
    parents: tuple[str, ...]  # triggers.pipelines
    warnings: tuple[Diagnostic, ...] = ()
    descriptor: dict[str, Any] | None = None  # what was compiled (a sub-minute cron eased)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "reasons": list(self.reasons),
                "algorithms": list(self.algorithms), "triggeredBy": list(self.parents),
                "files": sorted(self.output.files()) if self.output else []}


@dataclass(frozen=True)
class AlgorithmVerdict:
    name: str
    status: AlgorithmStatus
    detail: str  # the image, the code, or why it cannot be used
    used_by: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail,
                "usedBy": list(self.used_by)}


def _name(desc: Descriptor) -> str:
    data = desc.data if isinstance(desc.data, dict) else {}
    return str(data.get("name") or desc.source.file)


def _cron_rewrite(data: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """HKube's cron library takes a seconds field that Argo's has not: a pattern that fires
    more than once a minute is refused by compile; here it runs once a minute instead."""
    trigger = (data.get("triggers") or {}).get("cron") if isinstance(
        data.get("triggers"), dict) else None
    pattern = trigger.get("pattern") if isinstance(trigger, dict) else None
    if not isinstance(pattern, str) or len(pattern.split()) != 6:
        return data, None
    try:
        to_argo(pattern)
        seconds = pattern.split()[0]
        return data, (f"triggers.cron '{pattern}': Argo's cron has no seconds field, so the "
                      f"CronWorkflow fires at second 0, not at second {seconds}")
    except CronError:
        per_minute = " ".join(pattern.split()[1:])
        changed = copy.deepcopy(data)
        changed["triggers"]["cron"]["pattern"] = per_minute
        return changed, (f"triggers.cron '{pattern}' fires more than once a minute in HKube; "
                         f"Argo's cron fires at most once a minute: the CronWorkflow runs "
                         f"'{per_minute}'")


def _differences(data: dict[str, Any], catalog: Catalog, known: set[str]) -> list[str]:
    out = []
    options = data.get("options") if isinstance(data.get("options"), dict) else {}
    limit = options.get("concurrentPipelines")
    if isinstance(limit, dict) and limit.get("rejectOnFailure", True):
        out.append(f"options.concurrentPipelines: HKube rejects a run over {limit.get('amount')} "
                   "running ones; Argo's semaphore queues it until one ends")
    triggers = data.get("triggers") if isinstance(data.get("triggers"), dict) else {}
    for parent in triggers.get("pipelines") or []:
        if parent not in known:
            out.append(f"triggers.pipelines: '{parent}' is not in this store, so nothing "
                       "triggers this pipeline from it")
    for name in sorted(used_algorithms(data)):
        spec = catalog.specs.get(name)
        if spec is None:
            continue
        descriptor = spec.descriptor
        for key, present in HKUBE_ONLY.items():
            if present(descriptor.get(key)):
                out.append(f"algorithm {name}: {key} is HKube's; on Argo {WHAT_INSTEAD[key]}")
    return out


def judge_pipeline(desc: Descriptor, catalog: Catalog, config: ClusterConfig,
                   known: set[str]) -> PipelineVerdict:
    """Compile one stored pipeline and say how faithful the result is."""
    data = desc.data if isinstance(desc.data, dict) else {}
    name = _name(desc)
    used = tuple(sorted(used_algorithms(data)))
    triggers = data.get("triggers") if isinstance(data.get("triggers"), dict) else {}
    parents = tuple(p for p in triggers.get("pipelines") or [] if isinstance(p, str))
    if data.get("kind") == "stream":
        return PipelineVerdict(name, "unsupported", (
            "kind: stream (HKube's streaming pipelines) has no Argo counterpart yet",),
            None, used, parents)
    rewritten, cron_note = _cron_rewrite(data)
    try:
        output = compile_descriptor(Descriptor(rewritten, desc.source), catalog, config)
    except ValidationFailed as exc:
        reasons = [f"{d.path}: {d.message}" if d.loc else d.message for d in exc.errors]
        return PipelineVerdict(name, "unsupported", tuple(dict.fromkeys(reasons)), None, used,
                               parents, tuple(d for d in exc.diagnostics
                                              if d.severity == "warning"))
    differences = _differences(data, catalog, known)
    if cron_note:
        differences.insert(0, cron_note)
    status: Status = "approximated" if differences else "exact"
    return PipelineVerdict(name, status, tuple(differences), output, used, parents,
                           output.warnings, rewritten)


def judge_algorithm(desc: Descriptor, catalog: Catalog,
                    users: Callable[[str], tuple[str, ...]]) -> AlgorithmVerdict:
    data = desc.data if isinstance(desc.data, dict) else {}
    name = _name(desc)
    used_by = users(name)
    spec = catalog.specs.get(name)
    if spec is not None:
        if spec.code_path:
            return AlgorithmVerdict(name, "code", f"{spec.env} code, packed into the bundle",
                                    used_by)
        built = (" (built by HKube from its code)"
                 if spec.descriptor.get("type") in ("Code", "Git") else "")
        return AlgorithmVerdict(name, "image", f"{spec.image}{built}", used_by)
    kind = data.get("type") or ("Git" if data.get("gitRepository") else None)
    if kind in ("Code", "Git") and not data.get("algorithmImage"):
        source = "its git repository" if kind == "Git" else "its code (not in this source)"
        return AlgorithmVerdict(name, "to-build", f"no image yet: build it from {source}, or "
                                "apply it with its code (hkube2argo algorithm apply "
                                "--code-path)", used_by)
    errors = [d.message for d, owner in catalog.owner.items() if owner == name]
    return AlgorithmVerdict(name, "broken", "; ".join(errors[:3]) or "cannot be read",
                            used_by)
