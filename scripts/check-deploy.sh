#!/usr/bin/env bash
# Checks the operator-facing deployment files in deploy/:
#   - Prometheus: config, rules, rule unit tests (promtool; required);
#   - Alertmanager: config and routing of example alerts (amtool; skipped if absent);
#   - Grafana: dashboard JSON, one PromQL target per panel, panels.txt in step with the
#     dashboard, and every expression parsed by promtool;
#   - systemd: `systemd-analyze verify` of the unit (skipped if absent).
# Runs every check, reports each failure, and exits non-zero if any failed.
# Needs promtool (Debian: prometheus) and python3; amtool comes with
# prometheus-alertmanager.
#
# Usage: scripts/check-deploy.sh   (from anywhere; it works from the repository root)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { printf '\n==> %s\n' "$*"; }
# Runs a check, and on failure counts it and carries on so that one run shows everything.
check() {
    if "$@"; then
        :
    else
        printf 'FAILED: %s\n' "$*" >&2
        failures=$((failures + 1))
    fi
}
skip() { printf 'SKIPPED: %s\n' "$*"; }

if ! command -v promtool >/dev/null 2>&1; then
    echo "promtool not found: install the Debian package 'prometheus'" >&2
    exit 1
fi

# --- Prometheus ----------------------------------------------------------------------
step "promtool check config (rule files resolve relative to the config)"
check promtool check config deploy/prometheus/prometheus.yml

step "promtool check rules"
check promtool check rules deploy/prometheus/rules.yml

step "promtool test rules"
check promtool test rules deploy/prometheus/rules_test.yml

step "promtool: the cluster's rules (deploy/cluster)"
check promtool check rules deploy/cluster/rules.yml
check promtool test rules deploy/cluster/rules_test.yml

step "every rule is tested; every alert has its labels and annotations"
check python3 - deploy/prometheus/rules.yml deploy/prometheus/rules_test.yml <<'EOF'
import re, sys

rules_path, tests_path = sys.argv[1], sys.argv[2]
try:
    import yaml
except ImportError:
    # Without PyYAML, fall back to a textual check that each rule name is mentioned.
    rules, tests = open(rules_path).read(), open(tests_path).read()
    names = re.findall(r"^\s*- (?:alert|record): (\S+)", rules, re.M)
    missing = [n for n in names if n not in tests]
    print("PyYAML missing: only checked that every rule is named in the tests")
    for n in missing:
        print(f"rule {n} is not tested")
    sys.exit(1 if missing else 0)

rules = yaml.safe_load(open(rules_path))
tests = yaml.safe_load(open(tests_path))
errors = []
alerts, records = [], set()
for group in rules["groups"]:
    for rule in group["rules"]:
        if "alert" in rule:
            alerts.append(rule)
        else:
            records.add(rule["record"])

