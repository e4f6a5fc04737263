#!/bin/sh
# fleet-status.sh: sepia's devices across a cluster as one JSON array, like
# `cvd_status --all_instances --print` on one host (README "Many hosts").
#
#   fleet-status.sh [KUBECTL-ARGS...]   kubectl get pods -l app.kubernetes.io/name=sepia -o json
#                                       (e.g. -n NAMESPACE, --all-namespaces, --context C)
#   fleet-status.sh --file FILE|-       the same from `kubectl get pods -o json` saved in FILE
#   fleet-status.sh --podman            the pods this host's `podman kube play` runs, asking
#                                       each device's own cvd_status (podman exec)
#
# One object per device: pod, namespace, node, instance_name (the pod's label
# sepia.dev/instance-name), adb_serial (the pod's address and sepia.dev/adb-port; with
# --podman the published host port), status (Running once the boot completed: the pod's
# readiness, which is cvd_status's; Booting, Pending, Stopped or Failed), failure (why, when
# not running), restarts, cpus and memory_mb (the launch_cvd flags in the pod). With --podman,
# the device's cvd_status fields are there too. Exits 1 when kubectl or podman fails, 2 on
# usage errors.
set -eu
prog='
import json, subprocess, sys

def flags(args):
    out = {}
    for a in args or []:
        if a.startswith("--") and "=" in a:
            k, v = a[2:].split("=", 1)
            out[k] = v
    return out

def num(v):
    return int(v) if v is not None and str(v).isdigit() else None

def from_pod(p):
    meta, spec, st = p.get("metadata", {}), p.get("spec", {}), p.get("status", {})
    ann, labels = meta.get("annotations", {}) or {}, meta.get("labels", {}) or {}
    c = (spec.get("containers") or [{}])[0]
    f = flags(c.get("args"))
    for e in c.get("env", []) or []:
        if e.get("name") == "SEPIA_LAUNCH_FLAGS" and e.get("value"):
            f.update(flags(e["value"].split()))
    cs = next((s for s in st.get("containerStatuses", []) or [] if s.get("name") == c.get("name")), {})
    state, phase, failure = cs.get("state", {}) or {}, st.get("phase", "Unknown"), ""
    if meta.get("deletionTimestamp"):
        status = "Stopping"
    elif phase in ("Succeeded", "Failed"):
        status, failure = "Stopped", st.get("reason", "") or phase
    elif "running" in state:
        status = "Running" if cs.get("ready") else "Booting"
    elif "waiting" in state:
        w = state["waiting"]
        reason = w.get("reason", "")
        status = "Failed" if reason in ("CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff",
                                        "CreateContainerError", "RunContainerError") else "Pending"
        failure = (reason + ": " + w.get("message", "")).strip(": ")
    elif "terminated" in state:
        t = state["terminated"]
        status, failure = "Stopped", (t.get("reason", "") + " exit " + str(t.get("exitCode", ""))).strip()
    else:
        status = "Pending"
    ip, port = st.get("podIP"), ann.get("sepia.dev/adb-port", "6520")
    return {
        "pod": meta.get("name"),
        "namespace": meta.get("namespace", "default"),
        "node": spec.get("nodeName", ""),
        "instance_name": labels.get("sepia.dev/instance-name", "cvd-" + ann.get("sepia.dev/instance-num", "1")),
        "adb_serial": f"{ip}:{port}" if ip else "",
        "status": status,
        "failure": failure,
        "restarts": cs.get("restartCount", 0),
        "cpus": num(f.get("cpus")),
        "memory_mb": num(f.get("memory_mb")),
    }

def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode:
        sys.exit("fleet-status: " + " ".join(argv) + " failed: " + r.stderr.strip())
    return r.stdout

def podman():
    out = []
    pods = json.loads(run(["podman", "pod", "ps", "--filter", "label=app.kubernetes.io/name=sepia",
                           "--format", "json"]) or "[]")
    for p in pods:
        info = json.loads(run(["podman", "pod", "inspect", p["Id"]]))
        info = info[0] if isinstance(info, list) else info
        binds = (info.get("InfraConfig") or {}).get("PortBindings") or {}
        for c in info.get("Containers", []):
            if c.get("Id") == info.get("InfraContainerID"):
                continue
            dev = {"pod": info.get("Name"), "namespace": "", "node": run(["hostname"]).strip(),
                   "container": c.get("Name"), "status": "Stopped", "failure": ""}
            if c.get("State") != "running":
                dev["failure"] = "container " + str(c.get("State"))
                out.append(dev)
                continue
            r = subprocess.run(["podman", "exec", c["Id"], "cvd_status", "--all_instances", "--print"],
                               capture_output=True, text=True)
            try:
                insts = json.loads(r.stdout or "[]")
            except ValueError:
                insts = []
            if not insts:
                dev["failure"] = r.stderr.strip() or "no device runs in the container"
                out.append(dev)
                continue
            for i in insts:
                d = dict(dev)
                d.update(i)
                d["pod"], d["container"] = dev["pod"], dev["container"]
                inner = i.get("adb_serial", "")
                port = inner.rsplit(":", 1)[-1]
                b = (binds.get(port + "/tcp") or [None])[0]
                d["adb_serial"] = (b.get("HostIp") or "0.0.0.0") + ":" + b["HostPort"] if b else ""
                d["status"] = "Booting" if i.get("status") == "Starting" else i.get("status", "")
                out.append(d)
    return out

mode, arg, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
if mode == "podman":
    devs = podman()
else:
    if mode == "file":
        text = sys.stdin.read() if arg == "-" else open(arg).read()
    else:
        text = run(["kubectl", "get", "pods", "-l", "app.kubernetes.io/name=sepia", "-o", "json"] + rest)
    doc = json.loads(text)
    items = doc.get("items", []) if isinstance(doc, dict) and doc.get("kind") != "Pod" else [doc]
    devs = [from_pod(p) for p in items if (p.get("metadata", {}).get("labels") or {}).get("app.kubernetes.io/name") == "sepia"]
json.dump(devs, sys.stdout, indent=2)
print()
'
case ${1:-} in
-h | --help) sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
--podman)
	[ $# = 1 ] || { echo "fleet-status.sh: --podman takes no other argument" >&2; exit 2; }
	exec python3 -c "$prog" podman - ;;
--file)
	[ $# = 2 ] || { echo "fleet-status.sh: --file takes one FILE (or - for stdin)" >&2; exit 2; }
	exec python3 -c "$prog" file "$2" ;;
--file=*)
	[ $# = 1 ] || { echo "fleet-status.sh: --file takes one FILE (or - for stdin)" >&2; exit 2; }
	exec python3 -c "$prog" file "${1#--file=}" ;;
*) exec python3 -c "$prog" kubectl - "$@" ;;
esac
