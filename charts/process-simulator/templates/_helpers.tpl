{{/*
Names, labels and the small conversions every template shares.
*/}}

{{/* The chart's name. */}}
{{- define "process-simulator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{/*
The release's objects' base name. At most 40 characters: an Indexed Job's pods are named and
hostnamed <job>-<index>-<random>, and the longest suffix here (-api-token) must still fit in 63.
*/}}
{{- define "process-simulator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "process-simulator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries besides its name, instance and component. */}}
{{- define "process-simulator.commonLabels" -}}
helm.sh/chart: {{ include "process-simulator.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.experimentId }}
process-simulator/experiment-id: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "process-simulator.labels" -}}
{{ include "process-simulator.commonLabels" . }}
app.kubernetes.io/name: {{ include "process-simulator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* What the Service and the workloads select: the simulator pods of this release. */}}
{{- define "process-simulator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "process-simulator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: simulator
{{- end }}

{{/* The headless Service's name: also the subdomain of the Job's pods. */}}
{{- define "process-simulator.serviceName" -}}
{{- include "process-simulator.fullname" . }}
{{- end }}

{{/* The Service's DNS name inside the cluster, whatever the cluster domain. */}}
{{- define "process-simulator.serviceHost" -}}
{{- printf "%s.%s.svc" (include "process-simulator.serviceName" .) .Release.Namespace }}
{{- end }}

{{- define "process-simulator.tokenSecretName" -}}
{{- .Values.apiToken.existingSecret | default (printf "%s-api-token" (include "process-simulator.fullname" .)) }}
{{- end }}

{{- define "process-simulator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
Milliseconds in a duration, in the simulator's own grammar (src/profiles/units.ts parseDuration): a
number is seconds; a string is parts such as 1h30m, 90s, 250ms. Called with (dict "value" V "field" F);
a bad value fails the render naming the field.
*/}}
{{- define "process-simulator.ms" -}}
{{- $value := .value }}
{{- if or (kindIs "float64" $value) (kindIs "int" $value) (kindIs "int64" $value) }}
{{- if lt (float64 $value) 0.0 }}
{{- fail (printf "%s: expected a duration >= 0, got %v" .field $value) }}
{{- end }}
{{- round (mulf $value 1000) 0 | int64 }}
{{- else }}
{{- $text := trim (toString $value) }}
{{- if regexMatch "^[0-9]+(\\.[0-9]+)?$" $text }}
{{- round (mulf $text 1000) 0 | int64 }}
{{- else if regexMatch "^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+$" $text }}
{{- $factors := dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000 }}
{{- $ms := 0.0 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)" $text -1 }}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" . }}
{{- $ms = addf $ms (mulf $number (get $factors (trimPrefix $number .))) }}
{{- end }}
{{- round $ms 0 | int64 }}
{{- else }}
{{- fail (printf "%s: expected a duration such as 90s, 10m, 1h30m or 250ms, got %q" .field $text) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Whole seconds in a duration value, rounded up. */}}
{{- define "process-simulator.seconds" -}}
{{- $ms := include "process-simulator.ms" . | int64 }}
{{- div (add $ms 999) 1000 }}
{{- end }}

{{/* Job mode: the moment every shard starts (START_AT), RFC 3339 in UTC. */}}
{{- define "process-simulator.startAt" -}}
{{- if .Values.startAt }}
{{- .Values.startAt }}
{{- else }}
{{- $delay := include "process-simulator.seconds" (dict "value" .Values.startDelay "field" "startDelay") }}
{{- dateInZone "2006-01-02T15:04:05Z07:00" (now | dateModify (printf "+%ss" $delay)) "UTC" }}
{{- end }}
{{- end }}

{{/* How long the verdict waits for the shards: verdict.wait, else startDelay + duration + 5m. */}}
{{- define "process-simulator.verdictWait" -}}
{{- if .Values.verdict.wait }}
{{- .Values.verdict.wait }}
{{- else }}
{{- $delay := include "process-simulator.startDelaySeconds" . | int64 }}
{{- $run := include "process-simulator.seconds" (dict "value" .Values.duration "field" "duration") | int64 }}
{{- printf "%ds" (add $delay $run 300) }}
{{- end }}
{{- end }}

{{/* Seconds from now until START_AT (0 when it has passed). */}}
{{- define "process-simulator.startDelaySeconds" -}}
{{- if .Values.startAt }}
{{- $at := toDate "2006-01-02T15:04:05Z07:00" .Values.startAt | unixEpoch | int64 }}
{{- max 0 (sub $at (now | unixEpoch | int64)) }}
{{- else }}
{{- include "process-simulator.seconds" (dict "value" .Values.startDelay "field" "startDelay") }}
{{- end }}
{{- end }}

{{/* The simulator Job's deadline: job.activeDeadline, else until START_AT + duration + linger + 10m. */}}
{{- define "process-simulator.jobDeadlineSeconds" -}}
{{- if .Values.job.activeDeadline }}
{{- include "process-simulator.seconds" (dict "value" .Values.job.activeDeadline "field" "job.activeDeadline") }}
{{- else }}
{{- $delay := include "process-simulator.startDelaySeconds" . | int64 }}
{{- $run := include "process-simulator.seconds" (dict "value" .Values.duration "field" "duration") | int64 }}
{{- $linger := include "process-simulator.seconds" (dict "value" .Values.linger "field" "linger") | int64 }}
{{- add $delay $run $linger 600 }}
{{- end }}
{{- end }}

{{/* Rules across values that a JSON Schema cannot word clearly; each message names the values. */}}
{{- define "process-simulator.validate" -}}
{{- $v := .Values }}
{{- $count := not (kindIs "invalid" $v.processCount) }}
{{- $perShard := not (kindIs "invalid" $v.processesPerShard) }}
{{- if and $count $perShard }}
{{- fail (printf "processCount=%v and processesPerShard=%v: set one of them (processCount is the whole run, split over the shards; processesPerShard is each shard's)" $v.processCount $v.processesPerShard) }}
{{- end }}
{{- if and $count (ne $v.mode "job") }}
{{- fail (printf "processCount=%v splits one run over the shards of job mode; in %s mode every pod is a whole run: set processesPerShard" $v.processCount $v.mode) }}
{{- end }}
{{- end }}

{{/*
ALLOWED_HOSTS: the names a shard's API is reached by besides its own address (which it always answers
for, as the probes and the verdict use): the Service's, and in job mode the pod's own
<job>-<index>.<service>; short and fully qualified; then allowedHosts.
*/}}
{{- define "process-simulator.allowedHosts" -}}
{{- $service := include "process-simulator.serviceName" . }}
{{- $namespace := .Release.Namespace }}
{{- $names := list }}
{{- $prefixes := list $service }}
{{- if eq .Values.mode "job" }}
{{- $prefixes = append $prefixes (printf "%s-$(K8S_JOB_INDEX).%s" (include "process-simulator.fullname" .) $service) }}
{{- end }}
{{- range $prefixes }}
{{- $names = concat $names (list . (printf "%s.%s" . $namespace) (printf "%s.%s.svc" . $namespace) (printf "%s.%s.svc.%s" . $namespace $.Values.clusterDomain)) }}
{{- end }}
{{- join "," (concat $names .Values.allowedHosts) }}
{{- end }}

{{/* The run's processes in all (what the verdict expects), or nothing when the run has none. */}}
{{- define "process-simulator.runProcesses" -}}
{{- $run := (include "process-simulator.demand" . | fromYaml).runProcesses | int64 }}
{{- if gt $run 0 }}{{ $run }}{{ end }}
{{- end }}
