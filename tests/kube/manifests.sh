#!/bin/sh
# packaging/kubernetes/ checked against Kubernetes' OpenAPI schema (npm's kubernetes-models, see
# validate.mjs) and against what the device needs: the StatefulSet and its headless Service, the
# kvm-hostpath variant (its patch applied), the per-device Services of device-services.sh and the
# Pod that podman kube play is given; a broken copy must be refused (so the schema is really
# applied). Then the rules the README states: no privileged container, /dev/kvm from the device
# plugin (or the hostPath CharDevice in the fallback), requests matching --cpus and --memory_mb plus
# the measured overhead, readiness and liveness from sepia-container-probe, a preStop stop_cvd, a
# volume claim under $HOME. Skips (77) without node or kubernetes-models (make kube-validator
# installs it into the build tree; or set KUBE_MODELS_DIR to a node_modules holding it).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/e2e/require.sh"
command -v node >/dev/null 2>&1 || skip "node is not installed (apt-get install nodejs npm)"
command -v python3 >/dev/null 2>&1 && python3 -c 'import yaml' 2>/dev/null || skip "python3 with yaml is needed"
models=
for d in ${KUBE_MODELS_DIR:-} "$top_builddir/tests/kube/node_modules" "$(npm root -g 2>/dev/null)"; do
	[ -n "$d" ] && [ -f "$d/kubernetes-models/package.json" ] && { models=$d; break; }
