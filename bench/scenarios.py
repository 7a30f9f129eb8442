"""The scenarios, each a small async function over a running stack. Figures come back as plain
dicts (they go to the JSON file as they are)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from django.utils.module_loading import import_string

from bench.fixtures import BenchClinic
from bench.floor import Floor
from bench.load import Boards, FleetOptions, Fleets, PatientSpec, Timed, http, open_loop
from bench.plan import Plan
from bench.stack import (
    LOG_DIR,
    ROOT,
    Daphne,
    Profile,
    StackEnv,
    cpu_seconds,
    machine_cpu_seconds,
    rss_kib,
    stop_process,
)
from bench.stats import latency_ms, percentile
from waitingroom.realtime import groups, publisher
from waitingroom.realtime.layers import channel_layer


@dataclass
class StaffActions:
    """Scenario 3's status changes: a staff member calls a visit (available -> in_call) or leaves
    its call (in_call -> available) with the dashboard's POST. Each visit changes at most once per
    run, so (visit, status) identifies an update."""

    clinic: BenchClinic
    state: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state = dict.fromkeys(self.clinic.targets, "available")
        self.cycle = itertools.cycle(self.clinic.targets)

    def fire(self, port: int):
        def make(i: int):
            visit_id = next(self.cycle)
            action = "call" if self.state[visit_id] == "available" else "leave_call"
            status = self.state[visit_id] = "in_call" if action == "call" else "available"
            # The member who called must be the one who leaves: one staff member per visit.
            login = self.clinic.staff[visit_id % len(self.clinic.staff)]
            path = f"/dashboard/{self.clinic.slug}/visits/{visit_id}/{action}/"

            async def send() -> None:
                code, body = await http(port, "POST", path, session_key=login.session_key)
                if code != 200:
                    raise RuntimeError(f"HTTP {code} {body[:80]!r}")

            return (visit_id, status), send

        return make


async def full_path(actions: StaffActions, boards: Boards, *, port: int, plan: Plan, seconds: float) -> Timed:
    boards.reset()
    return await open_loop(plan.rate, round(plan.rate * seconds), actions.fire(port), boards=boards)


class LayerProbe:
    """Scenario 2: group_send from this process to the clinic's dashboard consumers in daphne."""

    def __init__(self, kind: str, env: StackEnv, clinic: BenchClinic, html: str) -> None:
        config = channel_layer(kind, redis_url=env.redis_url, max_connections=50, prefix=env.prefix)
        self.layer = import_string(config["BACKEND"])(**config["CONFIG"])
        self.group = groups.clinic_staff_group(clinic.id)
        self.html = html
        self.ids = itertools.count(1)

    async def measure(self, boards: Boards, plan: Plan) -> Timed:
        boards.reset()

        def make(i: int):
            visit_id = -next(self.ids)  # never a real visit
            payload = {"type": "visit", "visit_id": visit_id, "status": "probe", "html": self.html}

            async def send() -> None:
                await self.layer.group_send(self.group, {"type": publisher.EVENT_TYPE, "payload": payload})

            return (visit_id, "probe"), send

        return await open_loop(plan.probe_rate, plan.probes, make, boards=boards)

    async def close(self) -> None:
        if hasattr(self.layer, "flush"):
            await self.layer.flush()


def new_fleets(plan: Plan) -> Fleets:
    return Fleets(plan.fleets, FleetOptions(heartbeat=plan.heartbeat))


def payload_bytes(html: str) -> int:
    return len(json.dumps({"type": publisher.EVENT_TYPE, "payload": {"type": "visit", "html": html}}))


def specs(clinic: BenchClinic, count: int, ports: list[int], start: int = 0) -> list[PatientSpec]:
    """Patients start..start+count, dealt over `ports` (one server each)."""
    chosen = clinic.patients[start : start + count]
    return [PatientSpec(ports[i % len(ports)], p.token, p.session_key) for i, p in enumerate(chosen)]


def _count_present(clinic_id: int) -> int:
    from visits.models import Visit

    return Visit.objects.filter(clinic_id=clinic_id, open_sockets__gt=0).count()


