#!/usr/bin/env python3
"""Prints the Pod that a StatefulSet's controller makes for one ordinal, from the manifest itself,
for consumers that read Pods but not StatefulSets (podman kube play). Never a second copy of the
pod template: the template, its labels and its volume claims come from the StatefulSet.

  pod-from-statefulset.py STATEFULSET.yaml [--patch PATCH.yaml]... [--ordinal K]
                          [--pod-name NAME] [--image IMAGE] [--host-port PORTNAME=HOSTPORT]...
                          [--host-ip ADDRESS] [--statefulset-only]

--patch applies an RFC 6902 JSON patch (a kustomize overlay's patch, e.g.
packaging/kubernetes/kvm-hostpath/patch.yaml) to the StatefulSet first. The Pod is named as the
controller names it (<statefulset>-<K>, or --pod-name), carries the template's labels plus
statefulset.kubernetes.io/pod-name, and mounts claim <template>-<pod name> for each of the
volumeClaimTemplates (podman makes a named volume of that name). --image replaces the containers'
image; --host-port publishes a named container port on the host (podman kube play publishes
hostPorts), on --host-ip (default 127.0.0.1). Prints JSON (which is YAML) on stdout."""
import argparse
import copy
import json
import sys

import yaml


def die(msg):
    print(f"pod-from-statefulset: {msg}", file=sys.stderr)
    sys.exit(1)


def pointer(path):
    if not path.startswith("/"):
        die(f"patch path '{path}' is not a JSON pointer")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def walk(doc, parts, path):
    for p in parts:
        if isinstance(doc, list):
            doc = doc[int(p)]
        elif isinstance(doc, dict) and p in doc:
            doc = doc[p]
        else:
            die(f"patch path {path}: '{p}' does not exist")
    return doc


def apply_patch(doc, ops, name):
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        parts = pointer(path)
        parent, last = walk(doc, parts[:-1], path), parts[-1]
        if kind == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            elif last in parent:
                del parent[last]
            else:
                die(f"{name}: remove {path}: no such member")
        elif kind in ("add", "replace"):
            value = copy.deepcopy(op["value"])
            if isinstance(parent, list):
                if last == "-":
                    parent.append(value)
                else:
                    parent.insert(int(last), value) if kind == "add" else parent.__setitem__(int(last), value)
            else:
                if kind == "replace" and last not in parent:
                    die(f"{name}: replace {path}: no such member")
                parent[last] = value
        else:
            die(f"{name}: op '{kind}' is not supported (add, remove, replace)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("statefulset")
    ap.add_argument("--patch", action="append", default=[])
    ap.add_argument("--ordinal", type=int, default=0)
    ap.add_argument("--pod-name")
    ap.add_argument("--image")
    ap.add_argument("--host-port", action="append", default=[])
    ap.add_argument("--host-ip", default="127.0.0.1")
    ap.add_argument("--statefulset-only", action="store_true", help="print the (patched) StatefulSet")
    a = ap.parse_args()

    with open(a.statefulset) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    sts = [d for d in docs if d.get("kind") == "StatefulSet"]
    if len(sts) != 1:
        die(f"{a.statefulset}: expected one StatefulSet, found {len(sts)}")
    sts = sts[0]
    for p in a.patch:
        with open(p) as f:
            apply_patch(sts, yaml.safe_load(f), p)

    if a.statefulset_only:
        json.dump(sts, sys.stdout, indent=2)
        print()
        return
    name = a.pod_name or f"{sts['metadata']['name']}-{a.ordinal}"
    tmpl = copy.deepcopy(sts["spec"]["template"])
    meta = tmpl.get("metadata", {})
    labels = dict(meta.get("labels", {}))
    labels["statefulset.kubernetes.io/pod-name"] = name
    spec = tmpl["spec"]
    spec.setdefault("hostname", name)
    volumes = spec.setdefault("volumes", [])
    for claim in sts["spec"].get("volumeClaimTemplates", []):
        cname = claim["metadata"]["name"]
        volumes.append({"name": cname, "persistentVolumeClaim": {"claimName": f"{cname}-{name}"}})
    host_ports = {}
    for hp in a.host_port:
        port_name, _, port = hp.partition("=")
        if not port.isdigit():
            die(f"--host-port {hp}: give PORTNAME=HOSTPORT")
        host_ports[port_name] = int(port)
    for c in spec["containers"]:
        if a.image:
            c["image"] = a.image
        for port in c.get("ports", []):
            if port.get("name") in host_ports:
                port["hostPort"] = host_ports.pop(port["name"])
                port["hostIP"] = a.host_ip
    if host_ports:
        die(f"no container port named {', '.join(host_ports)}")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels, "annotations": meta.get("annotations", {})},
        "spec": spec,
    }
    json.dump(pod, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
