#!/usr/bin/python3
"""docs/monitoring/: the alert rules and the Grafana dashboard an operator loads, checked with
Debian's promtool and against what the real zrelayd exports.

- `promtool check rules` accepts the rules, and `promtool test rules` passes their unit tests
  (zrelay-alerts.test.yml: each alert fires on the series that should raise it, and only then).
- Every dashboard query is valid PromQL: each is checked by promtool as a recording rule.
- Every metric the rules and the dashboard name is in a real relay's scrape, so a renamed metric
  cannot leave a silent alert or an empty panel behind.
Run by CTest (ZRELAYD, PYTHONPATH as for relay_test.py).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from relay_test import RelayFixture, free_tcp_ports, http_get

MONITORING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "monitoring")
RULES = os.path.join(MONITORING, "zrelay-alerts.yml")
RULE_TESTS = os.path.join(MONITORING, "zrelay-alerts.test.yml")
DASHBOARD = os.path.join(MONITORING, "zrelay-dashboard.json")
METRIC = re.compile(r"\b((?:zrelay|process)_[a-z_]+)\b")
# Grafana's variables, as a dashboard would expand them.
GRAFANA_VARS = {"$__rate_interval": "1m", "$job": "zrelay", "$instance": ".*"}


def promtool(*args):
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120,
                          check=False)


def dashboard_queries():
    with open(DASHBOARD, encoding="utf-8") as f:
        dashboard = json.load(f)
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            queries.append(var["definition"])
    return queries


def rule_exprs():
    """The alert expressions (the rules file is YAML; its exprs are one line each)."""
    with open(RULES, encoding="utf-8") as f:
        return [m.group(1) for m in re.finditer(r"^\s+expr: (.+)$", f.read(), re.M)]


class MonitoringTest(RelayFixture):

    def setUp(self):
        super().setUp()
        self.assertIsNotNone(shutil.which("promtool"),
                             "promtool is missing: tools/install-deps.sh installs it (prometheus)")

    def test_promtool_checks_the_rules_and_their_unit_tests_pass(self):
        checked = promtool("check", "rules", RULES)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        self.assertIn("SUCCESS: 10 rules found", checked.stdout)
        tested = promtool("test", "rules", RULE_TESTS)
        self.assertEqual(tested.returncode, 0, tested.stdout + tested.stderr)
        self.assertIn("SUCCESS", tested.stdout)

    def test_every_dashboard_query_is_valid_promql(self):
        queries = [q for q in dashboard_queries() if not q.startswith("label_values(")]
        self.assertGreaterEqual(len(queries), 20)
        lines = ["groups:", "  - name: dashboard", "    rules:"]
        for i, query in enumerate(queries):
            for var, value in GRAFANA_VARS.items():
                query = query.replace(var, value)
            lines += [f"      - record: dashboard_query_{i}", f"        expr: {json.dumps(query)}"]
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("\n".join(lines) + "\n")
        try:
            checked = promtool("check", "rules", f.name)
        finally:
            os.remove(f.name)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)

    def test_every_metric_the_rules_and_dashboard_name_is_exported(self):
        named = set()
        for text in rule_exprs() + dashboard_queries():
            named.update(METRIC.findall(text))
        self.assertGreaterEqual(len(named), 20, named)
        # A relay that exports every family: pipelined (the in-flight gauges), with a forward
        # link (the link series; nobody listens there, which is fine) and retention (default).
        link_port = free_tcp_ports(1)[0]
        self.start(self.config(workers=2,
                               egress={"bind": [self.out_endpoint],
                                       "forward": [f"tcp://127.0.0.1:{link_port}"]}))
        answer = http_get(self.metrics_port, "/metrics")
        self.assertEqual(answer[0], 200)
        exported = set(re.findall(r"^# TYPE (\S+) ", answer[1], re.M))
        missing = sorted(named - exported)
        self.assertEqual(missing, [], f"named in docs/monitoring but not exported: {missing}")


if __name__ == "__main__":
    unittest.main()
