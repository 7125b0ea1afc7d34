"""Container templates: one per algorithm (and per retry policy, ttl or none, batch
shape), shared by every node that runs it, plus the runtime's own steps (prepare, zip,
collect, max, results). A task says which node it is through parameters, never through
template text; so do a node's retry limit and ttl when its template's other nodes differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import naming
from ..config import ClusterConfig
from ..jobgraph import JobGraph, Task
from ..plan import AlgorithmSpec, Plan, PlanNode, thaw
from ..runtime.algorithm import EXIT_ALGORITHM_ERROR, POD_DEADLINE_MESSAGE
from ..runtime.tasks import EXIT_TOLERANCE
from . import artifacts
from . import shapes as m

IMAGE_CODE_DIR = "/hkube/algorithm-runner/algorithm_unique_folder"  # HKube builder images
RUNTIME_MOUNT = "/h2a-runtime"  # image algorithms: the wrapper, copied in by an init container
STEP_RESOURCES = {"cpu": "100m", "memory": "128Mi"}
WEBHOOKS = "webhooks"
PROGRESS = "progress"  # the progress reporter's template and hook (naming reserves it)
# HKube's logger levels: an event goes out when the requested level >= the event's
LEVELS = {"trace": 5, "debug": 4, "info": 3, "warn": 2, "error": 1, "critical": 0}
DEBUG = 4  # per-task progress events


def reports_progress(plan: Plan) -> bool:
    """Per-task progress events are wanted: a progress webhook at debug or trace level."""
    return bool(thaw(plan.webhooks).get("progress")) \
        and LEVELS[plan.options.verbosity] >= DEBUG


class EmitError(ValueError):
    """Something in the descriptor that cannot be put in a manifest safely."""


def _no_tags(value: str, what: str) -> str:
    """User text that ends up in template text must not carry Argo tags (no escape exists)."""
    if "{{" in value:
        raise EmitError(f"{what} contains '{{{{', which Argo would substitute; remove it")
    return value


def _no_tags_in(value: Any, what: str) -> None:
    """Every string inside ``value`` (a descriptor field copied into the template)."""
    if isinstance(value, str):
        _no_tags(value, what)
    elif isinstance(value, dict | tuple | list) or hasattr(value, "items"):
        items = value.items() if hasattr(value, "items") else enumerate(value)
        for key, item in items:
            _no_tags_in(item, f"{what}.{key}")


def _quantity(value: str) -> m.Quantity:
    return m.Quantity(value)


def _number(value: float) -> str:
    return f"{value:g}"


def resources(alg: AlgorithmSpec, config: ClusterConfig) -> m.ResourceRequirements:
    """Requests as HKube's algorithm asks; limits = factor x requests (HKube's default 2x).
    HKube's reservedMemory (its data cache) has no counterpart in a pod."""
    res = alg.resources
    requests = {"cpu": _number(res.cpu), "memory": res.mem}
    limits: dict[str, str] = {}
    factor = config.limit_factor
    if factor:
        if alg.descriptor.get("applyCpuLimits") is not False:
            limits["cpu"] = _number(res.cpu * factor)
        limits["memory"] = f"{res.mem_mi * factor:g}Mi"
    if res.gpu:
        requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = _number(res.gpu)
    return m.ResourceRequirements(
        requests={k: _quantity(v) for k, v in requests.items()},
        limits={k: _quantity(v) for k, v in limits.items()} or None)


def env_vars(values: Any, what: str) -> list[m.EnvVar]:
    """``algorithmEnv``: strings become values, objects Kubernetes ``valueFrom``."""
    out = []
    for name, value in sorted((values or {}).items()):
        if isinstance(value, str):
            out.append(m.EnvVar(name=name, value=_no_tags(value, f"{what}.{name}")))
        else:
            out.append(m.EnvVar(name=name, value_from=m.EnvVarSource.model_validate(thaw(value))))
    return out


def runtime_env(config: ClusterConfig) -> list[m.EnvVar]:
    return [
        m.EnvVar(name="H2A_ROOT", value=artifacts.ROOT),
        m.EnvVar(name="H2A_JOB_ID", value="{{workflow.name}}"),
        m.EnvVar(name="H2A_JOB_PREFIX", value=artifacts.job_prefix(config.key_prefix)),
        m.EnvVar(name="PYTHONUNBUFFERED", value="1"),
    ]