def _count_miscounted(clinic_id: int, expected: int) -> int:
    """Visits whose presence count is not `expected` (every patient has one socket here)."""
    from visits.models import Visit

    return Visit.objects.filter(clinic_id=clinic_id, status="waiting").exclude(open_sockets=expected).count()


async def miscounted_after(clinic: BenchClinic, expected: int, seconds: float = 10) -> int:
    """Once every drop and every reconnect has been written, each visit counts its one socket:
    the number of visits that still do not after `seconds` (0 is right)."""
    started = time.monotonic()
    while True:
        wrong = await sync_to_async(_count_miscounted)(clinic.id, expected)
        if wrong == 0 or time.monotonic() - started > seconds:
            return wrong
        await asyncio.sleep(0.5)


def _forget_presence(clinic_id: int) -> None:
    """Servers of an earlier scenario were stopped with sockets open: start from none."""
    from visits.models import ProcessSockets, Visit

    Visit.objects.filter(clinic_id=clinic_id).update(open_sockets=0)
    ProcessSockets.objects.filter(visit__clinic_id=clinic_id).delete()


async def settle(clinic: BenchClinic, expected: int) -> float:
    """Wait until the server has recorded every socket's presence (a client counts as connected
    at the handshake, before the server's last database write of it), then let it go quiet. A
    scenario measured before that would measure the connect's tail. Returns the seconds waited."""
    started = time.monotonic()
    # Polls the database another process writes: no event to wait on.
    while await sync_to_async(_count_present)(clinic.id) < expected and time.monotonic() - started < 120:  # noqa: ASYNC110
        await asyncio.sleep(0.5)
    await asyncio.sleep(1)
    return time.monotonic() - started


def _brief(figures: dict[str, Any]) -> str:
    return f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, delivery {figures['delivery_ratio']}"


def timed_figures(timed: Timed) -> dict[str, Any]:
    return {
        **latency_ms(timed.latencies),
        "delivery_ratio": timed.delivery_ratio,
        "errors": len(timed.errors),
        "error_samples": timed.errors[:5],
    }


async def layer_run(
    kind: str,
    *,
    env: StackEnv,
    clinic: BenchClinic,
    actions: StaffActions,
    floor: Floor,
    html: str,
    plan: Plan,
) -> dict[str, Any]:
    """Scenarios 1-3 (and 5) on one daphne running layer `kind`, with N patient sockets held."""
    fleets = new_fleets(plan)
    await sync_to_async(_forget_presence)(clinic.id)
    server = Daphne(name=f"layer-{kind}", port=env.ports[0], env=env.django_env(kind)).start()
    boards = Boards()
    probe = LayerProbe(kind, env, clinic, html)
    try:
        await boards.open(server.port, clinic.slug, [s.session_key for s in clinic.staff])
        await full_path(actions, boards, port=server.port, plan=plan, seconds=1)  # warm-up
        connected = await fleets.connect(specs(clinic, plan.patients, [server.port]))
        connected["settle_seconds"] = await settle(clinic, plan.patients)
        reps: list[dict[str, Any]] = []
        for _ in range(plan.repetitions):
            raw = await floor.measure(
                count=plan.probes, rate=plan.probe_rate, payload_bytes=payload_bytes(html)
            )
            layer = await probe.measure(boards, plan)
            await fleets.stats()  # count heartbeats of the full path's window only
            cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
            full = await full_path(
                actions, boards, port=server.port, plan=plan, seconds=plan.full_path_seconds
            )
            cpu = (cpu_seconds(server.pid) - cpu0) / (time.monotonic() - t0)
            beats = await fleets.stats()
            print(
                f"    rep {len(reps) + 1}: raw Redis p50 {latency_ms(raw)['p50_ms']} ms, group_send "
                f"{_brief(timed_figures(layer))}; full path {_brief(timed_figures(full))}",
                flush=True,
            )
            reps.append(
                {
                    "floor": latency_ms(raw),
                    "channel_layer": timed_figures(layer),
                    "full_path": timed_figures(full),
                    "server_cpu_percent": round(cpu * 100, 1),
                    "heartbeats": heartbeat_figures(beats),
                    # Another workload on the machine shows here (2.0 is both cores busy).
                    "load_average_1min": round(os.getloadavg()[0], 2),
                }
            )
        print(
            f"    {connected['open']:,} sockets connected in {connected['seconds']:.1f} s "
            f"(settled {connected['settle_seconds']:.1f} s later); reconnect storm ...",
            flush=True,
        )
        storm = await fleets.storm()
        print(
            f"    storm: all back after {storm['seconds']:.1f} s, {storm['error_count']} failed attempts",
            flush=True,
        )
        after = await fleets.stats()
        storm["closed_by_server"] = after["closed_by_server"]
        return {
            "layer": kind,
            "patients": connected["open"],
            "connect_seconds": round(connected["seconds"], 2),
            "settle_seconds": round(connected["settle_seconds"], 2),
            "repetitions": reps,
            "reconnect_storm": storm,
            "server_rss_mib": round(rss_kib(server.pid) / 1024, 1),
        }
    finally:
        await fleets.stop()
        await boards.close()
        await probe.close()
        server.stop()


