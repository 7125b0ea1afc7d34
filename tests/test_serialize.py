"""The fast YAML writer gives PyYAML's bytes, and a shared template list is written once."""

from __future__ import annotations

import yaml

from hkube2argo import serialize


# PyYAML as serialize.py used it before the fast path: its own representer for every value
class _Reference(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


_Reference.add_representer(str, serialize._str)


def reference(doc):
    return yaml.dump(doc, Dumper=_Reference, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)


TRICKY = ["", "y", "no", "1e5", "0o7", "1_000", "12:30", "2024-01-02", "~", "null", "a: b",
          "- x", "#c", "{{inputs.parameters.x}}", "line\nbreak\n", "ünï", "x" * 150,
          "word " * 40, " lead", "trail ", "'q'", '"d"', "@flowInput.x", "*star", "&amp",
          "!tag", "%p", "`b", "a\tb", ">", "|", "?", "-", "1.5", ".inf", "0x1F", "+1"]


def test_every_json_type_and_tricky_string_is_written_as_pyyaml_writes_it():
    doc = {"s": TRICKY, "i": [0, -3, 10**20], "b": [True, False], "n": None, "f": [1.5, 1e20],
           "nested": [{"k": {"l": [[], {}, [1, [2]]]}}], "t": ("a", 1),
           **{value: value for value in TRICKY if value}}
    assert serialize.dump(doc) == reference(doc)


def test_a_workflow_repeating_its_templates_gets_them_written_once(monkeypatch):
    templates = [{"name": f"t{i}", "container": {"image": "i", "args": ["1e5", "x"]}}
                 for i in range(30)]
    template = {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
                "metadata": {"name": "p"}, "spec": {"entrypoint": "main",
                                                    "templates": templates}}
    workflow = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                "metadata": {"generateName": "p-"},
                "spec": {"entrypoint": "main", "templates": [dict(t) for t in templates],
                         "arguments": {"parameters": []}}}
    written = []
    real = serialize.dump
    monkeypatch.setattr(serialize, "dump", lambda d: written.append(d) or real(d))
    texts = serialize.dump_each([template, workflow])
    assert texts == [reference(template), reference(workflow)]
    assert sum("templates" in str(d) and "t29" in str(d) for d in written) == 1
