"""Argo's DAG semantics on one machine: dependencies, loops, ``when``, ``continueOn``,
fail-fast, retries and deadlines, as the controller applies them (argo-notes section 2).

One scheduler thread walks the DAGs; containers run in a pool of ``workers`` threads,
each a subprocess. Every finished container is journalled, so a killed run can resume
without running it again. Daemon containers and lifecycle hooks other than the exit
handler run beside the pool (``daemons.py``); when a workflow has any, the run's state is
kept as an Argo Workflow file for them to read (``livestate.py``).
"""

from __future__ import annotations

import concurrent.futures as cf
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import argonodes, livestate, tags
from .daemons import Daemon, Daemons
from .executor import SANDBOXED, Attempt, kill_running, run_container
from .journal import Journal
from .store import Store, StoreLost
from .zygote import WarmPool

FINAL = ("Succeeded", "Failed", "Skipped", "Omitted", "Error")
EXIT_STORAGE_SECONDS = 30.0  # past a ttl, what the exit handler's storage calls may take


@dataclass
class Outcome:
    phase: str
    outputs: dict[str, str] = field(default_factory=dict)
    message: str = ""
    log: Path | None = None


@dataclass
class Event:
    """Progress for the display: a container instance started or ended."""

    node: str
    kind: str  # started | ended
    phase: str = ""
    message: str = ""


class _Call:
    """One template invocation: a container (future) or a nested DAG."""

    def __init__(self, outcome: Outcome | None = None, future: cf.Future | None = None,
                 dag: _DagRun | None = None, daemon: Daemon | None = None):
        self.fixed = outcome
        self.future = future
        self.dag = dag
        self.daemon = daemon  # a daemon: its task is done once it runs

    def result(self) -> Outcome | None:
        if self.fixed is not None:
            return self.fixed
        if self.daemon is not None:  # Daemoned once started; Failed if it ends by itself
            if not self.daemon.started.done():
                return None
            if self.daemon.ended.done():
                phase, message = self.daemon.ended.result()
                return Outcome(phase, message=message)
            return Outcome("Succeeded")
        if self.future is not None:
            if not self.future.done():
                return None
            return self.future.result()
        assert self.dag is not None
        self.dag.advance()
        return self.dag.outcome


@dataclass
class _TaskState:
    calls: list[_Call] | None = None
    looped: bool = False
    outcome: Outcome | None = None

    @property
    def daemoned(self) -> bool:
        """A daemon's task: judged again while its DAG runs (it may end by itself)."""
        return any(c.daemon is not None for c in self.calls or ())


