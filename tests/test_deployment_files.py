"""The deployment files say what the code expects: Dockerfiles, the Compose file, the Kubernetes base.

No Docker engine, Compose CLI or cluster is needed: the files are parsed and checked against the
services' own settings classes and the contracts' topic list, so a renamed setting, a new topic or
a changed port fails here. `make validate-deploy` adds kustomize + kubeconform (schema validation)
and `make docker-dry-build` replays the Dockerfiles' builder stages.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

import helpt_contracts.topics as contract_topics
from helpt_gdpr.settings import GdprSettings
from helpt_intake.settings import IntakeSettings
from helpt_matching.settings import MatchingSettings
from helpt_platform.settings import SHARED_ENV, ServiceSettings
from helpt_screening.settings import ScreeningSettings

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "deploy" / "docker"
COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"
K8S_BASE = ROOT / "deploy" / "k8s" / "base"
K8S_PRODUCTION = ROOT / "deploy" / "k8s" / "overlays" / "production"

SETTINGS: dict[str, type[ServiceSettings]] = {
    "intake": IntakeSettings, "screening": ScreeningSettings, "matching": MatchingSettings, "gdpr": GdprSettings,
}
SERVICES = tuple(SETTINGS)
CONSUMERS_WITH_HPA = ("intake", "screening", "matching")  # gdpr: one replica while its keys are files


# -- helpers ------------------------------------------------------------------------------------

def env_names(service: str) -> set[str]:
    """Every environment variable the service reads: its prefixed fields and the shared ones."""
    settings = SETTINGS[service]
    prefix = settings.model_config["env_prefix"]
    return {prefix + field.upper() for field in settings.model_fields} | set(SHARED_ENV.values())


def _dry_build():
    """deploy/docker/dry_build.py (a script run with the system Python): its Dockerfile parser is the one tested here."""
    spec = importlib.util.spec_from_file_location("dry_build", Path(__file__).resolve().parents[1] / "deploy/docker/dry_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dockerfile_stages = _dry_build().dockerfile_stages


def of(stage: dict[str, Any], instruction: str) -> list[str]:
    return [rest for instr, rest in stage["instructions"] if instr == instruction]


def env_assignments(stage: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for rest in of(stage, "ENV"):
        for assignment in shlex.split(rest):
            key, _, value = assignment.partition("=")
            out[key] = value
    return out


def workspace_members() -> list[str]:
    text = (ROOT / "pyproject.toml").read_text()
    members = re.search(r"members\s*=\s*\[([^\]]*)\]", text)
    assert members, "no [tool.uv.workspace] members in pyproject.toml"
    out = []
    for pattern in re.findall(r'"([^"]+)"', members.group(1)):
        out.extend(sorted(p.parent.relative_to(ROOT).as_posix() for p in ROOT.glob(f"{pattern}/pyproject.toml")))
    return out


def contract_topic_names() -> set[str]:
    names = {value for name, value in vars(contract_topics).items()
             if name.isupper() and isinstance(value, str) and value.endswith(".v1") and "{" not in value}
    assert names, "no topics found in helpt_contracts.topics"
    return names | {contract_topics.dead_letter_topic(t) for t in names}


def created_topics(script: str) -> dict[str, tuple[int, int]]:
    """topic -> (partitions, retention.ms) from the `create TOPIC PARTITIONS RETENTION` lines of a topic script."""
    found = re.findall(r"^\s*create\s+(\S+)\s+(\d+)\s+(\d+)\s*$", script, flags=re.MULTILINE)
    topics = {topic: (int(partitions), int(retention)) for topic, partitions, retention in found}
    assert len(topics) == len(found), "a topic is created twice"
    return topics


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def k8s_documents(directory: Path) -> list[dict[str, Any]]:
    docs = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def k8s(kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in k8s_documents(K8S_BASE) if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def shared_config_literals(kustomization: Path) -> dict[str, str]:
    data = yaml.safe_load(kustomization.read_text())
    literals = next(g["literals"] for g in data["configMapGenerator"] if g["name"] == "helpt-shared")
    return dict(literal.split("=", 1) for literal in literals)


# -- Dockerfiles --------------------------------------------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
def test_each_service_image_is_built_in_two_stages_on_slim_python(service: str) -> None:
    stages = dockerfile_stages(DOCKER / f"{service}.Dockerfile")
    assert len(stages) >= 2
    assert all(re.fullmatch(r"python:3\.11-slim(-\w+)?", s["from"]) for s in stages), [s["from"] for s in stages]


@pytest.mark.parametrize("service", SERVICES)
def test_the_builder_installs_only_this_service_from_the_lock_without_dev_dependencies(service: str) -> None:
    builder = dockerfile_stages(DOCKER / f"{service}.Dockerfile")[0]
    syncs = [r for r in of(builder, "RUN") if r.startswith("uv sync")]
    assert syncs, "the builder does not run uv sync"
    for sync in syncs:
        flags = shlex.split(sync)
        assert "--locked" in flags or "--frozen" in flags, sync
        assert "--no-dev" in flags, sync
        assert flags[flags.index("--package") + 1] == f"helpt-{service}", sync
    assert "--no-editable" in shlex.split(syncs[-1]), "the final install must not point back into /src"
    copied = {source for c in of(builder, "COPY") for source in shlex.split(c)[:-1]}
    # uv checks the whole workspace against uv.lock: every member's pyproject must be there.
    assert {"pyproject.toml", "uv.lock"} <= copied
    assert {f"{m}/pyproject.toml" for m in workspace_members()} <= copied
    assert {"contracts/src", "libs/platform/src", f"services/{service}/src"} <= copied


@pytest.mark.parametrize("service", SERVICES)
def test_the_runtime_stage_holds_the_venv_runs_unprivileged_and_checks_healthz(service: str) -> None:
    runtime = dockerfile_stages(DOCKER / f"{service}.Dockerfile")[-1]
    port = SETTINGS[service].default_port
    # Only the venv comes from the builder; nothing installs anything here.
    assert [c for c in of(runtime, "COPY")] == ["--from=builder /app/.venv /app/.venv"]
    for run in of(runtime, "RUN"):
        assert not re.search(r"\b(apt-get|apk|pip|uv|gcc|make|build-essential)\b", run), run
    users = of(runtime, "USER")
    assert users and users[-1].split(":")[0] not in ("0", "root") and users[-1].split(":")[0].isdigit()
    [healthcheck] = of(runtime, "HEALTHCHECK")
    assert "/healthz" in healthcheck and "urllib.request" in healthcheck and "curl" not in healthcheck
    env = env_assignments(runtime)
    upper = service.upper()
    assert env[f"HELPT_{upper}_HTTP_HOST"] == "0.0.0.0"
    assert env[f"HELPT_{upper}_HTTP_PORT"] == str(port)
    assert f"HELPT_{upper}_HTTP_PORT" in healthcheck
    assert str(port) in of(runtime, "EXPOSE")[0].split()
    assert set(env) - {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"} <= env_names(service)
    assert of(runtime, "CMD") == [f'["python", "-m", "helpt_{service}"]']


def test_intake_image_takes_mail_on_its_smtp_port_on_every_interface() -> None:
    runtime = dockerfile_stages(DOCKER / "intake.Dockerfile")[-1]
    env = env_assignments(runtime)
    assert env["HELPT_INTAKE_SMTP_HOST"] == "0.0.0.0"
    assert env["HELPT_INTAKE_SMTP_PORT"] in of(runtime, "EXPOSE")[0].split()


def test_the_dockerfiles_differ_only_in_the_service() -> None:
    def normalised(service: str) -> str:
        text = (DOCKER / f"{service}.Dockerfile").read_text().replace(service, "SERVICE").replace(service.upper(), "SERVICE")
        text = text.replace(str(SETTINGS[service].default_port), "PORT")
        return "\n".join(line.rstrip(" \\") for line in text.splitlines()
                         if not line.startswith("#") and "SERVICE-keys" not in line and "KEY_DIR" not in line
                         and "SMTP" not in line and "EXPOSE" not in line
                         and "pyproject.toml" not in line)  # every image copies all members' pyproject files
    # gdpr's key directory and intake's SMTP port are the only deliberate differences (filtered above).
    assert len({normalised(s) for s in SERVICES}) == 1


def test_the_build_context_leaves_out_state_tools_and_secrets_but_not_what_is_copied() -> None:
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert {".git", ".venv", ".tools", ".state"} <= set(ignored)
    assert any(p.endswith("*.secret") for p in ignored)
    for service in SERVICES:
        for copy in of(dockerfile_stages(DOCKER / f"{service}.Dockerfile")[0], "COPY"):
          for source in shlex.split(copy)[:-1]:
            assert (ROOT / source).exists(), source
            assert not any(source == p or source.startswith(p.rstrip("/") + "/") for p in ignored), source


# -- Compose ------------------------------------------------------------------------------------

def test_compose_runs_what_make_run_runs() -> None:
    services = compose()["services"]
    assert set(services) == {"kafka", "kafka-init", "mongo", "mailpit", *SERVICES}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["mongo"]["image"].startswith("mongo:7")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, one node


@pytest.mark.parametrize("service", SERVICES)
def test_compose_builds_each_service_from_its_dockerfile_and_publishes_its_port(service: str) -> None:
    spec = compose()["services"][service]
    assert spec["build"] == {"context": "../..", "dockerfile": f"deploy/docker/{service}.Dockerfile"}
    assert (COMPOSE.parent / spec["build"]["context"] / spec["build"]["dockerfile"]).resolve().is_file()
    port = SETTINGS[service].default_port
    assert any(p.endswith(f":{port}:{port}") for p in spec["ports"])
    assert f"127.0.0.1:{port}/readyz" in " ".join(spec["healthcheck"]["test"])


def test_every_long_running_container_has_a_healthcheck_and_waits_on_conditions() -> None:
    services = compose()["services"]
    for name, spec in services.items():
        if name != "kafka-init":
            assert spec.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dependency, condition in spec.get("depends_on", {}).items():
            assert dependency in services
            expected = "service_completed_successfully" if dependency == "kafka-init" else "service_healthy"
            assert condition == {"condition": expected}, (name, dependency)
    for service in SERVICES:
        depends = services[service]["depends_on"]
        assert {"kafka-init", "mongo"} <= set(depends)
        if service != "gdpr":
            assert "gdpr" in depends
    assert services["kafka-init"]["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    assert "mailpit" in services["matching"]["depends_on"]


@pytest.mark.parametrize("service", SERVICES)
def test_compose_sets_only_variables_the_service_reads_and_wires_them_to_the_right_place(service: str) -> None:
    data = compose()
    spec = data["services"][service]
    env = {k: str(v) for k, v in spec["environment"].items()}
    unknown = set(env) - env_names(service)
    assert not unknown, f"{service} does not read {sorted(unknown)}"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == data["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"].split("//")[1]
    assert env["MONGODB_URL"].startswith("mongodb://mongo:27017")
    upper = service.upper()
    if f"HELPT_{upper}_GDPR_URL" in env_names(service):
        assert env[f"HELPT_{upper}_GDPR_URL"] == f"http://gdpr:{GdprSettings.default_port}"
    # Every *_FILE / *_SECRET_FILE points at a secret this container mounts.
    mounted = set(spec.get("secrets", []))
    for name, value in env.items():
        if name.endswith("_FILE"):
            secret = value.removeprefix("/run/secrets/")
            assert value.startswith("/run/secrets/") and secret in mounted and secret in data["secrets"], (name, value)


def test_matching_mails_through_the_mail_catcher_and_gdpr_keeps_keys_on_a_volume() -> None:
    data = compose()
    matching = data["services"]["matching"]["environment"]
    assert matching["HELPT_MATCHING_SMTP_HOST"].endswith(":-mailpit}") or matching["HELPT_MATCHING_SMTP_HOST"] == "mailpit"
    assert matching["HELPT_MATCHING_SMTP_PORT"].endswith(":-1025}") or str(matching["HELPT_MATCHING_SMTP_PORT"]) == "1025"
    gdpr = data["services"]["gdpr"]
    key_dir = gdpr["environment"]["HELPT_GDPR_KEY_DIR"]
    assert any(v.split(":")[1] == key_dir and v.split(":")[0] in data["volumes"] for v in gdpr["volumes"])
    for secret in data["secrets"].values():
        assert secret["file"].startswith("./secrets/")
    assert (COMPOSE.parent / ".gitignore").read_text().split() == ["secrets/"]


# -- topics -------------------------------------------------------------------------------------

def test_compose_creates_exactly_the_contract_topics() -> None:
    script = "\n".join(compose()["services"]["kafka-init"]["command"])
    assert set(created_topics(script)) == contract_topic_names()


def test_kubernetes_creates_exactly_the_contract_topics_as_compose_does() -> None:
    [job] = k8s("Job", "kafka-topics")
    script = "\n".join(job["spec"]["template"]["spec"]["containers"][0]["args"])
    compose_script = "\n".join(compose()["services"]["kafka-init"]["command"])
    assert created_topics(script) == created_topics(compose_script)


def test_every_topic_has_partitions_for_the_largest_scale_out_and_a_bounded_retention() -> None:
    topics = created_topics("\n".join(compose()["services"]["kafka-init"]["command"]))
    max_replicas = max(h["spec"]["maxReplicas"] for h in k8s("HorizontalPodAutoscaler"))
    for topic, (partitions, retention) in topics.items():
        assert 0 < retention <= 90 * 86400 * 1000, topic  # never kept forever (-1)
        if topic in {contract_topics.HELP_REQUESTS, contract_topics.VOLUNTEERS, contract_topics.SCREENING_DECISIONS,
                     contract_topics.MATCHES}:
            assert partitions >= max_replicas, f"{topic}: {partitions} partitions cannot feed {max_replicas} replicas"


# -- Kubernetes (structure; `make validate-deploy` validates the rendered manifests) ---------------

@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_probes_readyz_and_healthz_and_has_resources(service: str) -> None:
    [deployment] = k8s("Deployment", service)
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    port = SETTINGS[service].default_port
    assert {p["name"]: p["containerPort"] for p in container["ports"]}["http"] == port
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"cpu", "memory"} <= set(container["resources"]["requests"]) and {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["image"] == f"helpt/{service}:local"
    env = {e["name"]: e for e in container["env"]}
    assert set(env) <= env_names(service)
    assert env["MONGODB_URL"]["valueFrom"]["secretKeyRef"]["name"] == "helpt-mongodb"
    assert env[f"HELPT_{service.upper()}_HTTP_HOST"]["value"] == "0.0.0.0"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    config = shared_config_literals(K8S_BASE / "kustomization.yaml")
    for name, value in [*((n, e.get("value", "")) for n, e in env.items()), *config.items()]:
        if name.endswith("_FILE") and name in env_names(service):
            assert any(value.startswith(m + "/") for m in mounts), (service, name, value)


def test_the_shared_config_holds_only_variables_some_service_reads() -> None:
    readable = set().union(*(env_names(s) for s in SERVICES))
    for kustomization in (K8S_BASE / "kustomization.yaml", K8S_PRODUCTION / "kustomization.yaml"):
        config = shared_config_literals(kustomization)
        assert not set(config) - readable, sorted(set(config) - readable)
    config = shared_config_literals(K8S_BASE / "kustomization.yaml")
    for service in ("intake", "screening", "matching"):
        assert config[f"HELPT_{service.upper()}_GDPR_URL"] == f"http://gdpr:{GdprSettings.default_port}"


def test_disruption_budgets_and_autoscalers() -> None:
    budgets = {p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for p in k8s("PodDisruptionBudget")}
    assert budgets == set(SERVICES)
    scaled = {h["spec"]["scaleTargetRef"]["name"]: h for h in k8s("HorizontalPodAutoscaler")}
    assert set(scaled) == set(CONSUMERS_WITH_HPA)
    for hpa in scaled.values():
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert "KEDA" in (K8S_BASE / "intake.yaml").read_text()
    [gdpr] = k8s("Deployment", "gdpr")
    assert gdpr["spec"]["replicas"] == 1 and gdpr["spec"]["strategy"]["type"] == "Recreate"


def test_gdpr_is_reachable_only_from_the_three_services() -> None:
    policies = {p["metadata"]["name"]: p for p in k8s("NetworkPolicy")}
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    allowing_gdpr = [p for p in policies.values()
                     if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == "gdpr"
                     or "gdpr" in str(p["spec"]["podSelector"].get("matchExpressions", ""))]
    assert len(allowing_gdpr) == 1
    [rule] = allowing_gdpr[0]["spec"]["ingress"]
    [source] = rule["from"]
    assert set(source) == {"podSelector"}  # no namespaceSelector, no ipBlock
    [expression] = source["podSelector"]["matchExpressions"]
    assert expression["operator"] == "In" and set(expression["values"]) == {"intake", "screening", "matching"}


def test_the_ingresses_expose_the_public_pages_and_never_gdpr() -> None:
    backends: dict[tuple[str, str], str] = {}
    for ingress in k8s("Ingress"):
        assert ingress["spec"]["tls"], ingress["metadata"]["name"]
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backends[(ingress["metadata"]["name"], path["path"])] = path["backend"]["service"]["name"]
    assert "gdpr" not in backends.values()
    assert backends[("helpt-public", "/")] == "intake"
    assert backends[("helpt-public", "/m/")] == "matching"
    assert backends[("helpt-public", "/guidelines/")] == "screening"
    config = shared_config_literals(K8S_BASE / "kustomization.yaml")
    public_host = next(i for i in k8s("Ingress", "helpt-public"))["spec"]["rules"][0]["host"]
    assert config["HELPT_MATCHING_PUBLIC_URL"] == config["HELPT_SCREENING_PUBLIC_URL"] == f"https://{public_host}"


def test_no_secret_values_are_committed() -> None:
    for path in [*K8S_BASE.rglob("*.yaml"), *K8S_PRODUCTION.rglob("*.yaml")]:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                assert doc.get("kind") != "Secret", path
                assert "secretGenerator" not in doc, path
    assert not list((ROOT / "deploy").rglob("*.secret"))


def test_the_validation_tools_are_pinned() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^KUBECONFORM_VERSION := v\d+\.\d+\.\d+$", makefile, flags=re.MULTILINE)
    assert re.search(r"^KUSTOMIZE_VERSION\s+:= v\d+\.\d+\.\d+$", makefile, flags=re.MULTILINE)
    assert "@latest" not in makefile
    assert "validate-deploy:" in makefile and "compose-config:" in makefile
