"""The runtime wrapper that every algorithm task runs (in an Argo pod or a local task).

Standard library only: it is copied into algorithm images that have nothing else.
It sees only files: its spec, its inbox folders (what its parents routed to it) and an
outbox folder that Argo's artifact driver (or the local runner) uploads under the job's
key prefix. See ``docs/dataplane.md``.
"""
