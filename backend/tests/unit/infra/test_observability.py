"""The observability files (issue #20), checked offline: Prometheus's config and alert rules
(infrastructure/prometheus) with promtool (config, rules, and the rules' unit tests in alerts.test.yml), the
Grafana provisioning and dashboards (infrastructure/grafana), their wiring in docker-compose.yml, and the
one-shot that gives Prometheus its API key (against an embedded backend).

Every PromQL expression of the dashboards and the rules must parse (promtool check rules, the dashboards'
expressions as recording rules) and name only metric families the code defines: the catalogue is read from
the source (every prometheus_client instrument or metric family whose name starts with `dtwin_`), checked
against what the instruments and a real /metrics answer expose. Every family must appear in a dashboard and in
docs/operations.md, every alert in the docs. promtool comes from the Debian package `prometheus`, which
`make test` installs (`make system-deps`)."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from dtwin.auth.bootstrap import ADMIN_PASSWORD_FILE, state_dir
from dtwin.config import Settings
from dtwin.core.metrics import Metrics
from dtwin_pipeline.bridge.metrics import BridgeMetrics

REPO = Path(__file__).resolve().parents[4]
PROM = REPO / "infrastructure" / "prometheus"
GRAFANA = REPO / "infrastructure" / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
DOCS = REPO / "docs" / "operations.md"
SOURCES = (REPO / "backend" / "src" / "dtwin", REPO / "data-pipeline" / "src" / "dtwin_pipeline")
EXPECTED_DASHBOARDS = {"pipeline", "api", "realtime", "fleet"}
PANEL_TYPES = {"timeseries", "stat", "gauge", "bargauge", "table", "heatmap"}
# Grafana's own variables, as a duration promtool can parse (the dashboards define no others)
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
TARGET_LABELS = frozenset({"job", "instance"})  # added by Prometheus to every scraped series

Obj = dict[str, Any]


# ------------------------------------------------------------------------------------------------ promtool
def promtool(*args: str, cwd: Path | None = None) -> str:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail(
            "promtool not found: it comes with the Debian package `prometheus`, which `make test` installs "
            "(`make system-deps`, or `apt-get install prometheus`)",
            pytrace=False,
        )
    done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd)
    out = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(f"promtool {' '.join(args)} failed:\n{out}", pytrace=False)
    return out


# ------------------------------------------------------------------------------- the metric catalogue
@dataclass(frozen=True)
class Family:
    name: str  # as exposed without suffixes: dtwin_http_requests, dtwin_consumer_lag
    type: str  # counter, gauge, histogram, summary
    labels: frozenset[str] | None  # None: not literal in the source (no label checks)
    where: str

    def samples(self) -> dict[str, frozenset[str]]:
        """The sample names it exposes, each with the labels it may carry."""
        labels = self.labels or frozenset()
        if self.type == "counter":
            return {f"{self.name}_total": labels, f"{self.name}_created": labels}
        if self.type == "histogram":
            return {
                f"{self.name}_bucket": labels | {"le"},
                f"{self.name}_count": labels,
                f"{self.name}_sum": labels,
                f"{self.name}_created": labels,
            }
        if self.type == "summary":
            return {
                self.name: labels | {"quantile"},
                f"{self.name}_count": labels,
                f"{self.name}_sum": labels,
                f"{self.name}_created": labels,
            }
        return {self.name: labels}

    @property
    def exposed(self) -> str:
        """The name to look for in a dashboard or the docs."""
        return f"{self.name}_total" if self.type == "counter" else self.name


INSTRUMENTS = {
    "Counter": ("counter", 2, "labelnames"),
    "Gauge": ("gauge", 2, "labelnames"),
    "Histogram": ("histogram", 2, "labelnames"),
    "Summary": ("summary", 2, "labelnames"),
    "CounterMetricFamily": ("counter", 3, "labels"),
    "GaugeMetricFamily": ("gauge", 3, "labels"),
    "HistogramMetricFamily": ("histogram", 3, "labels"),
    "SummaryMetricFamily": ("summary", 3, "labels"),
}


def _labels(call: ast.Call, position: int, keyword: str) -> frozenset[str] | None:
    node: ast.expr | None = call.args[position] if len(call.args) > position else None
    for kw in call.keywords:
        if kw.arg == keyword:
            node = kw.value
    if node is None:
        return frozenset()
    if isinstance(node, ast.List | ast.Tuple) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return frozenset(str(e.value) for e in node.elts)  # type: ignore[attr-defined]
    return None


@cache
def catalogue() -> dict[str, Family]:
    """Every metric family the backend and the pipeline define, read from their source."""
    found: dict[str, Family] = {}
    for root in SOURCES:
        for path in sorted(root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                first = node.args[0]
                if name not in INSTRUMENTS or not isinstance(first, ast.Constant):
                    continue
                if not (isinstance(first.value, str) and first.value.startswith("dtwin_")):
                    continue
                kind, position, keyword = INSTRUMENTS[name]
                family_name = first.value.removesuffix("_total") if kind == "counter" else first.value
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                found[family_name] = Family(family_name, kind, _labels(node, position, keyword), where)
    return found


@cache
def sample_index() -> dict[str, tuple[Family | None, frozenset[str]]]:
    """Sample name -> (family, labels it may carry); `up` is Prometheus's own."""
    index: dict[str, tuple[Family | None, frozenset[str]]] = {"up": (None, frozenset())}
    for family in catalogue().values():
        for sample, labels in family.samples().items():
            index[sample] = (family, labels)
    return index