async def storm_run(
    kind: str, *, env: StackEnv, clinic: BenchClinic, plan: Plan, servers: int
) -> dict[str, Any]:
    """Scenario 5 alone: N patient sockets on `servers` daphne processes (dealt round-robin, as a
    least-connections balancer would), all dropped at once; each reconnects to the process it was
    on with the page's backoff. One process is the figure of scenario 5 in `layer_run`."""
    fleets = new_fleets(plan)
    await sync_to_async(_forget_presence)(clinic.id)
    daphnes = [
        Daphne(name=f"storm{servers}-{i}", port=env.ports[i], env=env.django_env(kind)).start()
        for i in range(servers)
    ]
    try:
        connected = await fleets.connect(specs(clinic, plan.patients, [d.port for d in daphnes]))
        settled = await settle(clinic, plan.patients)
        await fleets.stats()
        print(
            f"    {connected['open']:,} sockets connected in {connected['seconds']:.1f} s "
            f"(settled {settled:.1f} s later); reconnect storm ...",
            flush=True,
        )
        load = round(os.getloadavg()[0], 2)
        profiles = [Profile(d.pid, d.name) for d in daphnes] if plan.profile else []
        cpu0 = [cpu_seconds(d.pid) for d in daphnes]
        fleet_cpu0, machine0 = sum(cpu_seconds(pid) for pid in fleets.pids()), machine_cpu_seconds()
        storm = await fleets.storm()
        cpu = [round(cpu_seconds(d.pid) - c, 1) for d, c in zip(daphnes, cpu0, strict=True)]
        fleet_cpu = round(sum(cpu_seconds(pid) for pid in fleets.pids()) - fleet_cpu0, 1)
        machine_cpu = round(machine_cpu_seconds() - machine0, 1)
        print(
            f"    storm: {storm['back']:,} of {storm['sockets']:,} back after {storm['seconds']:.1f} s, "
            f"{storm['error_count']} failed attempts (load avg {load}); CPU s: daphne {cpu}, "
            f"load generator {fleet_cpu}, whole machine {machine_cpu}",
            flush=True,
        )
        # Presence written for every socket again (the server's last step of a connect).
        storm["settle_seconds"] = round(await settle(clinic, plan.patients), 2)
        storm["miscounted_visits"] = await miscounted_after(clinic, 1)
        print(f"    presence after the storm: {storm['miscounted_visits']} visits miscounted", flush=True)
        for profile in profiles:
            print(f"    profile: {profile.stop()}", flush=True)
        after = await fleets.stats()
        storm["closed_by_server"] = after["closed_by_server"]
        return {
            "layer": kind,
            "servers": servers,
            "patients": connected["open"],
            "connect_seconds": round(connected["seconds"], 2),
            "reconnect_storm": storm,
            "server_cpu_seconds": cpu,
            "load_generator_cpu_seconds": fleet_cpu,
            "machine_cpu_seconds": machine_cpu,
            "load_average_1min": load,
        }
    finally:
        await fleets.stop()
        for d in daphnes:
            d.stop()


def heartbeat_figures(beats: dict[str, Any]) -> dict[str, Any]:
    rtts = beats["rtts"]
    return {
        "open": beats["open"],
        "pongs": len(rtts),
        "pong_p99_ms": None if (p99 := percentile(rtts, 99)) is None else round(p99 * 1000, 1),
        "missed": beats["missed"],
        "errors": len(beats["errors"]) + beats["closed_by_server"],
        "error_samples": beats["errors"][:5],
    }


