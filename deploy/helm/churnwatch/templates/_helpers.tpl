{{/* Names, labels and the pieces every workload shares. */}}

{{- define "churnwatch.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "churnwatch.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: include with (dict "root" $ "component" "ingest") */}}
{{- define "churnwatch.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "churnwatch.image" -}}
{{- $tag := .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s%s:%s" .root.Values.image.registry .name $tag -}}
{{- end -}}

{{- define "churnwatch.podAnnotations" -}}
checksum/config: {{ include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum }}
{{- if .root.Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}

{{/* Liveness on /healthz, readiness on /readyz (include with dict "port" N) */}}
{{- define "churnwatch.probes" -}}
startupProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 5
  failureThreshold: 60
livenessProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 6
readinessProbe:
  httpGet: {path: /readyz, port: http}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
{{- end -}}

{{- define "churnwatch.podSpecCommon" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
automountServiceAccountToken: false
securityContext:
{{ toYaml .Values.podSecurityContext | indent 2 }}
{{- end -}}

{{/* The monitor for the alerts service: the headless service's name resolves to every worker,
     asked address by address until the one owning the customer's partition answers. */}}
{{- define "churnwatch.monitorUrl" -}}
{{- $name := include "churnwatch.fullname" . -}}
{{- printf "http://%s-monitor-headless:%d" $name (int .Values.monitor.port) -}}
{{- end -}}

{{/* A volume with the service credential file (monitor token) from the Secret. */}}
{{- define "churnwatch.tokenVolume" -}}
- name: service-token
  secret:
    secretName: {{ .Values.secrets.name }}
    defaultMode: 0440
    items:
      - key: {{ .Values.secrets.keys.monitorToken }}
        path: monitor-token
{{- end -}}

{{/* The Secret's Kafka files in use: setting suffix -> Secret key (from kafka.security). */}}
{{- define "churnwatch.kafkaFiles" -}}
{{- $s := .Values.kafka.security -}}
{{- $k := .Values.secrets.keys -}}
{{- $files := dict -}}
{{- if $s.saslMechanism }}{{ $_ := set $files "SASL_PASSWORD_FILE" $k.kafkaSaslPassword }}{{ end -}}
{{- if $s.caFromSecret }}{{ $_ := set $files "SSL_CAFILE" $k.kafkaCa }}{{ end -}}
{{- if $s.clientCertFromSecret -}}
{{- $_ := set $files "SSL_CERTFILE" $k.kafkaCert -}}
{{- $_ := set $files "SSL_KEYFILE" $k.kafkaKey -}}
{{- end -}}
{{- if $s.keyPasswordFromSecret }}{{ $_ := set $files "SSL_KEYFILE_PASSWORD_FILE" $k.kafkaKeyPassword }}{{ end -}}
{{- toJson $files -}}
{{- end -}}

{{/* Kafka security and topic layout settings (env entries) for every Kafka client. */}}
{{- define "churnwatch.kafkaEnv" -}}
{{- $k := .Values.kafka -}}
{{- $s := $k.security -}}
- {name: CHURNWATCH_KAFKA_SECURITY_PROTOCOL, value: {{ $s.protocol | quote }}}
- {name: CHURNWATCH_KAFKA_SSL_CHECK_HOSTNAME, value: {{ $s.checkHostname | quote }}}
- {name: CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS, value: {{ $k.customerPartitions | quote }}}
- {name: CHURNWATCH_KAFKA_REPLICATION_FACTOR, value: {{ $k.replicationFactor | quote }}}
{{- with $k.minInsyncReplicas }}
- {name: CHURNWATCH_KAFKA_MIN_INSYNC_REPLICAS, value: {{ . | quote }}}
{{- end }}
{{- with $s.saslMechanism }}
- {name: CHURNWATCH_KAFKA_SASL_MECHANISM, value: {{ . | quote }}}
{{- end }}
{{- with $s.saslUsername }}
- {name: CHURNWATCH_KAFKA_SASL_USERNAME, value: {{ . | quote }}}
{{- end }}
{{- range $setting, $key := include "churnwatch.kafkaFiles" . | fromJson }}
- {name: CHURNWATCH_KAFKA_{{ $setting }}, value: /run/secrets/churnwatch-kafka/{{ $key }}}
{{- end }}
{{- end -}}

{{/* The volume with the Kafka files from the Secret; nothing when none is used. */}}
{{- define "churnwatch.kafkaVolume" -}}
{{- $files := include "churnwatch.kafkaFiles" . | fromJson -}}
{{- if $files }}
- name: kafka-secrets
  secret:
    secretName: {{ .Values.secrets.name }}
    defaultMode: 0440
    items:
      {{- range $setting, $key := $files }}
      - {key: {{ $key }}, path: {{ $key }}}
      {{- end }}
{{- end }}
{{- end -}}

{{- define "churnwatch.kafkaMount" -}}
{{- if include "churnwatch.kafkaFiles" . | fromJson }}
- {name: kafka-secrets, mountPath: /run/secrets/churnwatch-kafka, readOnly: true}
{{- end }}
{{- end -}}
