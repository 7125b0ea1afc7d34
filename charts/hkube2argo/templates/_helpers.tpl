{{/* Names and labels shared by the templates. */}}

{{- define "hkube2argo.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "hkube2argo.labels" -}}
helm.sh/chart: {{ include "hkube2argo.chart" . }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hkube2argo
{{- end -}}

{{/*
The MinIO chart's full name (its Service name), computed as that chart does: fullnameOverride,
else the release name when it contains the chart name, else "<release>-minio".
*/}}
{{- define "hkube2argo.minioFullname" -}}
{{- $m := .Values.minio -}}
{{- if $m.fullnameOverride -}}
{{- $m.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default "minio" $m.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The S3 endpoint (host:port) written into the artifact repository. */}}
{{- define "hkube2argo.s3Endpoint" -}}
{{- if .Values.artifactRepository.endpoint -}}
{{- .Values.artifactRepository.endpoint -}}
{{- else if .Values.minio.enabled -}}
{{- printf "%s:%v" (include "hkube2argo.minioFullname" .) (dig "service" "port" "9000" .Values.minio) -}}
{{- else -}}
{{- fail "artifactRepository.endpoint is required when minio.enabled is false (host:port of your S3 service)" -}}
{{- end -}}
{{- end -}}

{{/* The Argo Server Service of the argo-workflows chart (same rule as its fullname helper). */}}
{{- define "hkube2argo.argoServerService" -}}
{{- $aw := index .Values "argo-workflows" -}}
{{- $full := "" -}}
{{- if $aw.fullnameOverride -}}
{{- $full = $aw.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default "argo-workflows" $aw.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- $full = .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $full = printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- printf "%s-%s" $full (dig "server" "name" "server" $aw) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
A credential: the value given in values, else the one already stored in the Secret (upgrade),
else a new random one. Arguments: dict "given" "existing" (Secret or empty) "key" "length".
*/}}
{{- define "hkube2argo.credential" -}}
{{- if .given -}}
{{- .given | b64enc -}}
{{- else if and .existing .existing.data (hasKey .existing.data .key) -}}
{{- index .existing.data .key -}}
{{- else -}}
{{- randAlphaNum (int .length) | b64enc -}}
{{- end -}}
{{- end -}}