firing, quiet, exprs = set(), set(), []
for test in tests["tests"]:
    for case in test.get("alert_rule_test", []):
        (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    exprs += [case["expr"] for case in test.get("promql_expr_test", [])]

for rule in alerts:
    name = rule["alert"]
    if name not in firing:
        errors.append(f"alert {name}: no test where it fires")
    if name not in quiet:
        errors.append(f"alert {name}: no test where it does not fire")
    labels, annotations = rule.get("labels", {}), rule.get("annotations", {})
    if labels.get("severity") not in ("critical", "warning", "info"):
        errors.append(f"alert {name}: severity label must be critical, warning or info")
    if labels.get("category") not in ("floor", "operations"):
        errors.append(f"alert {name}: category label must be floor or operations")
    for key in ("summary", "summary_zh", "description"):
        if not annotations.get(key):
            errors.append(f"alert {name}: annotation {key} missing")
for record in sorted(records):
    if not any(re.search(r"(?<![\w:])" + re.escape(record) + r"(?![\w:])", e) for e in exprs):
        errors.append(f"recording rule {record}: no promql_expr_test")

for e in errors:
    print(e)
print(f"{len(alerts)} alerts, {len(records)} recorded series checked")
sys.exit(1 if errors else 0)
EOF

# --- Alertmanager --------------------------------------------------------------------
step "amtool check-config"
if command -v amtool >/dev/null 2>&1; then
    check amtool check-config deploy/alertmanager/alertmanager.yml
    route_is() {
        local want=$1
        shift
        amtool config routes test --config.file=deploy/alertmanager/alertmanager.yml \
            --verify.receivers="$want" "$@" >/dev/null 2>&1 \
            || { echo "route: expected receiver $want for $*" >&2; return 1; }
    }
    # Where example alerts go: "receiver(s)|labels" (comma-separated when `continue`
    # sends an alert to more than one). No team is named in the routing: any team works.
    while IFS='|' read -r want labels; do
        # shellcheck disable=SC2086 # the labels are meant to split into arguments
        check route_is "$want" $labels
    done <<'EOF'
team-leads,floor-managers-urgent|alertname=AuxClusterFiring kind=aux_cluster severity=critical category=floor team=T07
team-leads,floor-managers-urgent|alertname=aux_cluster severity=critical team=T42 alert_id=aux_cluster:T42:1795424400000
team-leads|alertname=long_aux severity=warning team=T08 agent=A0123 alert_id=long_aux:T08:A0123:1795424400000
team-leads|alertname=LongAuxActive kind=long_aux severity=warning category=floor team=Support-North
floor-managers|alertname=utilization_high severity=info team=T09 alert_id=utilization_high:T09:1795424400000
floor-managers|alertname=AuxDispersionHigh kind=aux_dispersion severity=info category=floor team=T07
floor-managers-urgent|alertname=long_wait severity=critical queue=support alert_id=long_wait:queue:support:1795424470000
floor-managers|alertname=QueueServiceLevelLow kind=service_level_low severity=warning category=floor queue=sales
floorwatch-operators|alertname=IngestStalled severity=critical category=operations instance=localhost:8080
floorwatch-operators|alertname=HookDeliveryFailing severity=warning category=operations hook=slack-0
EOF
else
    skip "amtool not found (Debian package prometheus-alertmanager)"
fi

# --- Grafana -------------------------------------------------------------------------
dashboard=deploy/grafana/dashboards/floorwatch-floor.json

step "dashboard is valid JSON"
check python3 -m json.tool "$dashboard" >/dev/null

step "dashboard panels have PromQL targets and match panels.txt"
check python3 - "$dashboard" deploy/grafana/panels.txt "$tmp/exprs.json" <<'EOF'
import json, sys

import re

dashboard_path, panels_path, exprs_out = sys.argv[1:4]
d = json.load(open(dashboard_path))
errors = []

def substitute(expr):
    # What the integration test runs: every instance and team, the 60m window.
    for var, value in (("${team}", ".*"), ("$team", ".*"), ("${instance}", ".*"), ("$instance", ".*"),
                       ("${window}", "60m"), ("$window", "60m")):
        expr = expr.replace(var, value)
    return expr

variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
team, window, instance = variables.get("team"), variables.get("window"), variables.get("instance")
if not team or not (team.get("multi") and team.get("includeAll")):
    errors.append("variable team must exist, multi-valued, with All")
if not instance or not (instance.get("multi") and instance.get("includeAll")):
    errors.append("variable instance must exist, multi-valued, with All")
if not window:
    errors.append("variable window must exist")
if "datasource" not in variables or variables["datasource"].get("type") != "datasource":
    errors.append("data source variable datasource must exist")
for v in (team, window):
    if v and '$instance' not in v.get("query", ""):
        errors.append(f"variable {v['name']}: its query must follow $instance")

def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))

expected, titles, ids = [], set(), set()
for p in walk(d.get("panels", [])):
    if p.get("id") in ids:
        errors.append(f"panel id {p.get('id')} used twice")
    ids.add(p.get("id"))
    if p.get("type") == "row":
        continue
    title = p.get("title", "")
    if not title or "\t" in title or "$" in title:
        errors.append(f"panel {p.get('id')}: needs a plain title (no tab, no variable): {title!r}")
    if title in titles:
        errors.append(f"panel title {title!r} used twice")
    titles.add(title)
    if p.get("datasource", {}).get("uid") != "${datasource}":
        errors.append(f"panel {title!r}: data source must be ${{datasource}}")
    targets = p.get("targets", [])
    if len(targets) != 1:
        # panels.txt has one line per panel, so one query per panel.
        errors.append(f"panel {title!r}: has {len(targets)} targets, needs exactly 1")
    for t in targets:
        expr = t.get("expr", "")
        if not isinstance(expr, str) or not expr.strip():
            errors.append(f"panel {title!r}: target {t.get('refId')} has no expr")
            continue
        if "\n" in expr:
            errors.append(f"panel {title!r}: expr must be one line")
        # Every floorwatch series is selected by the instance (site) selector.
        bare = re.findall(r'(?<![\w:"])floorwatch_\w+(?!\w|\{instance=~"\$instance")', expr)
        if bare:
            errors.append(f"panel {title!r}: series without instance=~\"$instance\": {sorted(set(bare))}")
        expected.append((title, substitute(expr)))