def test_the_catalogue_holds_every_instrument() -> None:
    """The source scan misses nothing the instruments register (so a name it does not know is not a metric)."""
    registered = {
        (m.name, m.type)
        for registry in (Metrics().registry, BridgeMetrics().registry)
        for m in registry.collect()
    }
    assert registered, "no instruments registered"
    known = {(f.name, f.type) for f in catalogue().values()}
    assert registered <= known, f"not found in the source scan: {sorted(registered - known)}"


async def test_the_catalogue_holds_every_family_a_backend_exposes(client: httpx.AsyncClient) -> None:
    r = await client.get("/metrics")
    assert r.status_code == 200
    # the text format exposes a counter's or histogram's `_created` samples as a gauge family of their own
    exposed = {
        (f.name, f.type)
        for f in text_string_to_metric_families(r.text)
        if not (f.name.endswith("_created") and f.name.removesuffix("_created") in catalogue())
    }
    assert {"dtwin_twins", "dtwin_consumer_lag", "dtwin_http_requests"} <= {n for n, _ in exposed}
    known = {(f.name, f.type) for f in catalogue().values()}
    assert exposed <= known, f"exposed but not found in the source scan: {sorted(exposed - known)}"


# ---------------------------------------------------------------------------------------------- PromQL
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
IDENT = re.compile(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or"}
KEYWORDS |= {"unless", "inf", "nan", "atan2"}
JOB = re.compile(r'\bjob\s*=\s*"([^"]*)"')


@dataclass
class Refs:
    metrics: set[str]
    matchers: list[tuple[str | None, set[str]]]  # (metric, labels matched on)
    grouping: set[str]
    jobs: set[str]


def references(expr: str) -> Refs:
    """The metric names, matcher labels, grouping labels and jobs a PromQL expression names (parsing is
    promtool's: this reads only what a valid expression names)."""
    jobs = set(JOB.findall(expr))
    text = STRING.sub('""', expr)
    matchers: list[tuple[str | None, set[str]]] = []
    metrics: set[str] = set()
    for m in SELECTOR.finditer(text):
        matchers.append((m.group(1), set(MATCHER.findall(m.group(2)))))
        if m.group(1):
            metrics.add(m.group(1))
    text = SELECTOR.sub(lambda m: f" {m.group(1) or ''} ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    grouping = {lbl.strip() for g in GROUPING.findall(text) for lbl in g.split(",") if lbl.strip()}
    text = GROUPING.sub(" ", text)
    for m in IDENT.finditer(text):
        if m.group(2) is None and m.group(1) not in KEYWORDS:
            metrics.add(m.group(1))
    return Refs(metrics, matchers, grouping, jobs)


@cache
def job_names() -> frozenset[str]:
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    return frozenset(str(j["job_name"]) for j in config["scrape_configs"])


def reference_errors(expr: str) -> list[str]:
    """What an expression names that the code does not define (metrics, labels) or Prometheus does not
    scrape (jobs)."""
    refs = references(expr)
    index = sample_index()
    errors: list[str] = []
    if not refs.metrics:
        errors.append("names no metric")
    allowed = set(TARGET_LABELS)
    for name in sorted(refs.metrics):
        if name not in index:
            errors.append(f"{name} is no metric family the code defines")
            continue
        family, labels = index[name]
        if family is not None and family.labels is None:
            allowed |= {"*"}  # labels not literal in the source: not checked
        allowed |= labels
    for metric, matched in refs.matchers:
        if metric is None or metric not in index:
            continue
        family, own = index[metric]
        if (family is None or family.labels is not None) and not matched <= own | TARGET_LABELS:
            errors.append(f"{metric} has no label {sorted(matched - own - TARGET_LABELS)}")
    if "*" not in allowed and not refs.grouping <= allowed:
        errors.append(f"groups by labels no metric of it has: {sorted(refs.grouping - allowed)}")
    errors += [f"job {j!r} is not scraped (prometheus.yml)" for j in sorted(refs.jobs - job_names())]
    return errors


def test_references_read_an_expression() -> None:
    """The reader above is not vacuous: it finds the names of a complex expression, and misspellings fail."""
    refs = references(
        'histogram_quantile(0.99, sum by (le, stage) (rate(dtwin_consumer_stage_seconds_bucket{stage="a{b}"}'
        "[5m:1m] offset 1e3s))) / on () group_left sum(up{job='x'}) or vector(0) > bool 2"
    )
    assert refs.metrics == {"dtwin_consumer_stage_seconds_bucket", "up"}
    assert refs.grouping == {"le", "stage"}
    assert refs.matchers == [("dtwin_consumer_stage_seconds_bucket", {"stage"}), ("up", {"job"})]
    assert reference_errors("sum(rate(dtwin_consumer_stage_seconds_bucket[5m]))") == []
    assert reference_errors("rate(dtwin_no_such_thing_total[5m])")
    assert reference_errors('rate(dtwin_dead_letters_total{reson="json"}[5m])')
    assert reference_errors("sum by (partiton) (dtwin_consumer_lag)")
    assert reference_errors('up{job="nobody"}')
    assert reference_errors("vector(1)")


# ------------------------------------------------------------------------------------------- dashboards
@cache
def dashboards() -> dict[str, Obj]:
    boards: dict[str, Obj] = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        try:
            boards[path.stem] = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            pytest.fail(f"{path.name} is not JSON: {e}", pytrace=False)
    return boards


def panels(board: Obj) -> Iterator[Obj]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row holds its panels


def data_panels(board: Obj) -> Iterator[Obj]:
    return (p for p in panels(board) if p.get("type") != "row")


def expressions(board: Obj) -> Iterator[tuple[str, str]]:
    """(where, PromQL with Grafana's variables replaced by durations) of every target of the board."""
    for panel in data_panels(board):
        for target in panel.get("targets", []):
            expr = str(target.get("expr", ""))
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            yield f"{board['uid']} / {panel.get('title')} / {target.get('refId')}", expr


@cache
def datasource_uid() -> str:
    (path,) = sorted((GRAFANA / "provisioning" / "datasources").glob("*.yml"))
    (source,) = yaml.safe_load(path.read_text())["datasources"]
    assert source["type"] == "prometheus"
    return str(source["uid"])


def test_the_four_dashboards_exist_with_unique_uids_and_titles() -> None:
    boards = dashboards()
    assert set(boards) == EXPECTED_DASHBOARDS
    uids = [b.get("uid") for b in boards.values()]
    titles = [b.get("title") for b in boards.values()]
    assert all(isinstance(u, str) and 0 < len(u) <= 40 for u in uids), uids  # Grafana's uid limit
    assert len(set(uids)) == len(uids), f"duplicate uids: {uids}"
    assert all(titles) and len(set(titles)) == len(titles), f"titles: {titles}"


@pytest.mark.parametrize("name", sorted(EXPECTED_DASHBOARDS))
def test_dashboard_is_well_formed(name: str) -> None:
    board = dashboards()[name]
    assert isinstance(board.get("schemaVersion"), int)
    assert "dtwin" in board.get("tags", [])
    assert board.get("templating", {}).get("list", []) == [], "no variables: the expressions use none"
    ids = [p.get("id") for p in panels(board)]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == len(ids), f"panel ids: {ids}"
    cells: dict[tuple[int, int], str] = {}
    for panel in panels(board):
        title, pos = panel.get("title"), panel.get("gridPos", {})
        assert title, f"a panel without a title in {name}"
        assert all(isinstance(pos.get(k), int) for k in "hwxy"), f"{title}: gridPos {pos}"
        assert pos["w"] > 0 and pos["h"] > 0 and pos["x"] + pos["w"] <= 24, f"{title}: gridPos {pos}"
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{title} overlaps {cells[(x, y)]}"
                cells[(x, y)] = title
    uid = datasource_uid()
    for panel in data_panels(board):
        title = panel["title"]
        assert panel.get("type") in PANEL_TYPES, f"{title}: type {panel.get('type')}"
        assert panel.get("datasource") == {"type": "prometheus", "uid": uid}, f"{title}: datasource"
        targets = panel.get("targets")
        assert targets, f"{title}: no targets"
        refs = [t.get("refId") for t in targets]
        assert all(refs) and len(set(refs)) == len(refs), f"{title}: refIds {refs}"
        for t in targets:
            assert t.get("datasource") in (None, panel["datasource"]), f"{title}: target datasource"
            assert str(t.get("expr", "")).strip(), f"{title}: target {t.get('refId')} has no expr"


def test_every_dashboard_expression_parses(tmp_path: Path) -> None:
    """promtool parses PromQL when it checks recording rules: one rule per dashboard target."""
    rules = [
        {"record": f"check:{name}:panel_{i}", "expr": expr}
        for name, board in sorted(dashboards().items())
        for i, (_, expr) in enumerate(expressions(board))
    ]
    assert rules
    for rule in rules:
        assert "$" not in rule["expr"], f"an unknown Grafana variable in {rule['expr']}"
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    out = promtool("check", "rules", str(path))
    assert f"SUCCESS: {len(rules)} rules found" in out, out


def test_dashboard_expressions_name_only_defined_metrics() -> None:
    errors = [
        f"{where}: {err}  ({expr})"
        for board in dashboards().values()
        for where, expr in expressions(board)
        for err in reference_errors(expr)
    ]
    assert not errors, "\n".join(errors)


def test_every_metric_family_is_on_a_dashboard() -> None:
    used = {m for b in dashboards().values() for _, e in expressions(b) for m in references(e).metrics}
    missing = [
        f"{f.exposed} ({f.where})"
        for f in catalogue().values()
        if not any(sample in used for sample in f.samples())
    ]
    assert not missing, "metric families on no dashboard (infrastructure/grafana/dashboards):\n" + "\n".join(
        missing
    )


# ---------------------------------------------------------------------------------------- Prometheus
@cache
def alert_rules() -> list[Obj]:
    groups = yaml.safe_load((PROM / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_prometheus_config_is_valid(tmp_path: Path) -> None:
    """`promtool check config` on the compose config (its rule files included), with the API key file where
    the compose stack puts it replaced by a temporary one (promtool checks that it exists)."""
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    key = tmp_path / "dtwin-api-key"
    key.write_text("dtwin_test\n")
    authorized = [j for j in config["scrape_configs"] if "authorization" in j]
    assert [j["job_name"] for j in authorized] == ["dtwin-backend"]
    authorized[0]["authorization"]["credentials_file"] = str(key)
    for rule_file in config["rule_files"]:
        shutil.copy(PROM / rule_file, tmp_path / rule_file)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    out = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert "SUCCESS" in out and "rules found" in out, out


def test_alert_rules_are_valid() -> None:
    out = promtool("check", "rules", str(PROM / "alerts.yml"))
    assert f"SUCCESS: {len(alert_rules())} rules found" in out, out


def test_every_alert_has_for_severity_summary_and_description() -> None:
    names = [r.get("alert") for r in alert_rules()]
    assert all(names) and len(set(names)) == len(names), f"alert names: {names}"
    for rule in alert_rules():
        assert "for" in rule, rule["alert"]
        assert rule.get("labels", {}).get("severity") in ("critical", "warning", "info"), rule["alert"]
        annotations = rule.get("annotations", {})
        assert annotations.get("summary") and annotations.get("description"), rule["alert"]


def test_alert_expressions_name_only_defined_metrics() -> None:
    errors = [f"{r['alert']}: {err}" for r in alert_rules() for err in reference_errors(r["expr"])]
    assert not errors, "\n".join(errors)


def test_alert_rules_fire_as_their_unit_tests_say(tmp_path: Path) -> None:
    """alerts.test.yml through `promtool test rules`, on a copy of the rules without annotations (promtool
    compares them verbatim); instead, every label an annotation names is one the alert fires with."""
    groups = yaml.safe_load((PROM / "alerts.yml").read_text())
    fires_with: dict[str, set[str]] = {}
    tests = yaml.safe_load((PROM / "alerts.test.yml").read_text())
    quiet: set[str] = set()
    for case in tests["tests"]:
        for check in case["alert_rule_test"]:
            if not check.get("exp_alerts"):
                quiet.add(check["alertname"])
            for alert in check.get("exp_alerts") or []:
                fires_with.setdefault(check["alertname"], set()).update(alert.get("exp_labels", {}))
    for group in groups["groups"]:
        for rule in group["rules"]:
            name = rule["alert"]
            assert name in fires_with, f"{name}: no case in alerts.test.yml where it fires"
            assert name in quiet, f"{name}: no case in alerts.test.yml where it stays quiet"
            text = " ".join(rule.pop("annotations", {}).values())
            named = set(re.findall(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)", text))
            assert named <= fires_with[name], f"{name}: annotations name labels it lacks: {named}"
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(groups))
    assert tests["rule_files"] == ["alerts.yml"]
    (tmp_path / "alerts.test.yml").write_text(yaml.safe_dump(tests))
    out = promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert "SUCCESS" in out, out


# ---------------------------------------------------------------------------------------------- docs
def test_docs_list_every_metric_family_alert_and_dashboard_query() -> None:
    """The queries are the dashboards' documentation (no screenshot without Docker)."""
    docs = DOCS.read_text()
    start = docs.index("## Metrics and dashboards")
    end = docs.find("\n## ", start + 1)
    section = docs[start : end if end > 0 else None]
    missing = [f.exposed for f in catalogue().values() if f"`{f.exposed}" not in section]
    missing += [r["alert"] for r in alert_rules() if f"`{r['alert']}`" not in section]
    missing += [b["title"] for b in dashboards().values() if b["title"] not in section]
    missing += [
        f"{b['uid']} / {p['title']}: {t['expr']}"
        for b in dashboards().values()
        for p in data_panels(b)
        for t in p["targets"]
        if f"`{t['expr']}`" not in section
    ]
    assert not missing, 'not in docs/operations.md "Metrics and dashboards":\n' + "\n".join(missing)


# ------------------------------------------------------------------------------------ docker compose
@cache
def compose() -> Obj:
    data: Obj = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def mounts(service: str) -> dict[str, str]:
    """target -> source of a compose service's volumes (`./x` sources as repo paths)."""
    found: dict[str, str] = {}
    for volume in compose()["services"][service].get("volumes", []):
        source, target = volume.split(":")[:2]
        found[target] = str(REPO / source[2:]) if source.startswith("./") else source
    return found


def test_compose_wires_prometheus_grafana_and_the_key() -> None:
    services = compose()["services"]
    assert {"prometheus", "prometheus-key", "grafana", "jaeger", "kafka-ui"} <= set(services)
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    prom = mounts("prometheus")
    (flag,) = [c for c in services["prometheus"]["command"] if c.startswith("--config.file=")]
    config_path = Path(flag.split("=", 1)[1])
    assert prom[str(config_path)] == str(PROM / "prometheus.yml")
    for rule_file in config["rule_files"]:
        assert prom[str(config_path.parent / rule_file)] == str(PROM / rule_file)
    # the key: written by prometheus-key into the volume Prometheus reads it from
    (backend_job,) = [j for j in config["scrape_configs"] if j["job_name"] == "dtwin-backend"]
    key_path = Path(backend_job["authorization"]["credentials_file"])
    key_env = services["prometheus-key"]["environment"]
    written = Path(key_env["KEY_FILE"])
    assert key_path.name == written.name
    assert prom[str(key_path.parent)] == mounts("prometheus-key")[str(written.parent)] == "prometheus-auth"
    assert services["prometheus-key"]["command"][-1] in mounts("prometheus-key")
    assert mounts("prometheus-key")[services["prometheus-key"]["command"][-1]] == str(PROM / "api_key.py")
    # the targets are the services' real ports
    targets = {
        j["job_name"]: t
        for j in config["scrape_configs"]
        for sc in j["static_configs"]
        for t in sc["targets"]
    }
    backend_cmd = services["backend"]["command"]
    assert targets["dtwin-backend"] == f"backend:{backend_cmd[backend_cmd.index('--port') + 1]}"
    assert (
        targets["dtwin-bridge"] == f"bridge:{services['bridge']['environment']['DTWIN_BRIDGE_METRICS_PORT']}"
    )
    # Grafana: provisioning and the dashboards where the provider looks; the datasource is this Prometheus
    graf = mounts("grafana")
    assert graf["/etc/grafana/provisioning"] == str(GRAFANA / "provisioning")
    (provider,) = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "dtwin.yml").read_text())[
        "providers"
    ]
    assert graf[provider["options"]["path"]] == str(DASHBOARDS)
    (path,) = sorted((GRAFANA / "provisioning" / "datasources").glob("*.yml"))
    (source,) = yaml.safe_load(path.read_text())["datasources"]
    assert source["url"] == "http://prometheus:9090"
    assert not any(
        "$" in str(v) and ":?" not in str(v) and ":-" not in str(v)
        for v in services["grafana"]["environment"].values()
    ), "no secret defaults"
    assert services["kafka-ui"]["environment"]["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == "kafka:9092"


# ------------------------------------------------------------------------------------- the API key
@cache
def api_key_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("prometheus_api_key", PROM / "api_key.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def admin_password_of(settings: Settings) -> str:
    return (state_dir(settings) / ADMIN_PASSWORD_FILE).read_text().strip()


async def test_key_is_created_kept_and_replaced_when_revoked(
    app: FastAPI,
    app_settings: Settings,
    client: httpx.AsyncClient,
    anon_client: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    mod = api_key_module()
    key_file = tmp_path / "auth" / "dtwin-api-key"
    password = admin_password_of(app_settings)

    async def ensure(given: str | None = None) -> str:
        done: str = await mod.ensure_key(
            anon_client, key_file, given=given, username="admin", password=password
        )
        return done

    assert await ensure() == "created"
    key = key_file.read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o400
    me = await anon_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200 and me.json()["kind"] == "api_key" and me.json()["role"] == "viewer"
    scraped = await anon_client.get("/metrics", headers={"Authorization": f"Bearer {key}"})
    assert scraped.status_code == 200 and "dtwin_http_requests_total" in scraped.text

    assert await ensure() == "kept"
    assert key_file.read_text() == key

    (made,) = [
        k for k in (await client.get("/api/v1/auth/api-keys")).json()["items"] if key.startswith(k["prefix"])
    ]
    assert (await client.delete(f"/api/v1/auth/api-keys/{made['id']}")).status_code == 204
    assert await ensure() == "created"
    assert key_file.read_text() != key

    with pytest.raises(mod.Refused):
        await ensure(given="dtwin_not_a_key")
    assert await ensure(given=key_file.read_text()) == "given"


async def test_key_without_a_password_says_what_to_do(anon_client: httpx.AsyncClient, tmp_path: Path) -> None:
    mod = api_key_module()
    with pytest.raises(mod.Refused, match="DTWIN_PROMETHEUS_API_KEY"):
        await mod.ensure_key(anon_client, tmp_path / "key", given=None, username="admin", password=None)
    with pytest.raises(mod.Refused, match="DTWIN_PROMETHEUS_API_KEY"):
        await mod.ensure_key(
            anon_client, tmp_path / "key", given=None, username="admin", password="wrong-one"
        )
    assert not (tmp_path / "key").exists()


async def test_key_main_reads_the_generated_password_and_hands_the_file_over(
    app: FastAPI, app_settings: Settings, tmp_path: Path
) -> None:
    """The compose entry point: the admin password from the backend's state directory, the owner set."""
    mod = api_key_module()
    env = {
        "KEY_FILE": str(tmp_path / "auth" / "dtwin-api-key"),
        "KEY_OWNER": f"{os.getuid()}:{os.getgid()}",
        "PASSWORD_FILE": str(state_dir(app_settings) / ADMIN_PASSWORD_FILE),
        "DTWIN_URL": "http://t",
    }
    assert await mod.main(env, transport=httpx.ASGITransport(app=app)) == 0
    assert (tmp_path / "auth" / "dtwin-api-key").read_text().startswith("dtwin_")
    assert (
        await mod.main(
            {**env, "PASSWORD_FILE": str(tmp_path / "none"), "KEY_FILE": str(tmp_path / "k2")},
            transport=httpx.ASGITransport(app=app),
        )
        == 1
    )
