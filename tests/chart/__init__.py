"""Tests of the Helm chart (charts/hkube2argo) and the runtime images (images/)."""
