"""A worker knows every task the project defines and every task beat sends. Tests run tasks
eagerly in-process, where any imported task works: a task in a module the worker's autodiscovery
never imports is found only by this test (the phone bridge's tasks once were: its calls were
never placed under `make run`)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ["waitingroom", "visits", "scheduling", "consultations"]


def defined_task_names() -> set[str]:
    """Every @shared_task's name in the project's code (its explicit name=, else module.function)."""
    names = set()
    for package in PROJECT:
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.FunctionDef):
                    continue
                for decorator in node.decorator_list:
                    call = decorator if isinstance(decorator, ast.Call) else None
                    target = call.func if call else decorator
                    if getattr(target, "id", getattr(target, "attr", "")) != "shared_task":
                        continue
                    explicit = [k.value for k in (call.keywords if call else []) if k.arg == "name"]
                    names.add(explicit[0].value if explicit else f"{module}.{node.name}")  # type: ignore[attr-defined]
    return names


# What a worker does at start-up (autodiscovery), in a fresh interpreter: in the test process
# every module some test imported has registered its tasks already.
WORKER_VIEW = """
import json, django
django.setup()
from waitingroom.celery import app
app.loader.import_default_modules()
print(json.dumps(sorted(app.tasks)))
"""


def test_the_worker_finds_every_task_the_project_defines_and_beat_sends():
    found = subprocess.run(
        [sys.executable, "-c", WORKER_VIEW], cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True
    )
    assert found.returncode == 0, found.stderr
    registered = set(json.loads(found.stdout.strip().splitlines()[-1]))
    defined = defined_task_names()
    assert "waitingroom.voice.call_place" in defined  # the scan sees the sub-packages' tasks
    assert defined - registered == set()
    beat = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert beat - registered == set()
