"""`make bench` (or `python -m bench [--quick] [--only storm,capacity]`): the realtime benchmark
of docs/performance.md.

It builds its own database (`<DATABASE_URL name>_bench`, flushed each run), starts daphne as the
Procfile does, drives it from this process and from patient-fleet processes on 127.0.0.1 only,
prints a table with the ratios and targets, and writes every figure to a JSON file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from bench.stack import ROOT, StackEnv, ensure_database, machine, raise_fd_limit

DEFAULT_OUT = {False: ROOT / "bench/results/latest.json", True: ROOT / "bench/results/quick.json"}
PARTIAL_OUT = ROOT / ".run/bench-partial.json"  # not committed: only a full run is the record
RENDER_SIZES = (10, 100, 1000)
# Scenario groups, in the order a full run measures them. `--only` picks some (a full run is the
# default): "layers" is scenarios 1-3 and 5 with each channel layer; "storm" and "storm2" are the
# reconnect storm alone on one daphne process and spread over two, with the chosen layer; "soak"
# (never part of the full run: 30 minutes, 2 with --quick) holds sockets under status changes
# and chat and reports the processes' memory growth. "reports" (never part of the full run) renders
# the month report (or with --reports-period year the year's) of a clinic with 100,000 visits
# in-process (bench/reports.py).
SCENARIOS = ("layers", "two_process", "storm2", "capacity", "render", "voice", "storm", "soak", "reports")
FULL_RUN = ("layers", "two_process", "storm2", "capacity", "render")


def scenario_list(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(SCENARIOS)} (comma-separated)")
    return names


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small figures, under a minute")
    parser.add_argument(
        "--out", type=Path, help="JSON file (default bench/results/latest.json or quick.json)"
    )
    parser.add_argument("--fleets", type=int, help="patient-fleet processes (load generators)")
    parser.add_argument(
        "--only",
        type=scenario_list,
        default=FULL_RUN,
        help=f"comma-separated scenarios, of {', '.join(SCENARIOS)} (default: the full run, {','.join(FULL_RUN)})",
    )
    parser.add_argument(
        "--patients", type=int, help="N for scenarios 3 and 5 (default 5,000; 500 with --quick)"
    )
    parser.add_argument(
        "--reports-period",
        choices=("month", "year"),
        default="month",
        help="reports: render the last full month (default) or the whole year before today",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="record each daphne with py-spy during scenario 5 alone (.run/profile-storm*.txt, raw format)",
    )
    return parser.parse_args()


def prepare(env: StackEnv, plan, only: tuple[str, ...], *, reports_period: str = "month") -> dict[str, Any]:
    """Everything that needs the ORM, done before the event loop starts."""
    import django

    os.environ.update(env.django_env())
    ensure_database(env.database_url)
    django.setup()
    from django.conf import settings

    from bench import fixtures
    from visits.cards import card_html
    from visits.models import Visit

    fixtures.reset_database()
    # The reports scenario alone needs no sockets: a token clinic keeps the shared set-up cheap.
    sockets_needed = bool(set(only) - {"reports"})
    clinic = fixtures.make_clinic(
        "bench",
        staff=plan.dashboards,
        patients=max(
            [
                plan.patients if sockets_needed else 1,
                *(plan.capacity_steps if "capacity" in only else []),
                *([plan.soak_patients] if "soak" in only else []),
            ]
        ),
        targets=plan.actions_per_run + 10 if sockets_needed else 1,
    )
    render_clinics = {n: fixtures.make_render_clinic(n) for n in RENDER_SIZES} if "render" in only else {}
    from bench import voice

    voice_calls = voice.make_calls(plan.voice_requests + 1) if "voice" in only else []
    html = card_html(visit=Visit.objects.select_related("clinic").get(pk=clinic.targets[0]))
    report_figures = None
    if "reports" in only:
        from bench import reports

        print(f"  reports: the {reports_period} report of a clinic with 100,000 visits ...", flush=True)
        report_figures = reports.reports_run(period=reports_period)
    return {
        "reports": report_figures,
        "clinic": clinic,
        "render_clinics": {n: (slug, login.session_key) for n, (slug, login) in render_clinics.items()},
        "queries": {
            n: dashboard_queries(slug, login.session_key) for n, (slug, login) in render_clinics.items()
        },
        "html": html,
        "layer": settings.CHANNEL_LAYER,
        "voice_calls": voice_calls,
    }


def dashboard_queries(slug: str, session_key: str) -> int:
    """Queries of one dashboard page render, counted in-process through the same view."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    client.get(f"/dashboard/{slug}/")  # first render warms caches (content types, templates)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/dashboard/{slug}/").status_code == 200
    return len(captured)