class _DagRun:
    def __init__(self, engine: Engine, template: dict[str, Any], params: dict[str, str],
                 artifacts: dict[str, dict[str, Any]], path: str, node: str):
        self.engine = engine
        self.template = template
        self.tasks = template["dag"]["tasks"]
        self.by_name = {t["name"]: t for t in self.tasks}
        self.params = params
        self.artifacts = artifacts
        self.path = path
        self.node = node  # Argo's node name: <workflow>.<task>.<task>...
        self.state = {t["name"]: _TaskState() for t in self.tasks}
        self.failed = False
        self.outcome: Outcome | None = None

    def _scope(self, item: str | None = None) -> dict[str, str]:
        values = dict(self.engine.globals)
        values.update({f"inputs.parameters.{k}": v for k, v in self.params.items()})
        for name, st in self.state.items():
            if st.outcome is not None and not st.looped:
                for key, value in st.outcome.outputs.items():
                    values[f"tasks.{name}.outputs.parameters.{key}"] = value
        if item is not None:
            values["item"] = item
        return values

    def _deps_ready(self, task: dict[str, Any]) -> str | None:
        """None while waiting; "run" or "omit" once every dependency is final. A
        dependency must end in a phase its ``continueOn`` lets dependents accept
        (ancestry.go ``expandDependency``); Omitted never is."""
        verdict = "run"
        for dep in task.get("dependencies") or []:
            outcome = self.state[dep].outcome
            if outcome is None:
                return None
            if not argonodes.accepts(self.by_name[dep].get("continueOn"), outcome.phase):
                verdict = "omit"
        return verdict

    def _task_node(self, name: str) -> str:
        """dag.go ``taskNodeName``: ``<DAG node>.<task>``."""
        return f"{self.node}.{name}"

    def _parents(self, task: dict[str, Any]) -> list[str]:
        """dag.go ``connectDependencies``: the outbound nodes of the dependencies, or the
        DAG's node for a root task."""
        deps = task.get("dependencies") or []
        if not deps:
            return [self.node]
        tree = self.engine.tree
        return [o for dep in deps if self._task_node(dep) in tree.nodes
                for o in tree.outbound(self._task_node(dep))]

    def _start(self, task: dict[str, Any]) -> None:
        st = self.state[task["name"]]
        verdict = self._deps_ready(task)
        if verdict is None:
            return
        if verdict == "omit" or self.failed:
            st.outcome = Outcome("Omitted")
            if verdict == "omit":  # fail-fast leaves no node on Argo, a failed dependency does
                self._skipped(task, "Omitted", "omitted: depends condition not met")
            return
        scope = self._scope()
        if "when" in task:
            condition = tags.substitute(task["when"], scope)
            if not tags.when(condition):
                st.outcome = Outcome("Skipped", message="when condition was false")
                self._skipped(task, "Skipped", f"when '{condition}' evaluated false")
                return
        parents = self._parents(task)
        items: list[str | None] = [None]
        if "withSequence" in task:
            seq = task["withSequence"]
            count = int(tags.substitute(str(seq["count"]), scope))
            start = int(tags.substitute(str(seq.get("start", "0")), scope))
            items = [str(start + i) for i in range(count)]
            st.looped = True
            if not items:
                st.outcome = Outcome("Skipped", message="Skipped, empty params")
                self._skipped(task, "Skipped", st.outcome.message)
                return
            group = self._task_node(task["name"])  # the loop's TaskGroup node
            self.engine.tree.add(group, "TaskGroup", task["template"], self.node,
                                 display=task["name"], parents=parents)
            parents = [group]
        st.calls = [self._call(task, item, i, parents) for i, item in enumerate(items)]

    def _skipped(self, task: dict[str, Any], phase: str, message: str) -> None:
        self.engine.live.skipped(f"{self.path}/{task['name']}", f"{self.node}.{task['name']}",
                                 task["name"], task["template"], phase, message)
        self.engine.tree.add(self._task_node(task["name"]), "Skipped", task["template"],
                             self.node, phase=phase, message=message, display=task["name"],
                             parents=self._parents(task))

    def _call(self, task: dict[str, Any], item: str | None, index: int,
              parents: list[str]) -> _Call:
        scope = self._scope(item)
        args = task.get("arguments") or {}
        params = {p["name"]: tags.substitute(str(p.get("value", "")), scope)
                  for p in args.get("parameters") or []}
        artifacts = {}
        for art in args.get("artifacts") or []:
            source = art.get("from", "")
            match = re.fullmatch(r"\{\{inputs\.artifacts\.([-\w]+)\}\}", source)
            if not match or match.group(1) not in self.artifacts:
                raise tags.Unsupported(f"artifact argument {art}")
            artifacts[art["name"]] = self.artifacts[match.group(1)]
        suffix = f"({item})" if item is not None else ""
        display = f"{task['name']}({index}:{item})" if item is not None else task["name"]
        return self.engine.invoke(task["template"], params, artifacts,
                                  f"{self.path}/{task['name']}{suffix}",
                                  (f"{self.node}.{display}", display), self.node, parents)

    def advance(self) -> None:
        if self.outcome is not None:
            return
        for task in self.tasks:
            st = self.state[task["name"]]
            if st.outcome is not None and not st.daemoned:
                continue
            if st.calls is None:
                self._start(task)
            if st.calls is not None:
                results = [c.result() for c in st.calls]
                if any(r is None for r in results):
                    continue
                failed = [r for r in results if r.phase in argonodes.FAILED]
                if st.looped:  # the TaskGroup's phase: its last failed item's (dag.go)
                    phase = argonodes.loop_phase([r.phase for r in results])
                    self.engine.tree.mark(self._task_node(task["name"]), phase)
                else:
                    phase = results[0].phase if failed else "Succeeded"
                if failed:
                    st.outcome = Outcome(phase, message=failed[0].message)
                else:
                    single = results[0] if len(results) == 1 and not st.looped else None
                    st.outcome = Outcome("Succeeded", outputs=single.outputs if single else {})
            if st.outcome is not None and st.outcome.phase in argonodes.FAILED \
                    and not argonodes.continues(task.get("continueOn"), st.outcome.phase):
                self.failed = True  # fail fast: start nothing new in this DAG
        if all(s.outcome is not None for s in self.state.values()):
            phase = self._phase()
            bad = [(n, s.outcome) for n, s in self.state.items() if s.outcome
                   and (s.outcome.phase in ("Failed", "Error", "Omitted"))
                   and not argonodes.continues(self.by_name[n].get("continueOn"),
                                               s.outcome.phase)]
            failures = [(n, o) for n, o in bad if o.phase != "Omitted"]
            if phase != "Succeeded":
                name, outcome = (failures or bad or [("?", Outcome(phase))])[0]
                self.outcome = Outcome(phase, message=f"child '{name}' failed: "
                                                      f"{outcome.message}")
            else:
                self.outcome = Outcome("Succeeded", outputs=self._outputs())
            self.engine.tree.end_dag(self.node, self.outcome.phase,
                                     [self._task_node(t) for t in self._targets()])
            self.engine.daemons.release(self.path)  # Argo: a DAG's daemons end with it

    def _targets(self) -> list[str]:
        """dag.go ``findLeafTaskNames``: the tasks no other task depends on, by name."""
        needed = {d for t in self.tasks for d in t.get("dependencies") or []}
        return sorted(t["name"] for t in self.tasks if t["name"] not in needed)

    def _phase(self) -> str:
        """The DAG's phase by dag.go ``assessDAGPhase``; a target that never got a node
        (this runner starts nothing new after a failure) leaves it "Running", which
        here, with every task final, can only follow a failure."""
        phase = self.engine.tree.dag_phase(
            self.node, [(t, self._task_node(t)) for t in self._targets()],
            lambda t: self.by_name[t].get("continueOn"))
        return "Failed" if phase == "Running" else phase

    def _outputs(self) -> dict[str, str]:
        """A DAG template's output parameters (``valueFrom.parameter`` over its tasks)."""
        scope = self._scope()
        return {p["name"]: tags.substitute(p["valueFrom"]["parameter"], scope)
                for p in (self.template.get("outputs") or {}).get("parameters", [])}