def retry_strategy(node: PlanNode, limit: str | None = None) -> m.RetryStrategy | None:
    """HKube's policies: OnError retries algorithm errors (the wrapper's exit code 3),
    OnCrash everything else (pod crash, OOM, eviction), Always both, Never none. A batch
    judged beyond its tolerance (exit 4) is never retried: it would fail the same way.
    ``limit``: the limit's text when it is not the node's own (a template variable).

    A ttl expiry is an algorithm error however it is detected: by the wrapper (exit 3) or,
    when the algorithm would not stop, by the kubelet at the template's
    activeDeadlineSeconds (the pod is killed: exit code 137 or none, and the node's
    message is the kubelet's, which Argo's expression sees as ``lastRetry.message``)."""
    retry = node.retry
    if retry.policy == "Never":
        return None
    code = "asInt(lastRetry.exitCode)"
    not_tolerance = f"{code} != {EXIT_TOLERANCE}"
    deadline = f"lastRetry.message == '{POD_DEADLINE_MESSAGE}'"
    expression = {
        "Always": not_tolerance,
        "OnError": f"{code} == {EXIT_ALGORITHM_ERROR} || {deadline}",
        "OnCrash": f"{code} != {EXIT_ALGORITHM_ERROR} && {not_tolerance} && "
                   f"{deadline.replace('==', '!=')}",
    }[retry.policy]
    return m.RetryStrategy(limit=m.IntOrString(limit or str(retry.limit)),
                           retry_policy="Always", expression=expression)


def deadline_seconds(node: PlanNode, grace: int) -> int | None:
    """A node's ttl as the pod's activeDeadlineSeconds: the backstop ``grace`` seconds
    (``ClusterConfig.ttl_grace``) beyond it, for an algorithm that stops even the
    wrapper's own enforcement."""
    return node.ttl + grace if node.ttl else None


def _command(mode: str, *extra: str) -> list[str]:
    return ["python3", "-m", "hkube2argo.runtime", mode, *extra]


# Argo v4's full CRDs allow 200 templates per spec. Beyond this many algorithm templates,
# algorithms share templates and each task names its own image, code and pod settings.
SHARED_THRESHOLD = 150
# A node's retry limit and ttl reach its template as these input parameters when nodes
# sharing the template differ in them (Argo substitutes inputs into retryStrategy.limit and
# activeDeadlineSeconds, both IntOrString: operator.go executeTemplate takes the retry
# strategy from the processed template, common.ProcessArgs/SubstituteParams; workflowpod.go
# reads the deadline with util/intstr Int64; test/e2e functional_test.go
# TestParametrizableLimit and TestParametrizableAds run exactly this).
RETRY_LIMIT = "retry-limit"
DEADLINE = "deadline"


@dataclass(frozen=True)
class Variant:
    """What makes two nodes need different templates: the algorithm, the kind of node,
    the retry policy, whether a ttl applies and the batch shape; in shared mode the
    algorithm is replaced by its kind of runtime. The retry limit and the ttl's value are
    not part of it: they travel as parameters when they differ (``Settings``)."""

    algorithm: str | None
    kind: str
    policy: str
    timed: bool
    fans_out: bool

    @classmethod
    def of(cls, node: PlanNode, plan: Plan | None = None) -> Variant:
        """``plan`` given: the shared-mode variant (per runtime, not per algorithm)."""
        algorithm = node.algorithm
        if plan is not None and algorithm:
            spec = plan.algorithm(algorithm)
            algorithm = f"~{spec.type}-{spec.env}" if spec else algorithm
        return cls(algorithm, node.kind, node.retry.policy, bool(node.ttl), node.fans_out)


@dataclass
class Settings:
    """The per-node values of one variant's nodes, in order of first use: the template's
    defaults are the first ones; a template variable only when there are several."""

    limits: list[int]
    deadlines: list[int]

    def add(self, node: PlanNode, grace: int) -> None:
        if node.retry.policy != "Never" and node.retry.limit not in self.limits:
            self.limits.append(node.retry.limit)
        deadline = deadline_seconds(node, grace)
        if deadline is not None and deadline not in self.deadlines:
            self.deadlines.append(deadline)


