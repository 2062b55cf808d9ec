{{/*
What one shard asks of its node, from the profile: the same sums as the simulator's profileDemand
(src/profiles/demand.ts), which Helm cannot run, so they are redone here.

Built-in profiles come from profiles.yaml, written by scripts/chart-profiles.ts from the simulator's
own tables (a test fails when it is stale). An inline profile is worked out below from its
templates: peak memory of a pattern (steady value, spiky max(base, peak), growing max(start, max),
random max) in MiB, at least the worker's floor; average CPU with the share of time a churned
process is alive and the CPU its spawns cost.

The shard's share is an upper bound, not the exact count: one pod template serves every shard, so it
must fit the fullest. A run scaled to a total T holds the simulator's own counts (scaleProfile in
src/profiles/plan.ts, redone below in integers: floors of c T / C, one more for the largest
remainders, then one for every kind left without, taken from the kind that has the most), and a shard
at most ceil of a kind's count over the shards (processes are dealt round-robin). The bound exceeds
the fullest shard by less than one process of each template.
*/}}

{{/* Peak of a pattern (a number is steady). */}}
{{- define "process-simulator.peak" -}}
{{- $p := . }}
{{- if not (kindIs "map" $p) }}{{ float64 $p }}
{{- else if eq $p.pattern "steady" }}{{ float64 $p.value }}
{{- else if eq $p.pattern "spiky" }}{{ maxf $p.base $p.peak }}
{{- else if eq $p.pattern "growing" }}{{ maxf $p.start $p.max }}
{{- else }}{{ float64 $p.max }}
{{- end }}
{{- end }}

{{/* Average of a pattern over a long run (demand.ts meanOf). Called with (dict "p" P "field" F). */}}
{{- define "process-simulator.mean" -}}
{{- $p := .p }}
{{- if not (kindIs "map" $p) }}{{ float64 $p }}
{{- else if eq $p.pattern "steady" }}{{ float64 $p.value }}
{{- else if eq $p.pattern "spiky" }}
{{- $every := include "process-simulator.ms" (dict "value" $p.every "field" (printf "%s.every" .field)) | float64 }}
{{- $for := include "process-simulator.ms" (dict "value" (get $p "for") "field" (printf "%s.for" .field)) | float64 }}
{{- if gt $every 0.0 }}{{ addf $p.base (divf (mulf (subf $p.peak $p.base) (minf $for $every)) $every) }}
{{- else }}{{ float64 $p.base }}
{{- end }}
{{- else if eq $p.pattern "growing" }}{{ maxf $p.start $p.max }}
{{- else }}{{ divf (addf $p.min $p.max) 2 }}
{{- end }}
{{- end }}