async def run(env: StackEnv, plan, prepared: dict[str, Any], only: tuple[str, ...]) -> dict[str, Any]:
    from bench import scenarios
    from bench.floor import Floor
    from waitingroom.realtime.layers import LAYERS

    clinic, chosen = prepared["clinic"], prepared["layer"]
    actions = scenarios.StaffActions(clinic)
    results: dict[str, Any] = {"chosen_layer": chosen}
    if "layers" in only:
        results["layers"] = {}
        floor = Floor(env.redis_url, f"{env.prefix}-floor")
        try:
            for kind in LAYERS:
                print(f"  scenarios 1-3, 5 with the {kind} layer ...", flush=True)
                results["layers"][kind] = await scenarios.layer_run(
                    kind,
                    env=env,
                    clinic=clinic,
                    actions=actions,
                    floor=floor,
                    html=prepared["html"],
                    plan=plan,
                )
        finally:
            floor.stop()
    if "two_process" in only:
        print("  scenario 3 on two daphne processes ...", flush=True)
        results["two_process"] = await scenarios.two_process_run(
            chosen, env=env, clinic=clinic, actions=actions, plan=plan
        )
    if "storm" in only:
        print(f"  scenario 5: reconnect storm, one daphne process ({chosen}) ...", flush=True)
        results["storm"] = await scenarios.storm_run(chosen, env=env, clinic=clinic, plan=plan, servers=1)
    if "storm2" in only:
        print(f"  scenario 5: reconnect storm over two daphne processes ({chosen}) ...", flush=True)
        results["storm2"] = await scenarios.storm_run(chosen, env=env, clinic=clinic, plan=plan, servers=2)
    if "capacity" in only:
        print("  scenario 4: capacity ...", flush=True)
        results["capacity"] = await scenarios.capacity_run(
            chosen, env=env, clinic=clinic, actions=actions, plan=plan
        )
    if "render" in only:
        print("  scenario 6: dashboard render ...", flush=True)
        results["render"] = await scenarios.render_run(
            chosen, env=env, render_clinics=prepared["render_clinics"], queries=prepared["queries"], plan=plan
        )
    if "voice" in only:
        from bench import voice

        print(
            f"  voice webhooks: {plan.voice_requests:,} calls, {plan.voice_rate:g} requests/s ...",
            flush=True,
        )
        results["voice"] = await voice.voice_run(
            chosen, env=env, calls=prepared["voice_calls"], rate=plan.voice_rate
        )
    if "soak" in only:
        print(
            f"  soak: {plan.soak_patients:,} sockets for {plan.soak_seconds:.0f} s ({chosen}) ...", flush=True
        )
        results["soak"] = await scenarios.soak_run(chosen, env=env, clinic=clinic, actions=actions, plan=plan)
    return results


def main() -> None:
    from bench import report
    from bench.plan import FULL, QUICK

    args = parse_args()
    plan = QUICK if args.quick else FULL
    if args.fleets:
        plan.fleets = args.fleets
    if args.patients:
        plan.patients = args.patients
    plan.profile = args.profile
    fd_limit = raise_fd_limit()
    started = time.monotonic()
    env = StackEnv.from_environ(servers=2)
    print(
        f"Benchmark ({'quick' if args.quick else 'full'}): preparing {env.database_url.rsplit('/', 1)[1]} ..."
    )
    prepared = prepare(env, plan, args.only, reports_period=args.reports_period)
    results = asyncio.run(run(env, plan, prepared, args.only))
    if prepared["reports"] is not None:
        results["reports"] = prepared["reports"]
    results.update(
        mode="quick" if args.quick else "full",
        scenarios=list(args.only),
        plan=plan.__dict__,
        machine={**machine(), "fd_limit": fd_limit},
        started_at=time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - (time.monotonic() - started))
        ),
        seconds=round(time.monotonic() - started, 1),
        payload_bytes=len(prepared["html"]),
    )
    results["ratios"] = report.ratios(results)
    results["targets"] = report.targets(results, plan)
    # A partial run never overwrites the full run's figures unless told to.
    out = args.out or (DEFAULT_OUT[args.quick] if set(args.only) >= set(FULL_RUN) else PARTIAL_OUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(report.table(results))
    print(f"\nFigures written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
