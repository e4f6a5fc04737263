#!/bin/sh
# scripts/fleet-status.sh on `kubectl get pods -o json` output, without a cluster: the pods are
# the StatefulSet's own (tests/kube/pod-from-statefulset.py for ordinals 0..3), each given a
# status as the kubelet reports it: ready, running but not ready, crash-looping, pending. Also a
# pod of another app (left out), a fake kubectl on PATH (the default mode passes its arguments
# and label selector on), hostile input (not JSON, a failing kubectl) and bad usage.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/e2e/require.sh"
python3 -c 'import yaml' 2>/dev/null || skip "python3 with yaml is needed (python3-yaml)"
k8s=$top_srcdir/packaging/kubernetes
fleet=$top_srcdir/scripts/fleet-status.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/sepia-fleet.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

for k in 0 1 2 3; do
	python3 "$top_srcdir/tests/kube/pod-from-statefulset.py" "$k8s/statefulset.yaml" --ordinal "$k" >"$work/pod$k.json" || exit 1
done
python3 - "$work" >"$work/pods.json" <<'PY'
import json, sys
w = sys.argv[1]
pods = [json.load(open(f"{w}/pod{k}.json")) for k in range(4)]
name = pods[0]["spec"]["containers"][0]["name"]
states = [
    ({"running": {}}, True, "10.0.0.10"),
    ({"running": {}}, False, "10.0.0.11"),
    ({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting"}}, False, "10.0.0.12"),
    ({"waiting": {"reason": "ContainerCreating"}}, False, None),
]
for k, (p, (state, ready, ip)) in enumerate(zip(pods, states)):
    p["metadata"]["namespace"] = "devices"
    p["spec"]["nodeName"] = f"node-{k % 2}"
    p["status"] = {"phase": "Running" if ip else "Pending",
                   "containerStatuses": [{"name": name, "ready": ready, "state": state, "restartCount": k}]}
    if ip:
        p["status"]["podIP"] = ip
other = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web"}},
         "spec": {"containers": [{"name": "web", "image": "x"}]}, "status": {"phase": "Running"}}
json.dump({"apiVersion": "v1", "kind": "List", "items": pods + [other]}, sys.stdout)
PY

tap_begin
echo "1..6"
sh "$fleet" --file "$work/pods.json" >"$work/out" 2>"$work/err"
rc=$?
python3 - "$work/out" "$k8s/statefulset.yaml" >"$work/verdict" 2>&1 <<'PY'
import json, sys, yaml
devs = json.load(open(sys.argv[1]))
sts = next(d for d in yaml.safe_load_all(open(sys.argv[2])) if d and d["kind"] == "StatefulSet")
tmpl = sts["spec"]["template"]
args = dict(a[2:].split("=", 1) for a in tmpl["spec"]["containers"][0]["args"])
port = tmpl["metadata"]["annotations"]["sepia.dev/adb-port"]
name = tmpl["metadata"]["labels"]["sepia.dev/instance-name"]
want = [("sepia-0", "Running", f"10.0.0.10:{port}"), ("sepia-1", "Booting", f"10.0.0.11:{port}"),
        ("sepia-2", "Failed", f"10.0.0.12:{port}"), ("sepia-3", "Pending", "")]
bad = []
if [d["pod"] for d in devs] != [w[0] for w in want]:
    bad.append(f"pods {[d['pod'] for d in devs]}")
for d, (pod, status, serial) in zip(devs, want):
    got = (d["pod"], d["status"], d["adb_serial"])
    if got != (pod, status, serial):
        bad.append(f"{got} != {(pod, status, serial)}")
    if d["instance_name"] != name or d["namespace"] != "devices" or d["cpus"] != int(args["cpus"]) or d["memory_mb"] != int(args["memory_mb"]):
        bad.append(f"{pod}: {d}")
if len(devs) > 2 and "CrashLoopBackOff" not in devs[2]["failure"]:
    bad.append(f"sepia-2's failure: {devs[2]['failure']!r}")
print("\n".join(bad) or "as expected")
sys.exit(1 if bad else 0)
PY
verdict=$?
check '[ $rc = 0 ] && [ $verdict = 0 ]' "--file: one entry per device pod (the other app's pod left out): Running, Booting, Failed (CrashLoopBackOff), Pending, with the manifest's instance name, adb port, --cpus and --memory_mb"
note "$work/verdict" "$work/err"

check 'sh "$fleet" --file - <"$work/pods.json" | cmp -s - "$work/out"' "--file - reads the same from stdin"

# The default mode runs kubectl with the sepia label selector and the given arguments.
mkdir "$work/bin"
cat >"$work/bin/kubectl" <<EOF
#!/bin/sh
echo "\$*" >"$work/kubectl.args"
cat "$work/pods.json"
EOF
chmod +x "$work/bin/kubectl"
PATH=$work/bin:$PATH sh "$fleet" -n devices >"$work/out2" 2>&1
check 'cmp -s "$work/out" "$work/out2" && grep -qx -- "get pods -l app.kubernetes.io/name=sepia -o json -n devices" "$work/kubectl.args"' \
	"kubectl mode: kubectl get pods -l app.kubernetes.io/name=sepia -o json plus the arguments given, the same JSON"

printf '#!/bin/sh\necho "error: You must be logged in" >&2\nexit 1\n' >"$work/bin/kubectl"
PATH=$work/bin:$PATH sh "$fleet" >"$work/out3" 2>"$work/err3"
rc=$?
check '[ $rc = 1 ] && grep -q "kubectl get pods .* failed: error: You must be logged in" "$work/err3"' "a failing kubectl: exit 1 with kubectl's own message"

printf '{"items": [' >"$work/broken.json"
sh "$fleet" --file "$work/broken.json" >/dev/null 2>"$work/err4"
rc=$?
check '[ $rc != 0 ] && [ -s "$work/err4" ]' "input that is not JSON is refused"

sh "$fleet" --podman extra >/dev/null 2>&1
rc1=$?
sh "$fleet" --file >/dev/null 2>&1
rc2=$?
check '[ $rc1 = 2 ] && [ $rc2 = 2 ]' "usage errors exit 2"
[ "$failed" = 0 ]