{{/*
The rules of the simulator's profile schema (src/profiles/schema.ts, its superRefine) that a JSON
Schema cannot state: refused here with the simulator's own words, before a pod would exit with 2.
*/}}
{{- define "process-simulator.checkTemplate" -}}
{{- $t := .t }}
{{- $widest := $t.name | replace "{i}" (toString (max 1 ($t.count | int64))) | replace "{g}" "999" }}
{{- if gt (len $widest) 15 }}
{{- fail (printf "%s.name: %q expands to %q (%d bytes); Linux keeps only 15 bytes of a process name" .field $t.name $widest (len $widest)) }}
{{- end }}
{{- range $key := list "cpu" "memory" }}
{{- $p := get $t $key }}
{{- if kindIs "map" $p }}
{{- if eq $p.pattern "spiky" }}
{{- $every := include "process-simulator.ms" (dict "value" $p.every "field" (printf "%s.%s.every" $.field $key)) | int64 }}
{{- $for := include "process-simulator.ms" (dict "value" (get $p "for") "field" (printf "%s.%s.for" $.field $key)) | int64 }}
{{- if gt $for $every }}
{{- fail (printf "%s.%s.for: a spike cannot last longer than `every`" $.field $key) }}
{{- end }}
{{- else if and (eq $p.pattern "growing") (lt (float64 $p.max) (float64 $p.start)) }}
{{- fail (printf "%s.%s.max: max must be >= start" $.field $key) }}
{{- else if and (eq $p.pattern "random") (lt (float64 $p.max) (float64 $p.min)) }}
{{- fail (printf "%s.%s.max: max must be >= min" $.field $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- if gt (include "process-simulator.peak" ($t.cpu | default 0) | float64) 100.0 }}
{{- fail (printf "%s.cpu: CPU is a share of one core: at most 100 (%%)" .field) }}
{{- end }}
{{- if and $t.quirks (hasKey $t.quirks "user") (gt ($t.count | int64) 0) }}
{{- fail (printf "%s.quirks.user: running a process as %v needs the simulator to run as root; the chart's pods run without privilege" .field $t.quirks.user) }}
{{- end }}
{{- if and $t.lifetime (eq $t.priority "critical") }}
{{- fail (printf "%s.lifetime: critical processes are never churned: omit lifetime" .field) }}
{{- end }}
{{- if kindIs "map" $t.lifetime }}
{{- $min := include "process-simulator.ms" (dict "value" $t.lifetime.min "field" (printf "%s.lifetime.min" .field)) | int64 }}
{{- $max := include "process-simulator.ms" (dict "value" $t.lifetime.max "field" (printf "%s.lifetime.max" .field)) | int64 }}
{{- if lt $max $min }}
{{- fail (printf "%s.lifetime.max: max must be >= min" .field) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
One inline template as profiles.yaml holds a built-in one: count, memoryMiB, threads, fds and
cpuPercent per process. Called with (dict "t" TEMPLATE "i" INDEX "constants" CONSTANTS).
*/}}
{{- define "process-simulator.inlineTemplate" -}}
{{- $t := .t }}
{{- $field := printf "inlineProfile.templates[%d]" .i }}
{{- include "process-simulator.checkTemplate" (dict "t" $t "field" $field) }}
{{- $memory := include "process-simulator.peak" ($t.memory | default 0) | float64 }}
{{- $mean := include "process-simulator.mean" (dict "p" ($t.cpu | default 0) "field" (printf "%s.cpu" $field)) | float64 }}
{{- $alive := 1.0 }}
{{- $startsPerSecond := 0.0 }}
{{- if and $t.lifetime (eq ($t.restart | default "always") "always") }}
{{- $min := 0.0 }}
{{- $max := 0.0 }}
{{- if kindIs "map" $t.lifetime }}
{{- $min = include "process-simulator.ms" (dict "value" $t.lifetime.min "field" (printf "%s.lifetime.min" $field)) | float64 }}
{{- $max = include "process-simulator.ms" (dict "value" $t.lifetime.max "field" (printf "%s.lifetime.max" $field)) | float64 }}
{{- else }}
{{- $min = include "process-simulator.ms" (dict "value" $t.lifetime "field" (printf "%s.lifetime" $field)) | float64 }}
{{- $max = $min }}
{{- end }}
{{- $lifeS := divf (addf $min $max) 2000 }}
{{- $delayS := divf (include "process-simulator.ms" (dict "value" ($t.restart_delay | default 0) "field" (printf "%s.restart_delay" $field)) | float64) 1000 }}
{{- $cycleS := addf $lifeS $delayS }}
{{- if gt $cycleS 0.0 }}
{{- $alive = divf $lifeS $cycleS }}
{{- $startsPerSecond = divf 1 $cycleS }}
{{- end }}
{{- end }}
count: {{ $t.count | int64 }}
memoryMiB: {{ maxf .constants.workerFloorMiB $memory | printf "%.6f" }}
threads: {{ $t.threads | default 1 | int64 }}
fds: {{ $t.fds | default 3 | int64 }}
cpuPercent: {{ addf (mulf $mean $alive) (divf (mulf $startsPerSecond .constants.spawnCpuMs) 10) | printf "%.6f" }}
{{- end }}

{{/*
The demand of one shard, as YAML: processes, tasks, fds, memoryMiB, cpuPercent (of one core), the
chaos headroom, and what the pod gets from them (memoryRequestMi, memoryLimitMi, milliCpu, pids).
*/}}
{{- define "process-simulator.demand" -}}
{{- $v := .Values }}
{{- $table := .Files.Get "profiles.yaml" | fromYaml }}
{{- $constants := $table.constants }}
{{- $templates := list }}
{{- $chaos := dict }}
{{- $chaosOn := $v.chaos }}
{{- if $v.inlineProfile }}
{{- range $i, $t := $v.inlineProfile.templates }}
{{- $templates = append $templates (include "process-simulator.inlineTemplate" (dict "t" $t "i" $i "constants" $constants) | fromYaml) }}
{{- end }}
{{- $defaults := $table.defaultChaos }}
{{- if hasKey $v.inlineProfile "chaos" }}
{{- $chaosOn = true }}
{{- $settings := $v.inlineProfile.chaos | default dict }}
{{- $spike := mulf $defaults.spikeMinutes 60000 }}
{{- if hasKey $settings "spike_duration" }}
{{- $spike = include "process-simulator.ms" (dict "value" $settings.spike_duration "field" "inlineProfile.chaos.spike_duration") | float64 }}
{{- end }}
{{- $leak := mulf $defaults.leakMinutes 60000 }}
{{- if hasKey $settings "leak_duration" }}
{{- $leak = include "process-simulator.ms" (dict "value" $settings.leak_duration "field" "inlineProfile.chaos.leak_duration") | float64 }}
{{- end }}
{{- $chaos = dict "spikesPerMinute" (hasKey $settings "spikes_per_minute" | ternary (get $settings "spikes_per_minute") $defaults.spikesPerMinute) "spikePercent" (hasKey $settings "spike_percent" | ternary (get $settings "spike_percent") $defaults.spikePercent) "spikeMinutes" (divf $spike 60000) "leaksPerMinute" (hasKey $settings "leaks_per_minute" | ternary (get $settings "leaks_per_minute") $defaults.leaksPerMinute) "leakMiBPerMinute" (hasKey $settings "leak_mib_per_minute" | ternary (get $settings "leak_mib_per_minute") $defaults.leakMiBPerMinute) "leakMinutes" (divf $leak 60000) }}
{{- else }}
{{- $chaos = $defaults }}
{{- end }}
{{- else }}
{{- $name := get $table.aliases $v.profile | default $v.profile }}
{{- $entry := get $table.profiles $name }}
{{- if not $entry }}
{{- fail (printf "profile: %q is not a built-in profile (%s)" $v.profile (keys $table.profiles | sortAlpha | join ", ")) }}
{{- end }}
{{- if $entry.needsRoot }}
{{- fail (printf "profile: %s runs a process as another user (quirks.user), which needs the simulator to run as root; the chart's pods run without privilege: pick another profile, or run this one on a host" $v.profile) }}
{{- end }}
{{- $templates = $entry.templates }}
{{- if $entry.chaos }}
{{- $chaosOn = true }}
{{- $chaos = $entry.chaos }}
{{- else }}
{{- $chaos = $table.defaultChaos }}
{{- end }}
{{- end }}

{{- /* The run's total and the number of shards it is split over. */}}
{{- $shards := eq $v.mode "job" | ternary ($v.shards | int64) 1 }}
{{- $total := -1 }}
{{- if and (eq $v.mode "job") (not (kindIs "invalid" $v.processCount)) }}
{{- $total = $v.processCount | int64 }}
{{- else if not (kindIs "invalid" $v.processesPerShard) }}
{{- $total = mul ($v.processesPerShard | int64) $shards }}
{{- end }}
{{- if gt $total 100000 }}
{{- fail (printf "processesPerShard x shards = %d processes; a run holds at most 100000 (PROCESS_COUNT)" $total) }}
{{- end }}
{{- $current := 0 }}
{{- range $templates }}{{ $current = add $current (.count | int64) }}{{ end }}
{{- $scaling := and (ge $total 0) (gt $current 0) (ne $total $current) }}
{{- $runTotal := $scaling | ternary $total $current }}

{{- /* The run's count of each template, by its index: scaleProfile's, step by step (see above). */}}
{{- $counts := dict }}
{{- range $i, $t := $templates }}{{ $_ := set $counts (toString $i) ($t.count | int64) }}{{ end }}
{{- if $scaling }}
{{- $missing := $total }}
{{- range $i, $t := $templates }}
{{- $floor := div (mul ($t.count | int64) $total) $current }}
{{- $_ := set $counts (toString $i) $floor }}
{{- $missing = sub $missing $floor }}
{{- end }}
{{- /* One more for the `missing` largest remainders, equal ones in template order. */}}
{{- range $i, $t := $templates }}
{{- $rest := mod (mul ($t.count | int64) $total) $current }}
{{- $rank := 0 }}
{{- range $j, $u := $templates }}
{{- $other := mod (mul ($u.count | int64) $total) $current }}
{{- if or (gt $other $rest) (and (eq $other $rest) (lt $j $i)) }}{{ $rank = add $rank 1 }}{{ end }}
{{- end }}
{{- if lt $rank $missing }}{{ $_ := set $counts (toString $i) (add (get $counts (toString $i)) 1) }}{{ end }}
{{- end }}
{{- /* At least one of every kind when the total allows it, from the first kind that has the most. */}}
{{- $kinds := 0 }}
{{- range $templates }}{{ if gt (.count | int64) 0 }}{{ $kinds = add $kinds 1 }}{{ end }}{{ end }}
{{- if ge $total $kinds }}
{{- range $i, $t := $templates }}
{{- if and (gt ($t.count | int64) 0) (eq (get $counts (toString $i) | int64) 0) }}
{{- $donor := 0 }}
{{- $most := -1 }}
{{- range $j, $u := $templates }}
{{- $n := get $counts (toString $j) | int64 }}
{{- if gt $n $most }}{{ $donor = $j }}{{ $most = $n }}{{ end }}
{{- end }}
{{- $_ := set $counts (toString $donor) (sub $most 1) }}
{{- $_ := set $counts (toString $i) 1 }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- $processes := 0 }}
{{- $tasks := 0 }}
{{- $fds := 0 }}
{{- $memory := 0.0 }}
{{- $cpu := 0.0 }}
{{- range $i, $t := $templates }}
{{- $count := get $counts (toString $i) | int64 }}
{{- $share := div (add $count $shards -1) $shards }}
{{- $processes = add $processes $share }}
{{- $tasks = add $tasks (mul $share (.threads | int64)) }}
{{- $fds = add $fds (mul $share (.fds | int64)) }}
{{- $memory = addf $memory (mulf $share .memoryMiB) }}
{{- $cpu = addf $cpu (mulf $share .cpuPercent) }}
{{- end }}
{{- /* No shard holds more than its round-robin share of the whole run. */}}
{{- $processes = min $processes (div (add $runTotal $shards -1) $shards) }}

