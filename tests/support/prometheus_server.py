"""A real Prometheus server for the tests (Debian's prometheus package, which brings promtool
too: scripts/ensure-promtool.sh installs it): its configuration and data in a temporary folder,
on a free port, stopped by stop(). query() asks its HTTP API."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.server_process import ServerProcess, free_port


def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        pytest.fail("prometheus is missing; run scripts/ensure-promtool.sh (make test does)")
    return path


class PrometheusServer(ServerProcess):
    """Prometheus scraping ``targets`` (host:port) at ``metrics_path`` every 2 s (a scrape on a
    loaded machine may take more than 1 s), evaluating ``rule_files`` every second."""

    def __init__(self, folder: Path, targets: list[str], metrics_path: str, rule_files: list[Path]):
        folder.mkdir(parents=True)
        config = {
            "global": {"scrape_interval": "2s", "evaluation_interval": "1s", "scrape_timeout": "2s"},
            "rule_files": [str(path) for path in rule_files],
            "scrape_configs": [
                {
                    "job_name": "awx-eventdebug",
                    "metrics_path": metrics_path,
                    "static_configs": [{"targets": targets}],
                }
            ],
        }
        (folder / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            [
                prometheus_binary(),
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            folder / "prometheus.log",
        )

    def get(self, path: str, **params) -> dict:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)

    def query(self, expr: str) -> list[dict]:
        """The instant vector ``expr`` gives now: [{"metric": labels, "value": float}]."""
        answer = self.get("/api/v1/query", query=expr)
        assert answer["status"] == "success", (expr, answer)
        return [{"metric": r["metric"], "value": float(r["value"][1])} for r in answer["data"]["result"]]

    def wait_ready(self, timeout: float) -> None:
        self.wait_until(self._ready, timeout, "prometheus did not get ready")

    def _ready(self) -> bool | None:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return True if response.status == 200 else None
        except OSError:
            return None