async def two_process_run(
    kind: str, *, env: StackEnv, clinic: BenchClinic, actions: StaffActions, plan: Plan
) -> dict[str, Any]:
    """Scenario 3 across two daphne processes: patients on both, dashboards on B, staff POSTs to
    A; every update crosses processes through Redis."""
    fleets = new_fleets(plan)
    await sync_to_async(_forget_presence)(clinic.id)
    a = Daphne(name="scale-a", port=env.ports[0], env=env.django_env(kind)).start()
    b = Daphne(name="scale-b", port=env.ports[1], env=env.django_env(kind)).start()
    boards = Boards()
    try:
        await boards.open(b.port, clinic.slug, [s.session_key for s in clinic.staff])
        await full_path(actions, boards, port=a.port, plan=plan, seconds=1)
        connected = await fleets.connect(specs(clinic, plan.patients, [a.port, b.port]))
        await settle(clinic, plan.patients)
        await fleets.stats()
        full = await full_path(actions, boards, port=a.port, plan=plan, seconds=plan.full_path_seconds)
        beats = await fleets.stats()
        return {
            "layer": kind,
            "patients": connected["open"],
            "full_path": timed_figures(full),
            "heartbeats": heartbeat_figures(beats),
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
    finally:
        await fleets.stop()
        await boards.close()
        a.stop()
        b.stop()


async def capacity_run(
    kind: str, *, env: StackEnv, clinic: BenchClinic, actions: StaffActions, plan: Plan
) -> dict[str, Any]:
    """Scenario 4: raise N on one daphne until p99 > 100 ms, a heartbeat is missed or an error
    appears. Each step holds its sockets for a heartbeat period while status changes run."""
    fleets = new_fleets(plan)
    await sync_to_async(_forget_presence)(clinic.id)
    server = Daphne(name=f"capacity-{kind}", port=env.ports[0], env=env.django_env(kind)).start()
    boards = Boards()
    steps = []
    try:
        await boards.open(server.port, clinic.slug, [s.session_key for s in clinic.staff])
        await full_path(actions, boards, port=server.port, plan=plan, seconds=1)
        base_rss = rss_kib(server.pid)
        have = 0
        for n in plan.capacity_steps:
            connected = await fleets.connect(specs(clinic, n - have, [server.port], start=have))
            have = n
            settled = await settle(clinic, n)
            await fleets.stats()
            cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
            fleet_cpu0 = sum(cpu_seconds(pid) for pid in fleets.pids())
            full = await full_path(actions, boards, port=server.port, plan=plan, seconds=plan.hold_seconds)
            wall = time.monotonic() - t0
            cpu = (cpu_seconds(server.pid) - cpu0) / wall
            fleet_cpu = (sum(cpu_seconds(pid) for pid in fleets.pids()) - fleet_cpu0) / wall
            beats = heartbeat_figures(await fleets.stats())
            rss = rss_kib(server.pid)
            figures = timed_figures(full)
            step = {
                "n": n,
                "open": beats["open"],
                "connect_seconds": round(connected["seconds"], 2),
                "settle_seconds": round(settled, 2),
                "full_path": figures,
                "heartbeats": beats,
                "server_cpu_percent": round(cpu * 100, 1),
                "load_generator_cpu_percent": round(fleet_cpu * 100, 1),
                "server_rss_mib": round(rss / 1024, 1),
                "kib_per_socket": round((rss - base_rss) / n, 1),
                "load_average_1min": round(os.getloadavg()[0], 2),
            }
            # Held: every socket open, no heartbeat missed, no error. Ok: held, and every update
            # reached every dashboard with p99 <= 100 ms.
            step["held"] = (
                beats["open"] == n
                and beats["missed"] == 0
                and beats["errors"] == 0
                and figures["errors"] == 0
            )
            step["ok"] = step["held"] and (figures["p99_ms"] or 1e9) <= 100 and figures["delivery_ratio"] == 1
            steps.append(step)
            print(
                f"    N={n:,}: {_brief(figures)}, missed heartbeats {beats['missed']}, ok={step['ok']}",
                flush=True,
            )
            if not step["held"]:
                break  # a missed heartbeat or an error: this is past capacity, whatever the latency
        passed = [s for s in steps if s["ok"]]
        held = [s for s in steps if s["held"]]
        return {
            "layer": kind,
            "steps": steps,
            "largest_n": passed[-1]["n"] if passed else 0,
            "largest_n_held": held[-1]["n"] if held else 0,
            "kib_per_socket": held[-1]["kib_per_socket"] if held else None,
            "base_rss_mib": round(base_rss / 1024, 1),
        }
    finally:
        await fleets.stop()
        await boards.close()
        server.stop()


async def render_run(
    kind: str,
    *,
    env: StackEnv,
    render_clinics: dict[int, tuple[str, str]],
    queries: dict[int, int],
    plan: Plan,
) -> dict[str, Any]:
    """Scenario 6: the dashboard page over HTTP, timed, for clinics of 10, 100 and 1,000 visits
    (the query counts were taken in-process with the same view)."""
    server = Daphne(name="render", port=env.ports[0], env=env.django_env(kind)).start()
    out: dict[str, Any] = {}
    try:
        for visits, (slug, session_key) in render_clinics.items():
            times = []
            await http(server.port, "GET", f"/dashboard/{slug}/", session_key=session_key, accept="text/html")
            for _ in range(plan.renders):
                t0 = time.monotonic()
                code, _ = await http(
                    server.port, "GET", f"/dashboard/{slug}/", session_key=session_key, accept="text/html"
                )
                if code != 200:
                    raise RuntimeError(f"dashboard of {visits} visits: HTTP {code}")
                times.append(time.monotonic() - t0)
            out[str(visits)] = {"queries": queries[visits], **latency_ms(times)}
    finally:
        server.stop()
    return out


# The Procfile's worker (two pool processes), with beat embedded.
SOAK_WORKER = [sys.executable, "-m", "celery", "-A", "waitingroom", "worker", "--concurrency=2", "--beat"]


def _soak_worker(env: StackEnv, name: str) -> subprocess.Popen:
    """The Procfile's worker with beat embedded (its sweeps are the worker's steady load)."""
    (LOG_DIR / "soak").mkdir(parents=True, exist_ok=True)
    log = (LOG_DIR / f"bench-{name}.log").open("w")
    return subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [*SOAK_WORKER, f"--schedule={LOG_DIR / 'soak' / 'celerybeat-schedule'}"],
        cwd=ROOT,
        env={
            **os.environ,
            **env.django_env(),
            "SMS_BACKEND": "waitingroom.outbox.sms_backends.ConsoleSmsBackend",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _process_tree_rss_kib(pid: int) -> int:
    """RSS of a process and its children (a prefork worker's pool processes, embedded beat)."""
    total = rss_kib(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        total += sum(_process_tree_rss_kib(int(c)) for c in children.read_text().split())
    return total


def rss_growth(samples: list[tuple[float, int]], since: float) -> float | None:
    """Percent growth from the first sample at or after `since` (seconds) to the last one."""
    later = [rss for t, rss in samples if t >= since]
    if len(later) < 2 or not later[0]:
        return None
    return round((later[-1] - later[0]) / later[0] * 100, 2)


async def soak_run(
    kind: str, *, env: StackEnv, clinic: BenchClinic, actions: StaffActions, plan: Plan
) -> dict[str, Any]:
    """The soak: `soak_patients` patient sockets on one daphne and a Celery worker (beat embedded)
    for `soak_seconds`, with status changes (`soak_rate` a second, the dashboard's POSTs) and staff chat
    to waiting patients (`soak_chat_rate` a second), while dashboards listen. Reports daphne's and
    the worker's RSS growth from the end of the warm-up to the end (goal under 5 %) and every
    error: failed requests, sockets closed by the server, missed heartbeats, a process that died."""
    fleets = new_fleets(plan)
    await sync_to_async(_forget_presence)(clinic.id)
    server = Daphne(name=f"soak-{kind}", port=env.ports[0], env=env.django_env(kind)).start()
    worker = _soak_worker(env, f"soak-worker-{kind}")
    boards = Boards()
    errors: list[str] = []
    counts = {"status_changes": 0, "chats": 0}
    samples: dict[str, list[tuple[float, int]]] = {"daphne": [], "worker": []}
    try:
        await boards.open(server.port, clinic.slug, [s.session_key for s in clinic.staff])
        connected = await fleets.connect(specs(clinic, plan.soak_patients, [server.port]))
        await settle(clinic, plan.soak_patients)
        await fleets.stats()
        print(
            f"    {connected['open']:,} sockets open; soaking for {plan.soak_seconds:.0f} s ...", flush=True
        )
        fire = actions.fire(server.port)
        chat_targets = itertools.cycle(p.visit_id for p in clinic.patients[: plan.soak_patients])
        login = clinic.staff[0]
        beats = {"missed": 0, "errors": 0, "closed_by_server": 0}
        pending: set[asyncio.Task] = set()

        async def chat(n: int) -> None:
            path = f"/dashboard/{clinic.slug}/visits/{next(chat_targets)}/chat/"
            code, body = await http(
                server.port,
                "POST",
                path,
                session_key=login.session_key,
                form=f"body=Soak+message+{n}".encode(),
            )
            if code != 200:
                errors.append(f"chat: HTTP {code} {body[:80]!r}")
            counts["chats"] += 1

        async def status_change(n: int) -> None:
            _key, send = fire(n)
            try:
                await send()
            except Exception as error:  # every failure is a figure of the soak
                errors.append(f"status change: {error}")
            counts["status_changes"] += 1

        start = time.monotonic()
        next_sample = 0.0
        n = 0
        while (elapsed := time.monotonic() - start) < plan.soak_seconds:
            if worker.poll() is not None or server.proc is None or server.proc.poll() is not None:
                errors.append("a process died")
                break
            for _ in range(round(plan.soak_rate)):
                pending.add(asyncio.create_task(status_change(n)))
            for _ in range(round(plan.soak_chat_rate)):
                pending.add(asyncio.create_task(chat(n)))
            n += 1
            if elapsed >= next_sample:
                samples["daphne"].append((round(elapsed, 1), rss_kib(server.pid)))
                samples["worker"].append((round(elapsed, 1), _process_tree_rss_kib(worker.pid)))
                next_sample += max(1.0, plan.soak_seconds / 120)
                stats = await fleets.stats()
                for field_name in beats:
                    beats[field_name] += stats[field_name] if field_name != "errors" else len(stats["errors"])
            pending = {t for t in pending if not t.done()}
            await asyncio.sleep(max(0.0, start + n - time.monotonic()))
        await asyncio.gather(*pending)
        samples["daphne"].append((round(time.monotonic() - start, 1), rss_kib(server.pid)))
        samples["worker"].append((round(time.monotonic() - start, 1), _process_tree_rss_kib(worker.pid)))
        final = await fleets.stats()
        beats["missed"] += final["missed"]
        beats["errors"] += len(final["errors"])
        beats["closed_by_server"] += final["closed_by_server"]
        growth = {name: rss_growth(series, plan.soak_warmup_seconds) for name, series in samples.items()}
        result = {
            "layer": kind,
            "patients": connected["open"],
            "open_at_end": final["open"],
            "seconds": plan.soak_seconds,
            "warmup_seconds": plan.soak_warmup_seconds,
            **counts,
            "rss_growth_percent": growth,
            "rss_mib": {
                name: {
                    "at_warmup": round(next(r for t, r in series if t >= plan.soak_warmup_seconds) / 1024, 1),
                    "end": round(series[-1][1] / 1024, 1),
                }
                for name, series in samples.items()
            },
            "rss_samples_kib": samples,
            "request_errors": len(errors),
            "error_samples": errors[:10],
            "heartbeats": beats,
            "dashboard_closes": boards.unexpected_closes,
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
        print(
            f"    soak: RSS growth daphne {growth['daphne']} %, worker {growth['worker']} %; "
            f"{counts['status_changes']:,} status changes, {counts['chats']:,} chats, "
            f"{len(errors)} request errors, {beats['missed']} missed heartbeats, "
            f"{beats['closed_by_server']} sockets closed by the server",
            flush=True,
        )
        return result
    finally:
        await fleets.stop()
        await boards.close()
        server.stop()
        stop_process(worker, timeout=30)