{{- $maxProcesses := 12000 }}
{{- range $v.extraEnv }}{{ if eq .name "MAX_PROCESSES" }}{{ $maxProcesses = .value | int64 }}{{ end }}{{ end }}
{{- if gt $processes $maxProcesses }}
{{- fail (printf "a shard would hold up to %d processes, above the simulator's cap of %d (MAX_PROCESSES): use more shards, or raise MAX_PROCESSES in extraEnv" $processes $maxProcesses) }}
{{- end }}

{{- $leakMiB := 0.0 }}
{{- $spikeCpu := 0.0 }}
{{- if $chaosOn }}
{{- /* The leaks under way at once on average, plus one, each at its full growth. */}}
{{- $leakMiB = mulf (ceil (addf (mulf $chaos.leaksPerMinute $chaos.leakMinutes) 1)) (mulf $chaos.leakMiBPerMinute $chaos.leakMinutes) }}
{{- $spikeCpu = mulf $chaos.spikesPerMinute $chaos.spikeMinutes $chaos.spikePercent }}
{{- end }}

{{- $o := $v.resources.overhead }}
{{- $kernelMiB := divf (mulf $processes $o.kernelKiBPerProcess) 1024 }}
{{- $engineMiB := addf $o.engineMiB (divf (mulf $processes $o.engineKiBPerProcess) 1024) }}
{{- $memoryTotal := addf $memory $kernelMiB $engineMiB $leakMiB }}
{{- $request := ceil $memoryTotal | int64 }}
{{- $engineMilli := addf $o.engineMilliCpu (divf (mulf $processes $o.engineMilliCpuPerThousand) 1000) }}
{{- $milli := ceil (addf (mulf (addf $cpu $spikeCpu) 10) $engineMilli) | int64 }}
{{- /* Churn and kills: an exited process is reaped a moment after its replacement may have started. */}}
{{- $pids := add $tasks (div (add $tasks 9) 10) ($o.engineTasks | int64) }}
{{- if and (gt ($v.resources.podPidsLimit | int64) 0) (gt $pids ($v.resources.podPidsLimit | int64)) }}
{{- fail (printf "a shard needs up to %d tasks (%d of its processes' threads, 10%% for churn, %d for the engine), above resources.podPidsLimit=%d: use more shards or fewer threads" $pids $tasks ($o.engineTasks | int64) ($v.resources.podPidsLimit | int64)) }}
{{- end }}
processes: {{ $processes }}
runProcesses: {{ $runTotal }}
tasks: {{ $tasks }}
fds: {{ $fds }}
memoryMiB: {{ printf "%.4f" $memory }}
cpuPercent: {{ printf "%.4f" $cpu }}
chaos: {{ $chaosOn }}
chaosLeakMiB: {{ printf "%.4f" $leakMiB }}
chaosCpuPercent: {{ printf "%.4f" $spikeCpu }}
memoryRequestMi: {{ $request }}
{{- if gt (float64 $v.resources.memoryLimitRatio) 0.0 }}
memoryLimitMi: {{ ceil (mulf $request $v.resources.memoryLimitRatio) | int64 }}
{{- end }}
milliCpu: {{ max $milli 1 }}
pids: {{ $pids }}
{{- end }}