class TemplateSet:
    """Builds the templates and remembers which task runs which template."""

    def __init__(self, plan: Plan, graph: JobGraph, config: ClusterConfig,
                 code_keys: dict[str, str]):
        self.plan = plan
        self.graph = graph
        self.config = config
        self.code_keys = code_keys
        self.templates: list[m.Template] = []
        self.by_variant: dict[Variant, str] = {}
        self.names: set[str] = set()
        self.outputs: dict[Variant, set[str]] = {}
        self.settings: dict[Variant, Settings] = {}
        self.shared = False  # set by build() when algorithms must share templates

    def variant(self, node: PlanNode) -> Variant:
        return Variant.of(node, self.plan if self.shared else None)
    def _name(self, base: str) -> str:
        name, n = base, 2
        while name in self.names:
            name, n = f"{base}-v{n}", n + 1
        self.names.add(name)
        return name

    def for_task(self, task: Task) -> str:
        if task.kind == "run":
            return self.by_variant[self.variant(self.plan.node(task.node or ""))]
        return task.kind

    def task_arguments(self, task: Task, every: bool = False) -> dict[str, str]:
        """What a run task adds to its template's defaults: its retry limit and deadline
        when they are not the template's (``every``: whenever the template takes them, so
        that tasks of one template take the same arguments); in shared mode its
        algorithm's image, code and pod."""
        if task.kind != "run" or not task.node:
            return {}
        node = self.plan.node(task.node)
        out = {}
        settings = self.settings[self.variant(node)]
        if len(settings.limits) > 1 and (every or node.retry.limit != settings.limits[0]):
            out[RETRY_LIMIT] = str(node.retry.limit)
        deadline = deadline_seconds(node, self.config.ttl_grace)
        if len(settings.deadlines) > 1 and (every or deadline != settings.deadlines[0]):
            out[DEADLINE] = str(deadline)
        alg = self.plan.algorithm(node.algorithm) if node.algorithm else None
        if not self.shared or alg is None:
            return out
        out["patch"] = pod_patch(alg, self.config)
        if alg.type == "Code":
            out["code"] = self.code_keys[alg.name]
        else:
            out["image"] = _no_tags(alg.image or "", "algorithmImage")
        return out

    def build(self, shared: bool = False) -> list[m.Template]:
        """``shared``: share templates between algorithms even below the threshold (the
        spec would otherwise have more templates than Argo allows)."""
        runs = [self.plan.node(t.node or "") for t in self.graph.tasks if t.kind == "run"]
        self.shared = shared or len({Variant.of(n) for n in runs}) > SHARED_THRESHOLD
        for task in self.graph.tasks:
            if task.kind == "run":
                node = self.plan.node(task.node or "")
                self.outputs.setdefault(self.variant(node), set()).update(task.outputs)
                self.settings.setdefault(self.variant(node), Settings([], [])).add(
                    node, self.config.ttl_grace)
        for task in self.graph.tasks:
            if task.kind == "run":
                node = self.plan.node(task.node or "")
                variant = self.variant(node)
                if variant not in self.by_variant:
                    if self.shared and node.algorithm:
                        alg = self.plan.algorithm(node.algorithm)
                        base = f"alg-shared-{(alg.type if alg else 'code').lower()}"
                    else:
                        base = f"alg-{naming.task_name(node.algorithm)}" if node.algorithm \
                            else "output"
                    self.by_variant[variant] = self._name(base)
                    make = self.shared_template if self.shared and node.algorithm \
                        else self.algorithm_template
                    self.templates.append(make(self.by_variant[variant], node,
                                               sorted(self.outputs[variant])))
        kinds = {t.kind for t in self.graph.tasks}
        steps = [self.prepare_template(), self.results_template()]
        if self.plan.webhooks:
            steps.append(self.webhook_template())
        if reports_progress(self.plan):
            steps.append(self.progress_template())
        if "zip" in kinds:
            steps.append(self.step("zip", _command("zip"), outputs=["count"]))
        if "collect" in kinds:
            steps.append(self.step("collect", _command("collect", "--total",
                                                       "{{inputs.parameters.total}}"),
                                   outputs=["count"], params=["total"]))
        if "max" in kinds:
            steps.append(self.step("max", _command("max", "--values",
                                                   "{{inputs.parameters.values}}"),
                                   outputs=["count"], params=["values"], spec=False))
        return self.templates + steps

    def algorithm_template(self, name: str, node: PlanNode, outputs: list[str]) -> m.Template:
        alg = self.plan.algorithm(node.algorithm) if node.algorithm else None
        inputs = [artifacts.spec_input(self.config.key_prefix),
                  *artifacts.inbox_inputs(self.config.key_prefix, node.fans_out)]
        env = runtime_env(self.config)
        volumes: list[m.Volume] = []
        mounts: list[m.VolumeMount] = []
        init: list[m.UserContainer] = []
        metadata = None
        node_selector = None
        if alg is None:  # an output node: the runtime echoes its input
            image = self.config.python_image
            requests = m.ResourceRequirements(requests={k: _quantity(v)
                                                        for k, v in STEP_RESOURCES.items()})
        else:
            desc = alg.descriptor
            requests = resources(alg, self.config)
            env += env_vars(desc.get("algorithmEnv"), "algorithmEnv")
            node_selector = {k: str(v) for k, v in sorted((desc.get("nodeSelector") or {}).items())}
            for field in ("labels", "annotations", "nodeSelector", "volumes", "volumeMounts",
                          "mounts", "algorithmImage"):
                _no_tags_in(desc.get(field), field)
            if desc.get("labels") or desc.get("annotations"):
                metadata = m.Metadata(labels=thaw(desc.get("labels")) or None,
                                      annotations=thaw(desc.get("annotations")) or None)
            v, vm = _volumes(desc)
            volumes += v
            mounts += vm
            if alg.type == "Code":
                image = self.config.runtime_image(alg.env)
                inputs.append(artifacts.code_input(self.code_keys[alg.name]))
            else:
                image = alg.image or ""
                volumes.append(m.Volume(name="h2a-runtime", empty_dir=m.EmptyDirVolumeSource()))
                mounts.append(m.VolumeMount(name="h2a-runtime", mount_path=RUNTIME_MOUNT))
                init.append(m.UserContainer(
                    name="h2a-runtime", image=self.config.python_image,
                    image_pull_policy=self.config.image_pull_policy,
                    command=["python3", "-m", "hkube2argo.runtime.install", RUNTIME_MOUNT],
                    volume_mounts=[m.VolumeMount(name="h2a-runtime", mount_path=RUNTIME_MOUNT)]))
                env.append(m.EnvVar(name="PYTHONPATH", value=RUNTIME_MOUNT))
                env.append(m.EnvVar(name="H2A_CODE_DIR", value=IMAGE_CODE_DIR))
        settings = self.settings[self.variant(node)]
        parameters = [m.Parameter(name="task"), m.Parameter(name="index", default="0")]
        limit = deadline = None
        if len(settings.limits) > 1:
            parameters.append(m.Parameter(name=RETRY_LIMIT, default=str(settings.limits[0])))
            limit = f"{{{{inputs.parameters.{RETRY_LIMIT}}}}}"
        if len(settings.deadlines) > 1:
            parameters.append(m.Parameter(name=DEADLINE, default=str(settings.deadlines[0])))
            deadline = f"{{{{inputs.parameters.{DEADLINE}}}}}"
        elif settings.deadlines:
            deadline = str(settings.deadlines[0])
        return m.Template(
            name=name,
            metadata=metadata,
            inputs=m.Inputs(parameters=parameters, artifacts=inputs),
            outputs=m.Outputs(parameters=artifacts.count_outputs(outputs) or None,
                              artifacts=[artifacts.outbox_output(self.config.key_prefix)]),
            container=m.Container(
                image=image, image_pull_policy=self.config.image_pull_policy,
                command=_command("run", "--index", artifacts.INDEX),
                env=env, resources=requests, volume_mounts=mounts or None),
            init_containers=init or None,
            volumes=volumes or None,
            node_selector=node_selector or None,
            retry_strategy=retry_strategy(node, limit),
            active_deadline_seconds=m.IntOrString(deadline) if deadline else None,
        )

    def shared_template(self, name: str, node: PlanNode, outputs: list[str]) -> m.Template:
        """One template for every algorithm of a runtime (shared mode): the task gives the
        code key (or the image) and a podSpecPatch with the algorithm's resources, env,
        node selector and volumes. Template metadata (labels, annotations) cannot vary
        per task, so algorithms' labels and annotations are not applied in this mode."""
        alg = self.plan.algorithm(node.algorithm or "")
        assert alg is not None
        template = self.algorithm_template(name, node, outputs)
        assert template.inputs is not None and template.container is not None
        params = [m.Parameter(name="patch", default="{}")]
        template.container.env = runtime_env(self.config)
        template.container.resources = None
        template.container.volume_mounts = None
        template.volumes = None
        template.node_selector = None
        template.metadata = None
        if alg.type == "Code":
            params.append(m.Parameter(name="code"))
            for artifact in template.inputs.artifacts or []:
                if artifact.name == "code":
                    artifact.s3 = m.S3Artifact(key="{{inputs.parameters.code}}")
        else:
            params.append(m.Parameter(name="image"))
            template.container.image = "{{inputs.parameters.image}}"
            template.volumes = [m.Volume(name="h2a-runtime", empty_dir=m.EmptyDirVolumeSource())]
            template.container.volume_mounts = [m.VolumeMount(name="h2a-runtime",
                                                              mount_path=RUNTIME_MOUNT)]
            template.container.env += [m.EnvVar(name="PYTHONPATH", value=RUNTIME_MOUNT),
                                       m.EnvVar(name="H2A_CODE_DIR", value=IMAGE_CODE_DIR)]
        template.inputs.parameters = [*(template.inputs.parameters or []), *params]
        template.pod_spec_patch = "{{inputs.parameters.patch}}"
        return template

    def step(self, name: str, command: list[str], *, outputs: list[str],
             params: list[str] = (), spec: bool = True,  # type: ignore[assignment]
             extra_inputs: list[m.Artifact] = ()) -> m.Template:  # type: ignore[assignment]
        """One of the runtime's own steps: small, on the runtime image."""
        inputs: list[m.Artifact] = list(extra_inputs)
        if spec:
            inputs = [artifacts.spec_input(self.config.key_prefix),
                      *artifacts.inbox_inputs(self.config.key_prefix, False), *inputs]
        parameters = [m.Parameter(name="task"), *(m.Parameter(name=p) for p in params)]
        return m.Template(
            name=name,
            inputs=m.Inputs(parameters=parameters, artifacts=inputs or None),
            outputs=m.Outputs(parameters=artifacts.count_outputs(outputs) or None,
                              artifacts=[artifacts.outbox_output(self.config.key_prefix)]),
            container=m.Container(
                image=self.config.python_image, image_pull_policy=self.config.image_pull_policy,
                command=command, env=runtime_env(self.config),
                resources=m.ResourceRequirements(
                    requests={k: _quantity(v) for k, v in STEP_RESOURCES.items()})),
        )

    def prepare_template(self) -> m.Template:
        from ..runtime.values import encode_raw

        raw = [
            m.Artifact(name="pipeline", path=f"{artifacts.ROOT}/raw/pipeline",
                       raw=m.RawArtifact(data=encode_raw(self.graph.pipeline_spec))),
            m.Artifact(name="flow-input", path=f"{artifacts.ROOT}/raw/flow-input"),
            # a run triggered by a parent pipeline: the parent's result document
            m.Artifact(name="parent-results", path=f"{artifacts.ROOT}/raw/parent-results.json",
                       optional=True, s3=m.S3Artifact(key=artifacts.parent_results_key(
                           self.config.key_prefix))),
        ]
        prepare = self.graph.task("prepare")
        return self.step("prepare", _command("prepare"), outputs=prepare.outputs, spec=False,
                         extra_inputs=raw)

    def webhooks_config(self) -> m.Artifact:
        """What the webhook steps need, as a raw artifact: the URLs are user text, so they
        travel encoded, like the flowInput."""
        from ..runtime.values import encode_raw

        hooks = thaw(self.plan.webhooks)
        config = {"pipeline": self.plan.name, "verbosity": self.plan.options.verbosity,
                  "progress": hooks.get("progress"), "result": hooks.get("result"),
                  "nodes": {t.key: t.node for t in self.graph.tasks if t.node},
                  # tasks whose failures the run tolerates (batch items, wait-any group
                  # members): the failure webhook names another cause first
                  "tolerated": sorted(t.key for t in self.graph.tasks
                                      if t.tolerate_failure or t.group)}
        return m.Artifact(name="webhooks", path=f"{artifacts.ROOT}/raw/webhooks",
                          raw=m.RawArtifact(data=encode_raw(config)))

    def webhook_template(self) -> m.Template:
        """HKube's progress/result webhooks, run by the workflow's lifecycle hooks."""
        key = f"{artifacts.job_prefix(self.config.key_prefix)}/results.json"
        return m.Template(
            name=WEBHOOKS,
            inputs=m.Inputs(
                parameters=[m.Parameter(name="status"), m.Parameter(name="failures", default="")],
                artifacts=[
                    self.webhooks_config(),
                    m.Artifact(name="results", path=f"{artifacts.ROOT}/raw/results.json",
                               optional=True, s3=m.S3Artifact(key=key))]),
            container=m.Container(
                image=self.config.python_image, image_pull_policy=self.config.image_pull_policy,
                command=_command("webhook", "--status", "{{inputs.parameters.status}}"),
                env=[*runtime_env(self.config),
                     m.EnvVar(name="H2A_FAILURES", value="{{inputs.parameters.failures}}")],
                resources=m.ResourceRequirements(
                    requests={k: _quantity(v) for k, v in STEP_RESOURCES.items()})))

    def progress_template(self) -> m.Template:
        """The progress reporter (``runtime/progress.py``): a lifecycle hook beside the
        DAG that reads its own Workflow once a second, posts HKube's debug-level events
        and ends once the DAG has (why not a daemon: its module docstring)."""
        return m.Template(
            name=PROGRESS,
            inputs=m.Inputs(artifacts=[self.webhooks_config()]),
            container=m.Container(
                image=self.config.python_image, image_pull_policy=self.config.image_pull_policy,
                command=_command("progress"),
                env=[*runtime_env(self.config),
                     m.EnvVar(name="H2A_NAMESPACE", value="{{workflow.namespace}}")],
                resources=m.ResourceRequirements(
                    requests={k: _quantity(v) for k, v in STEP_RESOURCES.items()})))

    def results_template(self) -> m.Template:
        template = self.step("results", _command("results"), outputs=[])
        assert template.outputs is not None
        template.outputs.parameters = [m.Parameter(
            name="results-key", global_name="hkube2argo-results",
            value_from=m.ValueFrom(path=f"{artifacts.ROOT}/counts/results-key", default=""))]
        return template


