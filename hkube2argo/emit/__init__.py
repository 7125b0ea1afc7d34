"""Emitters: pure functions from the plan (and its job graph) to Argo objects.

One module per construct: ``artifacts`` (where a task's files come from and go),
``templates`` (containers: algorithms and our own steps), ``dag`` (tasks, loops, wait-any
groups), ``workflow`` (the WorkflowTemplate and Workflow around them), ``cron``
(``triggers.cron``: a CronWorkflow), ``events`` (``triggers.pipelines``: an Argo Events
EventSource and Sensor).
"""

from .workflow import Manifests, compile_plan

__all__ = ["Manifests", "compile_plan"]
