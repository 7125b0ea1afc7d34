"""The embedded default: runs a compiled Workflow manifest on this machine.

It interprets the Argo features the emitters use (DAG dependencies, loops, ``when``,
retries, deadlines, ``continueOn``, key-only S3 artifacts) and refuses anything else by
name before it starts, so what passes here is what Argo is asked to run.
"""
