{{/*
The simulator's pod, shared by the three modes. Non-root with no privilege at all: the simulator only
spawns and signals its own children and reads their /proc entries, which needs no capability.
*/}}

{{/* Pod-level security: a fixed non-root uid, the runtime's default seccomp profile. */}}
{{- define "process-simulator.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "process-simulator.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
{{- end }}

{{/*
The writable places a read-only root needs: /tmp for the runtime directory (a copy of the worker and
one hard link per process name, so it must allow exec: an emptyDir does) and /dev/shm for the control
file (32 bytes per process).
*/}}
{{- define "process-simulator.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
- name: shm
  emptyDir:
    medium: Memory
    sizeLimit: 16Mi
{{- if .Values.inlineProfile }}
- name: profile
  configMap:
    name: {{ include "process-simulator.fullname" . }}-profile
{{- end }}
{{- end }}

{{- define "process-simulator.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: shm
  mountPath: /dev/shm
{{- if .Values.inlineProfile }}
- name: profile
  mountPath: /etc/process-simulator
  readOnly: true
{{- end }}
{{- end }}

{{/*
The simulator's environment: only names it reads (src/config/defaults.ts ENV_VARS), plus the pod's
own identity from the downward API (K8S_*), which OTEL_RESOURCE_ATTRIBUTES refers to, and the node's
address, which an OTLP endpoint may (a collector DaemonSet's host port on the same node).
*/}}
{{- define "process-simulator.env" -}}
{{- $v := .Values -}}
# glibc malloc: blocks of 128 KiB or more mapped on their own (see bin/process-simulator.js)
- name: MALLOC_MMAP_THRESHOLD_
  value: "131072"
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: K8S_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: K8S_NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: K8S_NODE_IP
  valueFrom:
    fieldRef:
      fieldPath: status.hostIP
{{- if eq $v.mode "job" }}
- name: K8S_JOB_INDEX
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['batch.kubernetes.io/job-completion-index']
{{- end }}
{{- if $v.inlineProfile }}
- name: PROFILE_FILE
  value: /etc/process-simulator/profile.yaml
{{- else }}
- name: PROFILE
  value: {{ $v.profile | quote }}
{{- end }}
{{- if eq $v.mode "job" }}
{{- if not (kindIs "invalid" $v.processCount) }}
- name: PROCESS_COUNT
  value: {{ $v.processCount | int64 | quote }}
{{- else if not (kindIs "invalid" $v.processesPerShard) }}
- name: PROCESS_COUNT
  value: {{ mul ($v.processesPerShard | int64) ($v.shards | int64) | quote }}
{{- end }}
- name: SHARD_COUNT
  value: {{ $v.shards | int64 | quote }}
- name: DURATION
  value: {{ $v.duration | quote }}
- name: START_AT
  value: {{ include "process-simulator.startAt" . | quote }}
- name: LINGER
  value: {{ $v.linger | quote }}
{{- else }}
{{- if not (kindIs "invalid" $v.processesPerShard) }}
- name: PROCESS_COUNT
  value: {{ $v.processesPerShard | int64 | quote }}
{{- end }}
{{- with $v.startAt }}
- name: START_AT
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if not (kindIs "invalid" $v.seed) }}
- name: SEED
  value: {{ $v.seed | int64 | quote }}
{{- end }}
{{- if $v.chaos }}
- name: ENABLE_CHAOS
  value: "true"
{{- end }}
- name: API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "process-simulator.tokenSecretName" . }}
      key: {{ $v.apiToken.key }}
- name: CONTROL_HOST
  value: 0.0.0.0
- name: ALLOWED_HOSTS
  value: {{ include "process-simulator.allowedHosts" . | quote }}
- name: CONTROL_PORT
  value: {{ $v.service.controlPort | int64 | quote }}
- name: METRICS_HOST
  value: 0.0.0.0
- name: METRICS_PORT
  value: {{ $v.service.metricsPort | int64 | quote }}
{{- if $v.exporter.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $v.exporter.otlpEndpoint | quote }}
{{- else }}
- name: OTEL_METRICS_EXPORTER
  value: none
{{- end }}
{{- if $v.exporter.headersSecret.name }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef:
      name: {{ $v.exporter.headersSecret.name }}
      key: {{ $v.exporter.headersSecret.key }}
{{- end }}
- name: OTEL_METRIC_EXPORT_INTERVAL
  value: {{ include "process-simulator.ms" (dict "value" $v.exporter.interval "field" "exporter.interval") | quote }}
- name: SIMULATION_ATTRIBUTES
  value: {{ $v.exporter.simulationAttributes | quote }}
- name: OPTIONAL_METRICS
  value: {{ $v.exporter.optionalMetrics | quote }}
{{- $attributes := list "k8s.pod.name=$(K8S_POD_NAME)" "k8s.namespace.name=$(K8S_NAMESPACE)" "k8s.node.name=$(K8S_NODE_NAME)" }}
{{- with $v.experimentId }}
{{- $attributes = append $attributes (printf "experiment.id=%s" .) }}
{{- end }}
{{- range $key, $value := $v.exporter.resourceAttributes }}
{{- $attributes = append $attributes (printf "%s=%s" $key $value) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attributes | quote }}
- name: LOG_LEVEL
  value: {{ $v.logLevel | quote }}
{{- range $v.extraEnv }}
- name: {{ .name }}
  value: {{ .value | quote }}
{{- end }}
{{- end }}

{{/* What a shard derives from its profile, as pod annotations: reviewable before anything runs. */}}
{{- define "process-simulator.demandAnnotations" -}}
{{- $d := include "process-simulator.demand" . | fromYaml -}}
process-simulator/processes-per-shard: {{ $d.processes | quote }}
process-simulator/tasks-per-shard: {{ $d.tasks | quote }}
process-simulator/fds-per-shard: {{ $d.fds | quote }}
process-simulator/pids-needed: {{ $d.pids | quote }}
process-simulator/memory-mib: {{ $d.memoryRequestMi | quote }}
process-simulator/milli-cpu: {{ $d.milliCpu | quote }}
{{- end }}

{{- define "process-simulator.resources" -}}
{{- $d := include "process-simulator.demand" . | fromYaml }}
{{- $r := .Values.resources -}}
requests:
  cpu: {{ $r.cpu | default (printf "%dm" ($d.milliCpu | int64)) | quote }}
  memory: {{ $r.memory | default (printf "%dMi" ($d.memoryRequestMi | int64)) | quote }}
{{- if gt (float64 $r.memoryLimitRatio) 0.0 }}
limits:
{{- if $r.memory }}
  {{- /* An explicit request: the ratio applies to it, in Mi, rounded up. */}}
  memory: {{ printf "%dMi" (ceil (mulf (include "process-simulator.quantityMi" $r.memory) $r.memoryLimitRatio) | int64) | quote }}
{{- else }}
  memory: {{ printf "%dMi" ($d.memoryLimitMi | int64) | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* A memory quantity (512Mi, 2Gi, 1G, 1000000) in MiB, for the limit ratio. */}}
{{- define "process-simulator.quantityMi" -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" . }}
{{- $unit := trimPrefix $number . }}
{{- $bytes := get (dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776) $unit }}
{{- divf (mulf $number $bytes) 1048576 }}
{{- end }}

{{/* The simulator container. */}}
{{- define "process-simulator.container" -}}
- name: simulator
  image: {{ include "process-simulator.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["node", "--max-semi-space-size=16", "--heap-growing-percent=50", "--liftoff-only", "src/main.ts"]
  env:
    {{- include "process-simulator.env" . | nindent 4 }}
  ports:
    - name: control
      containerPort: {{ .Values.service.controlPort }}
      protocol: TCP
    - name: metrics
      containerPort: {{ .Values.service.metricsPort }}
      protocol: TCP
  startupProbe:
    httpGet:
      path: /health
      port: control
    periodSeconds: 2
    failureThreshold: {{ div (add .Values.probes.startupSeconds 1) 2 }}
  readinessProbe:
    httpGet:
      path: /health
      port: control
    periodSeconds: {{ .Values.probes.periodSeconds }}
    failureThreshold: 2
  livenessProbe:
    httpGet:
      path: /health
      port: control
    periodSeconds: {{ .Values.probes.periodSeconds }}
    failureThreshold: {{ .Values.probes.failureThreshold }}
  resources:
    {{- include "process-simulator.resources" . | nindent 4 }}
  securityContext:
    {{- include "process-simulator.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    {{- include "process-simulator.volumeMounts" . | nindent 4 }}
  terminationMessagePolicy: FallbackToLogsOnError
{{- end }}

{{/* The pod spec; restartPolicy comes from the mode. */}}
{{- define "process-simulator.podSpec" -}}
{{- $root := .root }}
{{- $v := $root.Values -}}
restartPolicy: {{ .restartPolicy }}
{{- with .subdomain }}
subdomain: {{ . }}
{{- end }}
automountServiceAccountToken: false
enableServiceLinks: false
terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
securityContext:
  {{- include "process-simulator.podSecurityContext" $root | nindent 2 }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $tolerations := concat ($v.tolerations | default list) (eq $v.mode "daemonset" | ternary ($v.daemonset.tolerations | default list) list) }}
{{- with $tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  {{- include "process-simulator.container" $root | nindent 2 }}
volumes:
  {{- include "process-simulator.volumes" $root | nindent 2 }}
{{- end }}

{{/* Pod template metadata: labels, the derived demand, and a checksum that rolls pods on a new profile. */}}
{{- define "process-simulator.podMetadata" -}}
labels:
  {{- include "process-simulator.commonLabels" . | nindent 2 }}
  {{- include "process-simulator.selectorLabels" . | nindent 2 }}
  {{- with .Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  {{- include "process-simulator.demandAnnotations" . | nindent 2 }}
  {{- if .Values.inlineProfile }}
  checksum/profile: {{ toYaml .Values.inlineProfile | sha256sum }}
  {{- end }}
  {{- with .Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