done
[ -n "$models" ] || skip "npm's kubernetes-models is not installed (make kube-validator, or KUBE_MODELS_DIR)"
k8s=$top_srcdir/packaging/kubernetes
work=$(mktemp -d "${TMPDIR:-/tmp}/sepia-kube-manifests.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

tap_begin
echo "1..6"
# Every object, as one JSON array.
{
	cat "$k8s/statefulset.yaml"
	echo ---
	python3 "$top_srcdir/tests/kube/pod-from-statefulset.py" "$k8s/statefulset.yaml" \
		--patch "$k8s/kvm-hostpath/patch.yaml" --statefulset-only
	sh "$k8s/device-services.sh" 3
	echo ---
	python3 "$top_srcdir/tests/kube/pod-from-statefulset.py" "$k8s/statefulset.yaml" \
		--patch "$k8s/kvm-hostpath/patch.yaml" --ordinal 2 --host-port adb=16520 --host-port webview=18443
} >"$work/all.yaml" 2>"$work/gen.err"
python3 -c 'import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)' \
	<"$work/all.yaml" >"$work/all.json" 2>>"$work/gen.err"
check '[ -s "$work/all.json" ] && [ ! -s "$work/gen.err" ]' "the manifests, the hostPath variant, 3 device Services and the played Pod are made"
note "$work/gen.err"
node "$top_srcdir/tests/kube/validate.mjs" "$models" "$work/all.json" >"$work/validate.out" 2>&1
rc=$?
[ $rc = 77 ] && skip "$(cat "$work/validate.out")"
check '[ $rc = 0 ] && [ "$(grep -c "^ok " "$work/validate.out")" = 7 ]' "all 7 objects validate against the OpenAPI schema ($(sed -n 's/"version": "\(.*\)",/\1/p' "$models/kubernetes-models/package.json" | tr -d ' ') of kubernetes-models)"
note "$work/validate.out"

# A StatefulSet with a port given by name where a number belongs, and a Service without ports'
# numbers: both must be refused.
python3 - "$work/all.json" >"$work/broken.json" <<'PY'
import json, sys
objs = json.load(open(sys.argv[1]))
sts = next(o for o in objs if o["kind"] == "StatefulSet")
sts["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "adb"
svc = next(o for o in objs if o["kind"] == "Service")
del svc["spec"]["ports"][0]["port"]
json.dump([sts, svc], sys.stdout)
PY
node "$top_srcdir/tests/kube/validate.mjs" "$models" "$work/broken.json" >"$work/broken.out" 2>&1
rc=$?
check '[ $rc = 1 ] && [ "$(grep -c "^not ok " "$work/broken.out")" = 2 ]' "a containerPort given as a string and a Service port without a number are refused"
note "$work/broken.out"

# The device's own rules.
python3 - "$work/all.json" >"$work/rules.out" 2>&1 <<'PY'
import json, re, sys
objs = json.load(open(sys.argv[1]))
base, hostpath = [o for o in objs if o["kind"] == "StatefulSet"]
errors = []
def err(msg): errors.append(msg)
def mib(q):
    m = re.fullmatch(r"(\d+)(Mi|Gi)", q)
    return int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1) if m else None
for name, sts in (("base", base), ("kvm-hostpath", hostpath)):
    spec = sts["spec"]["template"]["spec"]
    if json.dumps(sts).find('"privileged": true') >= 0:
        err(f"{name}: privileged: true")
    c = spec["containers"][0]
    args = dict(a[2:].split("=", 1) for a in c.get("args", []) if a.startswith("--") and "=" in a)
    overhead = int(sts["spec"]["template"]["metadata"]["annotations"]["sepia.dev/memory-overhead-mb"])
    req, lim = c["resources"]["requests"], c["resources"].get("limits", {})
    if req.get("cpu") != args.get("cpus"):
        err(f"{name}: cpu request {req.get('cpu')} is not --cpus={args.get('cpus')}")
    want = int(args["memory_mb"]) + overhead
    if mib(req.get("memory", "")) != want or mib(lim.get("memory", "")) != want:
        err(f"{name}: memory request/limit {req.get('memory')}/{lim.get('memory')} is not --memory_mb + {overhead} MiB = {want}Mi")
    kvm = "devices.kubevirt.io/kvm"
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    if name == "base" and (req.get(kvm) != "1" or lim.get(kvm) != "1"):
        err(f"base: no {kvm} request and limit")
    if name == "kvm-hostpath":
        if kvm in req or kvm in lim:
            err(f"kvm-hostpath: still asks for {kvm}")
        v = vols.get(mounts.get("/dev/kvm"), {}).get("hostPath", {})
        if v != {"path": "/dev/kvm", "type": "CharDevice"}:
            err(f"kvm-hostpath: /dev/kvm is not a hostPath CharDevice mount: {v}")
    if c["readinessProbe"]["exec"]["command"] != ["sepia-container-probe", "ready"]:
        err(f"{name}: readiness is not sepia-container-probe ready")
    if c["livenessProbe"]["exec"]["command"] != ["sepia-container-probe", "live"]:
        err(f"{name}: liveness is not sepia-container-probe live")
    if c["lifecycle"]["preStop"]["exec"]["command"][0] != "stop_cvd":
        err(f"{name}: preStop does not run stop_cvd")
    if spec.get("terminationGracePeriodSeconds", 30) < 60:
        err(f"{name}: a grace period under stop_cvd's 60 s")
    claims = [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]]
    if mounts.get("/var/lib/sepia") not in claims:
        err(f"{name}: $HOME (/var/lib/sepia) is not on a volume claim")
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    if ports != {"adb": 6520, "webview": 8443}:
        err(f"{name}: ports {ports}")
print("\n".join(errors) if errors else "all rules hold")
sys.exit(1 if errors else 0)
PY
rc=$?
check '[ $rc = 0 ]' "no privileged container; /dev/kvm from the device plugin, or a hostPath CharDevice in the fallback; requests = --cpus, --memory_mb + overhead; probes, preStop and the volume claim"
note "$work/rules.out"

# device-services.sh: one Service per ordinal selecting that pod alone; bad arguments refused.
check 'sh "$k8s/device-services.sh" 2 | grep -c "statefulset.kubernetes.io/pod-name: sepia-[01]$" | grep -qx 2' "device-services.sh 2 makes Services for sepia-0 and sepia-1, each selecting its pod"
check '! sh "$k8s/device-services.sh" "2; x" >/dev/null 2>&1 && ! sh "$k8s/device-services.sh" 1 Ingress >/dev/null 2>&1' "device-services.sh refuses a count that is not a number and an unknown Service type"
[ "$failed" = 0 ]