lines = open(panels_path, encoding="utf-8").read().split("\n")
if lines and lines[-1] == "":
    lines.pop()
actual = []
for n, line in enumerate(lines, 1):
    parts = line.split("\t")
    if len(parts) != 2 or not all(parts):
        errors.append(f"panels.txt:{n}: not '<title>\\t<expr>': {line!r}")
        continue
    if "$" in parts[1]:
        errors.append(f"panels.txt:{n}: unreplaced variable in {parts[1]!r}")
    actual.append(tuple(parts))
if actual != expected:
    for i in range(max(len(actual), len(expected))):
        a = actual[i] if i < len(actual) else None
        e = expected[i] if i < len(expected) else None
        if a != e:
            errors.append(f"panels.txt line {i + 1}: {a!r}, dashboard has {e!r}")

# Annotation queries are PromQL too.
extra = [substitute(a["expr"]) for a in d.get("annotations", {}).get("list", []) if a.get("expr")]
json.dump([e for _, e in expected] + extra, open(exprs_out, "w"))

for e in errors:
    print(e)
print(f"{len(expected)} panels checked")
sys.exit(1 if errors else 0)
EOF

step "dashboard expressions parse as PromQL"
if [ -s "$tmp/exprs.json" ]; then
    # A rule file (JSON is YAML) with one recording rule per expression: promtool parses them.
    python3 - "$tmp/exprs.json" > "$tmp/panel-rules.yml" <<'EOF'
import json, sys
exprs = json.load(open(sys.argv[1]))
rules = [{"record": f"panel:expr:{i}", "expr": e} for i, e in enumerate(exprs)]
print(json.dumps({"groups": [{"name": "panels", "rules": rules}]}, indent=1))
EOF
    check promtool check rules "$tmp/panel-rules.yml"
else
    echo "FAILED: no expressions extracted from the dashboard" >&2
    failures=$((failures + 1))
fi

# --- systemd -------------------------------------------------------------------------
step "systemd-analyze verify"
if command -v systemd-analyze >/dev/null 2>&1; then
    # The binary is not installed here: verify a copy whose ExecStart points at a stand-in.
    printf '#!/bin/sh\nexit 0\n' > "$tmp/floorwatch"
    chmod +x "$tmp/floorwatch"
    sed "s#/usr/local/bin/floorwatch#$tmp/floorwatch#g" deploy/systemd/floorwatch.service \
        > "$tmp/floorwatch.service"
    # verify exits 0 on unknown keys and bad values, only warning about them: any output
    # is a failure.
    verify_unit() {
        local out
        out=$(systemd-analyze verify "$1" 2>&1) && [ -z "$out" ] && return 0
        printf '%s\n' "$out" >&2
        return 1
    }
    check verify_unit "$tmp/floorwatch.service"
    cp deploy/cluster/floorwatch-nats.service "$tmp/floorwatch-nats.service"
    if [ -x /usr/sbin/nats-server ]; then
        check verify_unit "$tmp/floorwatch-nats.service"
    else
        skip "floorwatch-nats.service: /usr/sbin/nats-server not installed"
    fi
else
    skip "systemd-analyze not found"
fi

# --- NATS (deploy/cluster) --------------------------------------------------------------
step "nats-server -t (deploy/cluster/nats-*.conf)"
nats_server=$(command -v nats-server || echo /usr/sbin/nats-server)
if [ -x "$nats_server" ]; then
    for conf in deploy/cluster/nats-*.conf; do
        check "$nats_server" -t -c "$conf"
    done
else
    skip "nats-server not found (scripts/test installs it)"
fi

echo
if [ "$failures" -ne 0 ]; then
    echo "check-deploy: $failures check(s) failed" >&2
    exit 1
fi
echo "check-deploy: all checks passed"
