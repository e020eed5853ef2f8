#!/usr/bin/env python3
"""Writes N Deployments (with Services and some PDBs) as one multi-document
YAML stream: the input of the offline probecheck benchmark. Deterministic,
varied enough that every check family has work: probes present, missing,
named ports, startup probes, resources, image tags."""
import sys

def deployment(i):
    name = f"app-{i:05d}"
    ns = f"team-{i % 50:02d}"
    replicas = 1 + i % 4
    probes = ""
    if i % 3 != 0:
        probes += f"""        readinessProbe:
          httpGet: {{path: /ready, port: http}}
          periodSeconds: {5 + i % 10}
"""
    if i % 4 != 0:
        probes += f"""        livenessProbe:
          httpGet: {{path: /healthz, port: {'http' if i % 7 else 'metrics'}}}
          initialDelaySeconds: {i % 90}
          failureThreshold: {1 + i % 3}
"""
    if i % 5 == 0:
        probes += """        startupProbe:
          tcpSocket: {port: 8080}
          failureThreshold: 30
          periodSeconds: 2
"""
    resources = "" if i % 6 == 0 else """        resources:
          requests: {cpu: 50m, memory: 64Mi}
          limits: {memory: 128Mi}
"""
    tag = ":latest" if i % 11 == 0 else f":1.{i % 30}.0"
    out = f"""---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: {name}}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}, tier: web}}
    spec:
      containers:
      - name: main
        image: registry.example.com/{name}{tag}
        ports:
        - {{name: http, containerPort: 8080}}
        env:
        - {{name: MODE, value: production}}
{probes}{resources}"""
    if i % 2 == 0:
        out += f"""---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: http}}]
"""
    if i % 8 == 0:
        out += f"""---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: {name}, namespace: {ns}}}
spec:
  minAvailable: 1
  selector:
    matchLabels: {{app: {name}}}
"""
    return out

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
sys.stdout.write("".join(deployment(i) for i in range(n)))