SANDBOX_ROOT = SANDBOXED.strip("/")  # the pod's /tmp inside a task folder


class Engine:
    def __init__(self, workflow: dict[str, Any], job_id: str, store: Store, folder: Path,
                 workers: int, journal: Journal,
                 on_event: Callable[[Event], None] | None = None, warm: bool = True,
                 debug_task: str | None = None):
        self.spec = workflow["spec"]
        self.templates = {t["name"]: t for t in self.spec["templates"]}
        self.job_id = job_id
        self.globals = {"workflow.name": job_id, "workflow.namespace": "local"}
        for param in (self.spec.get("arguments") or {}).get("parameters") or []:
            self.globals[f"workflow.parameters.{param['name']}"] = str(param.get("value", ""))
        self.store = store
        self.folder = folder
        self.pool = cf.ThreadPoolExecutor(max_workers=max(1, workers))
        self.journal = journal
        self.on_event = on_event or (lambda _e: None)
        self.stop = threading.Event()
        self.stop_reason = "workflow stopped"
        self.interrupted = False  # Ctrl-C: stop, keep the journal, no exit handler
        self.warm = WarmPool(fresh=not warm)  # cold tasks too: it supervises them
        self.debug_task = debug_task
        # daemons and hooks beside the DAG (the progress reporter) read the live state
        beside = any(t.get("daemon") for t in self.spec["templates"]) or \
            any(name != "exit" for name in self.spec.get("hooks") or {})
        self.live = livestate.LiveState(
            folder.resolve() / livestate.FILE if beside else None, workflow, job_id)
        self.daemons = Daemons(store, self.live, lambda path, kind, phase, message:
                               self.on_event(Event(path, kind, phase, message)))
        self.tree = argonodes.NodeTree(job_id)  # Argo's status.nodes (argonodes.py)
        self.status = "Failed"  # the workflow's phase once the DAG ended
        self.containers: dict[str, Outcome] = {}
        self.stats: dict[str, Any] = {"containers": 0, "attempts": 0, "bytes_in": 0,
                                      "bytes_out": 0, "reused": 0, "read_by_artifact": {}}
        self._lock = threading.Lock()
        self.store_lost = False

    def invoke(self, name: str, params: dict[str, str], artifacts: dict[str, dict[str, Any]],
               path: str, node: tuple[str, str], boundary: str | None = None,
               parents: list[str] = ()) -> _Call:  # type: ignore[assignment]
        """``node``: Argo's node name and display name; ``boundary``: the DAG node it
        runs in, ``parents``: the nodes it hangs under (argonodes.py)."""
        template = self.templates[name]
        declared = template.get("inputs", {}).get("parameters") or []
        values = {}
        for p in declared:
            if p["name"] in params:
                values[p["name"]] = params[p["name"]]
            elif "default" in p:
                values[p["name"]] = p["default"]
            else:
                raise tags.Unresolved(f"{path}: input parameter {p['name']} not given")
        if "dag" in template:
            self.tree.add(node[0], "DAG", name, boundary, display=node[1], parents=list(parents))
            return _Call(dag=_DagRun(self, template, values, artifacts, path, node[0]))
        hook = path.startswith("hooks/") and path != "hooks/exit"
        if template.get("daemon") or hook:  # never journalled: a resumed run starts it again
            self.live.pod(path, *node, name, values)
            self.tree.add(node[0], "Pod", name, boundary, display=node[1], parents=list(parents))
            daemon = self.daemons.start(self._resolve(template, values, 0), artifacts, path,
                                        self._folder(path, 0), hook=hook)
            tree_node = node[0]
            daemon.ended.add_done_callback(
                lambda f: self.tree.mark(tree_node, f.result()[0], f.result()[1]))
            if not hook:
                self.tree.nodes[node[0]].daemoned = True
                return _Call(daemon=daemon)
            ended: cf.Future[Outcome] = cf.Future()
            daemon.ended.add_done_callback(
                lambda f: ended.set_result(Outcome(f.result()[0], message=f.result()[1])))
            return _Call(future=ended)
        done = self.journal.finished(path)
        if done is not None:  # resumed: one Succeeded pod stands for its attempts
            self.stats["reused"] += 1
            self.live.pod(path, *node, name, values, phase="Succeeded")
            self.tree.add(node[0], "Pod", name, boundary, display=node[1],
                          parents=list(parents), phase="Succeeded")
            return _Call(outcome=Outcome("Succeeded", outputs=done))
        self.tree.add(node[0], "Retry" if template.get("retryStrategy") else "Pod", name,
                      boundary, display=node[1], parents=list(parents))
        self.live.pod(path, *node, name, values)
        return _Call(future=self.pool.submit(self._container, template, values, artifacts,
                                             path, node, boundary))

    def _resolve(self, template: dict[str, Any], params: dict[str, str],
                 attempt_no: int) -> dict[str, Any]:
        scope = {**self.globals, "retries": str(attempt_no)}
        scope.update({f"inputs.parameters.{k}": v for k, v in params.items()})
        return tags.substitute_all(template, scope)

    def _folder(self, path: str, attempt_no: int) -> Path:
        return self.folder / "tasks" / _folder_name(path) / f"attempt-{attempt_no}"

    def _container(self, template: dict[str, Any], params: dict[str, str],
                   artifacts: dict[str, dict[str, Any]], path: str,
                   node: tuple[str, str] = ("", ""), boundary: str | None = None) -> Outcome:
        """A container template's pods: one, or one per attempt under a Retry node
        (``<name>(N)``), each with Argo's phase and message for how it ended."""
        # the retry limit and the deadline may be template variables: Argo reads both from
        # the template after substituting its inputs (operator.go executeTemplate,
        # workflowpod.go createWorkflowPod)
        settled = self._resolve(template, params, 0)
        strategy = settled.get("retryStrategy")
        deadline = settled.get("activeDeadlineSeconds")
        timeout = float(deadline) if deadline is not None else None
        attempt_no = 0
        self.on_event(Event(path, "started"))
        while True:
            if self.stop.is_set():
                outcome = Outcome("Failed", message=self.stop_reason)
                break
            self.live.update(path, "Running", restart=attempt_no > 0)
            resolved = self._resolve(template, params, attempt_no)
            folder = self._folder(path, attempt_no)
            task = path.rsplit("/", 1)[-1].split("(", 1)[0]
            pod = node[0]
            if strategy:  # operator.go: "<retry node>(N)", a child of the Retry node
                pod = f"{node[0]}({attempt_no})"
                self.tree.add(pod, "Pod", template["name"], boundary,
                              display=f"{node[1]}({attempt_no})", parents=[node[0]])
            try:
                attempt: Attempt = run_container(resolved, artifacts, folder, self.store,
                                                 timeout, self.warm,
                                                 in_process=task == self.debug_task)
            except StoreLost as exc:  # Argo: the artifact step fails, the node is Error
                outcome = Outcome("Error", message=self._store_lost(exc))
                self.tree.mark(pod, outcome.phase, outcome.message)
                break
            self.tree.mark(pod, attempt.phase, attempt.message)
            with self._lock:
                self.stats["attempts"] += 1
                self.stats["bytes_in"] += attempt.bytes_in
                self.stats["bytes_out"] += attempt.bytes_out
                by = self.stats["read_by_artifact"]
                for name, size in attempt.read_by_artifact.items():
                    by[name] = by.get(name, 0) + size
            self._pod_gc(folder, attempt.phase == "Succeeded")
            if attempt.phase == "Succeeded":
                outcome = Outcome("Succeeded", outputs=attempt.outputs, log=attempt.log)
                self.journal.record(path, attempt.outputs, attempt.written)
                break
            if self.stop.is_set():  # killed because the workflow's deadline passed
                outcome = Outcome("Failed", message=self.stop_reason, log=attempt.log)
                break
            again, said = tags.retry_verdict(strategy, attempt_no, attempt.exit_code,
                                             attempt.phase, attempt.message)
            if not again:
                outcome = Outcome(attempt.phase, message=attempt.message, log=attempt.log)
                if strategy:
                    self.tree.mark(node[0], attempt.phase, said or attempt.message)
                break
            attempt_no += 1
        if outcome.phase == "Succeeded":
            self.tree.mark(node[0], "Succeeded")
        elif not strategy or self.stop.is_set():
            self.tree.mark(node[0], outcome.phase, outcome.message)
        with self._lock:
            self.stats["containers"] += 1
            self.containers[path] = outcome
        self.live.update(path, outcome.phase, outcome.message)
        self.on_event(Event(path, "ended", outcome.phase, outcome.message))
        return outcome

    def _pod_gc(self, folder: Path, succeeded: bool) -> None:
        """``podGC``: Argo deletes a pod as it ends, by strategy (``workflow/controller/pod/
        cleanup.go`` determinePodCleanupAction: OnPodSuccess only succeeded pods,
        OnPodCompletion every one). Here the pod's filesystem (the attempt's ``tmp``) goes;
        its log stays, as an archived log would. The OnWorkflow* strategies delete pods
        when the run ends (``collect_pods``)."""
        strategy = (self.spec.get("podGC") or {}).get("strategy")
        if strategy == "OnPodCompletion" or (strategy == "OnPodSuccess" and succeeded):
            shutil.rmtree(folder / SANDBOX_ROOT, ignore_errors=True)

    def collect_pods(self, succeeded: bool) -> None:
        """``podGC`` OnWorkflowCompletion (any end) or OnWorkflowSuccess (a successful
        run): every pod of the run goes once it ended."""
        strategy = (self.spec.get("podGC") or {}).get("strategy")
        if strategy == "OnWorkflowCompletion" or (strategy == "OnWorkflowSuccess"
                                                  and succeeded):
            for sandbox_folder in (self.folder / "tasks").glob(f"*/attempt-*/{SANDBOX_ROOT}"):
                shutil.rmtree(sandbox_folder, ignore_errors=True)

    def _store_lost(self, exc: StoreLost) -> str:
        """The storage is gone: stop the run now (what is journalled stays, so the job
        can be resumed). A call cut by the run's deadline is the deadline's doing."""
        if exc.expired:
            return self.stop_reason if self.stop.is_set() else str(exc)
        with self._lock:  # the first loss ends the run, unless something else already did
            first = not self.store_lost and not self.stop.is_set()
            self.store_lost = True
        if first:
            self.stop_reason = f"the storage failed: {exc}; the job can be resumed " \
                               f"(--resume {self.job_id}) once it is back"
            self.stop.set()
            self.daemons.stop_all()
            kill_running()
        return str(exc)

    def _hook(self, name: str, extra: dict[str, str]) -> _Call | None:
        """A workflow lifecycle hook (only the forms the emitters write), named as Argo
        names its node (``<workflow>.onExit``, ``<workflow>.hooks.running``)."""
        hook = (self.spec.get("hooks") or {}).get(name)
        if hook is None:
            return None
        scope = {**self.globals, **extra}
        params = {p["name"]: tags.substitute(str(p.get("value", "")), scope)
                  for p in (hook.get("arguments") or {}).get("parameters") or []}
        display = "onExit" if name == "exit" else f"hooks.{name}"
        return self.invoke(hook["template"], params, {}, f"hooks/{name}",
                           (f"{self.job_id}.{display}", display))

    def _failures(self) -> str:
        """Argo's ``workflow.failures``, computed as the exit handler starts."""
        return self.tree.failures()

    def run(self, arguments: dict[str, dict[str, Any]], timeout: float | None) -> Outcome:
        entry = self.templates[self.spec["entrypoint"]]
        self.tree.add(self.job_id, "DAG", entry["name"], None, display=self.job_id)
        root = _DagRun(self, entry, {}, arguments, entry["name"], self.job_id)
        started = time.monotonic()
        self.store.until(started + timeout if timeout else None)  # the ttl bounds storage too
        self.live.start(entry["name"])
        status = "Failed"  # unless it gets that far
        # hooks whose expression holds while the workflow runs (support.py allows no other)
        beside = [self._hook(name, {}) for name in sorted(self.spec.get("hooks") or {})
                  if name != "exit"]
        try:
            outcome = self._drive(root, started, timeout)
            if self.interrupted:
                return outcome  # no hooks, no exit handler: the job is to be resumed
            # operator.go: the entry node's phase as workflow.status (Error stays Error)
            status = outcome.phase if outcome.phase in ("Succeeded", "Error") else "Failed"
            self.status = status
            self.live.root(outcome.phase)  # what a hook waits for to end itself
            # the exit handler runs once every triggered hook is fulfilled (operator.go
            # operate: "Check all hooks are completes") and every daemon is gone
            self.daemons.wait_hooks()
            self.daemons.stop_all()
            self.daemons.wait()
            cf.wait([f for f in _futures(root) if not f.done()])  # killed, or cut by the ttl
            self.stop.clear()  # the exit handler runs even after a deadline, and its
            if timeout is not None:  # storage calls get a bounded time of their own
                self.store.until(time.monotonic() + EXIT_STORAGE_SECONDS)
            final = self._hook("exit", {"workflow.status": status,
                                        "workflow.failures": self._failures()})
            for call in (*beside, final):
                if call is not None and call.future is not None:
                    call.future.result()
            return outcome
        finally:
            self.stop.set()
            self.daemons.stop_all()
            self.daemons.wait()
            self.pool.shutdown(wait=True)
            self.live.close(status)
            self.warm.close()

    def interrupt(self) -> None:
        """Ctrl-C (from a signal handler): running tasks get SIGTERM now, SIGKILL after
        ``INTERRUPT_GRACE`` seconds; what finished stays journaled, so the job resumes."""
        self.interrupted = True
        self.stop_reason = "interrupted"
        self.stop.set()
        kill_running(signal.SIGTERM)

    def _drive(self, root: _DagRun, started: float, timeout: float | None) -> Outcome:
        while True:
            if self.interrupted:
                pending = [f for f in _futures(root) if not f.done()]
                for future in pending:
                    future.cancel()
                cf.wait(pending, timeout=INTERRUPT_GRACE)
                self.daemons.stop_all()
                kill_running()
                return Outcome("Failed", message=self.stop_reason)
            root.advance()
            if root.outcome is not None:
                return root.outcome
            if timeout is not None and time.monotonic() - started > timeout:
                # HKube's gc-service reason; Argo says "Step exceeded its deadline"
                self.stop_reason = f"pipeline expired (ttl {timeout:g} s)"
                self.stop.set()
                for future in _futures(root):
                    future.cancel()
                self.daemons.stop_all()  # SIGTERM first: they are not for kill_running
                kill_running()
                return Outcome("Failed", message=self.stop_reason)
            pending = [f for f in _futures(root) if not f.done()]
            if pending:
                cf.wait(pending, timeout=0.5, return_when=cf.FIRST_COMPLETED)


INTERRUPT_GRACE = 3.0  # seconds between SIGTERM and SIGKILL after Ctrl-C


def _futures(dag: _DagRun) -> list[cf.Future]:
    out: list[cf.Future] = []
    for st in dag.state.values():
        for call in st.calls or ():
            if call.future is not None:
                out.append(call.future)
            elif call.dag is not None:
                out.extend(_futures(call.dag))
    return out


def _folder_name(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path.split("/", 1)[-1]).strip("_") or "task"
