"""hkube2argo's compile beside Hera building the same DAG, in the same run (printed; nothing
is asserted).

    python bench/hera_compare.py [--repeat N] [--sizes 100,1000,10000]

1. Whole process, 1,000 nodes, chain and fan-in (the shapes of bench/compile_large.py):
   ``hkube2argo compile`` (load, validate, plan, emit, strict lint, YAML files) against a
   Hera script that builds the equivalent Workflow (one shared container template per
   algorithm, one DAG task per node, each chain task passing an artifact to the next; the
   fan-in's tasks each loop over the flowInput items and all feed one task) and writes it
   as YAML. Runs interleaved, CPU medians (user+system of the child). Target (issue 17):
   ours <= 0.8x Hera's.
2. In process, our compile's CPU per node from 100 to 10,000 nodes (target: linear, the
   per-node cost within 1.2x across the range).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compile_large import ALGORITHMS, chain, fan_in

SHAPES = {"chain": chain, "fan_in": fan_in}


def hera_build(shape: str, n: int) -> str:
    """The equivalent Workflow built with Hera, as YAML."""
    from hera.workflows import DAG, Artifact, Container, Parameter, Workflow

    image, run = "python:3.11", ["python", "/code/main.py"]
    with Workflow(generate_name=f"{shape}-", entrypoint="main",
                  arguments=[Parameter(name="items", value="[1, 2, 3]")]) as workflow:
        first = Container(name="first", image=image, command=run,
                          inputs=[Parameter(name="x")],
                          outputs=[Artifact(name="out", path="/tmp/out")])
        double = Container(name="double", image=image, command=run,
                           inputs=[Artifact(name="in", path="/tmp/in", optional=True),
                                   Parameter(name="item", default="")],
                           outputs=[Artifact(name="out", path="/tmp/out")])
        echo = Container(name="echo", image=image, command=run,
                         inputs=[Parameter(name="parts")],
                         outputs=[Artifact(name="out", path="/tmp/out")])
        with DAG(name="main"):
            if shape == "chain":
                prev = first(name="N0", arguments={"x": "1"})
                for i in range(1, n):
                    task = double(name=f"N{i}",
                                  arguments=[prev.get_artifact("out").with_name("in")])
                    prev >> task
                    prev = task
            else:
                parts = [double(name=f"B{i}", with_param="{{workflow.parameters.items}}",
                                arguments={"item": "{{item}}"}) for i in range(n - 1)]
                last = echo(name="All", arguments={"parts": ",".join(f"B{i}" for i in
                                                                     range(n - 1))})
                for part in parts:
                    part >> last
    return str(workflow.to_yaml())


def cpu_of(argv: list[str], cwd: Path) -> float:
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{' '.join(argv)} failed: {err[-800:]}")
    return usage.ru_utime + usage.ru_stime


def whole_process(repeat: int) -> None:
    print(f"whole process, 1,000 nodes ({repeat} interleaved runs, CPU s medians, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    print(f"{'shape':<8} {'hkube2argo':>11} {'hera':>8} {'ratio':>7}   (target <= 0.80)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for shape, make in SHAPES.items():
            (work / f"{shape}.yaml").write_text(yaml.safe_dump(make(1000), sort_keys=False))
            ours = [sys.executable, "-m", "hkube2argo", "compile", str(work / f"{shape}.yaml"),
                    "-a", str(ALGORITHMS), "-o", str(work / "out")]
            hera = [sys.executable, __file__, "--hera-child", shape, "1000"]
            a, b = [], []
            for _ in range(repeat):
                a.append(cpu_of(ours, work))
                b.append(cpu_of(hera, work))
            ma, mb = statistics.median(a), statistics.median(b)
            print(f"{shape:<8} {ma:>11.3f} {mb:>8.3f} {ma / mb:>7.2f}")


def per_node(sizes: list[int], repeat: int) -> None:
    """Each stage as compile runs it (validate and plan, emit, lint, YAML), without the
    1 MiB refusal: 10,000-node pipelines are past Argo's object limit, and the point here
    is how the work grows."""
    from hkube2argo import lint, serialize
    from hkube2argo.compiler import _once, code_keys, without_gc
    from hkube2argo.config import DEFAULT
    from hkube2argo.emit import compile_plan
    from hkube2argo.loading import Descriptor, Source
    from hkube2argo.validate import load_algorithms, plan_descriptor

    @without_gc
    def stages(data: dict) -> None:
        plan, _ = plan_descriptor(Descriptor(data, Source("b.yaml")), catalog,
                                  triggered_runs=True)
        manifests = compile_plan(plan, DEFAULT, code_keys(plan, DEFAULT))
        assert not lint.lint(_once(manifests.documents()))
        serialize.dump_each([manifests.workflow_template, manifests.workflow])

    catalog = load_algorithms([ALGORITHMS])
    stages(chain(3))
    print(f"\nin process, validate + plan + emit + lint + YAML, CPU per node (median of "
          f"{repeat})")
    print(f"{'shape':<8} " + " ".join(f"{n:>9}" for n in sizes) + "   max/min")
    for shape, make in SHAPES.items():
        costs = []
        for n in sizes:
            data = make(n)
            runs = []
            for _ in range(repeat):
                gc.collect()
                start = time.process_time()
                stages(data)
                runs.append(time.process_time() - start)
            costs.append(statistics.median(runs) / n)
        print(f"{shape:<8} " + " ".join(f"{c * 1e6:>7.0f}us" for c in costs)
              + f"   {max(costs) / min(costs):>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="100,1000,3000,10000")
    parser.add_argument("--hera-child", nargs=2, metavar=("SHAPE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hera_child:
        sys.stdout.write(hera_build(args.hera_child[0], int(args.hera_child[1])))
        return
    whole_process(args.repeat)
    per_node([int(s) for s in args.sizes.split(",")], max(1, args.repeat // 2))


if __name__ == "__main__":
    main()
