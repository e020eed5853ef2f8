{{/* The selector labels: the Deployment's selector, its pods', the Service's. */}}
{{- define "rsdemo.selector" -}}
app.kubernetes.io/name: rsdemo
app.kubernetes.io/instance: {{ .Release.Name }}
tier: {{ .Values.tier | quote }}
{{- end -}}

{{- define "rsdemo.labels" -}}
{{ include "rsdemo.selector" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The CRD's API group: one per release namespace. */}}
{{- define "rsdemo.group" -}}
{{ .Release.Namespace }}.rsdemo.e2e.rollguard.io
{{- end -}}