def pod_patch(alg: AlgorithmSpec, config: ClusterConfig) -> str:
    """An algorithm's pod settings as Argo's podSpecPatch (strategic merge on the pod):
    the main container's resources, env and mounts, the node selector, the volumes."""
    import json

    desc = alg.descriptor
    for field in ("nodeSelector", "volumes", "volumeMounts", "mounts"):
        _no_tags_in(desc.get(field), field)
    volumes, mounts = _volumes(desc)
    main: dict[str, Any] = {"name": "main", "resources": resources(alg, config).model_dump(
        mode="json", by_alias=True, exclude_none=True)}
    env = env_vars(desc.get("algorithmEnv"), "algorithmEnv")
    if env:
        main["env"] = [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in env]
    if mounts:
        main["volumeMounts"] = [v.model_dump(mode="json", by_alias=True, exclude_none=True)
                                for v in mounts]
    patch: dict[str, Any] = {"containers": [main]}
    if desc.get("nodeSelector"):
        patch["nodeSelector"] = {k: str(v) for k, v in sorted(desc["nodeSelector"].items())}
    if volumes:
        patch["volumes"] = [v.model_dump(mode="json", by_alias=True, exclude_none=True)
                            for v in volumes]
    return json.dumps(patch, sort_keys=True, separators=(",", ":"))


def _volumes(desc: Any) -> tuple[list[m.Volume], list[m.VolumeMount]]:
    """HKube's ``volumes``/``volumeMounts`` (Kubernetes shapes) and ``mounts`` (pvcName at a
    path; configMap or emptyDir by volumeType)."""
    volumes = [m.Volume.model_validate(thaw(v)) for v in desc.get("volumes") or ()]
    mounts = [m.VolumeMount.model_validate(thaw(v)) for v in desc.get("volumeMounts") or ()]
    for i, mount in enumerate(desc.get("mounts") or ()):
        name = naming.dns_name(f"{mount['pvcName']}-{i}")
        kind = mount.get("volumeType")
        if kind == "configMap":
            volume = m.Volume(name=name, config_map=m.ConfigMapVolumeSource(name=mount["pvcName"]))
        elif kind == "emptyDir":
            volume = m.Volume(name=name, empty_dir=m.EmptyDirVolumeSource())
        else:
            claim = m.PersistentVolumeClaimVolumeSource(claim_name=mount["pvcName"])
            volume = m.Volume(name=name, persistent_volume_claim=claim)
        volumes.append(volume)
        mounts.append(m.VolumeMount(name=name, mount_path=mount["path"]))
    return volumes, mounts
