#!/bin/sh
# Prints one Service per device of the StatefulSet sepia (packaging/kubernetes/statefulset.yaml):
# Service sepia-K selects pod sepia-K alone (by the pod-name label the StatefulSet controller
# sets), for its adb (6520) and web view (8443). ClusterIP: reachable inside the cluster, and
# from outside with kubectl port-forward svc/sepia-K. Usage: device-services.sh REPLICAS [TYPE]
# (TYPE: ClusterIP, the default, or NodePort/LoadBalancer to publish devices beyond the cluster:
# see README "Many hosts" on what that opens).
#   packaging/kubernetes/device-services.sh 3 | kubectl apply -f -
set -eu
n=${1:?usage: device-services.sh REPLICAS [ClusterIP|NodePort|LoadBalancer]}
type=${2:-ClusterIP}
case $n in '' | *[!0-9]*) echo "device-services.sh: REPLICAS must be a number, not '$n'" >&2; exit 2 ;; esac
case $type in ClusterIP | NodePort | LoadBalancer) ;; *)
	echo "device-services.sh: TYPE must be ClusterIP, NodePort or LoadBalancer, not '$type'" >&2; exit 2 ;;
esac
k=0
while [ "$k" -lt "$n" ]; do
	cat <<YAML
---
apiVersion: v1
kind: Service
metadata:
  name: sepia-$k
  labels:
    app.kubernetes.io/name: sepia
    sepia.dev/device: sepia-$k
spec:
  type: $type
  selector:
    app.kubernetes.io/name: sepia
    statefulset.kubernetes.io/pod-name: sepia-$k
  ports:
    - name: adb
      port: 6520
      targetPort: adb
    - name: webview
      port: 8443
      targetPort: webview
YAML
	k=$((k + 1))
done
