"""hkube2argo: run HKube pipelines on Argo Workflows."""

__version__ = "0.1.0"
