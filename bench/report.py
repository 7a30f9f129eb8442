"""Ratios, targets and the printed table (Markdown, so it can go into docs/performance.md as is)."""

from __future__ import annotations

import statistics
from typing import Any

from bench.stats import ratio_summary


def _p50(rep: dict, part: str) -> float | None:
    return rep[part]["p50_ms"]


def _per_rep(reps: list[dict], top: str, bottom: str) -> list[float]:
    return [t / b for r in reps if (t := _p50(r, top)) and (b := _p50(r, bottom))]


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    """The ratio rows; a partial run (--only) has those its scenarios allow."""
    if "layers" not in results:
        return {}
    layers = results["layers"]
    chosen = layers[results["chosen_layer"]]["repetitions"]
    pubsub, core = layers["pubsub"]["repetitions"], layers["core"]["repetitions"]
    queries = results.get("render")
    out = {
        "full_path / channel_layer": ratio_summary(_per_rep(chosen, "full_path", "channel_layer")),
        "channel_layer / raw_redis": ratio_summary(_per_rep(chosen, "channel_layer", "floor")),
        "pubsub / default layer (group_send p50)": ratio_summary(
            [
                p["channel_layer"]["p50_ms"] / c["channel_layer"]["p50_ms"]
                for p, c in zip(pubsub, core, strict=False)
                if p["channel_layer"]["p50_ms"] and c["channel_layer"]["p50_ms"]
            ]
        ),
        "pubsub / default layer (full path p50)": ratio_summary(
            [
                p["full_path"]["p50_ms"] / c["full_path"]["p50_ms"]
                for p, c in zip(pubsub, core, strict=False)
                if p["full_path"]["p50_ms"] and c["full_path"]["p50_ms"]
            ]
        ),
    }
    if queries:
        out["queries at 1,000 / at 10"] = ratio_summary(
            [queries["1000"]["queries"] / queries["10"]["queries"]]
        )
    return out


def _median(values: list[float | None]) -> float | None:
    clean = [v for v in values if v is not None]
    return round(statistics.median(clean), 2) if clean else None


def _worst(values: list[float | None]) -> float | None:
    clean = [v for v in values if v is not None]
    return max(clean) if clean else None


def _storm_row(storm: dict[str, Any], label: str) -> tuple:
    return (
        f"Reconnect storm, {storm['sockets']:,} sockets{label}",
        "all back <= 10 s, no errors",
        f"{storm['seconds']:.1f} s, {storm['error_count']} errors, {storm['back']:,} back",
        storm["seconds"] <= 10 and storm["error_count"] == 0 and storm["back"] == storm["sockets"],
    )


def targets(results: dict[str, Any], plan) -> list[dict[str, Any]]:
    """The target rows; a partial run (--only) has those its scenarios measured."""
    rows = []
    capacity = results.get("capacity")
    if capacity:
        rows += [
            (
                "Patient sockets on one daphne process (p99 <= 100 ms, no missed heartbeat, no error)",
                ">= 5,000 (aim 10,000)",
                f"{capacity['largest_n']:,} (held without a missed heartbeat or error: {capacity['largest_n_held']:,})",
                capacity["largest_n"] >= 5000,
            ),
            (
                "Memory per idle patient socket",
                "<= 64 KiB",
                f"{capacity['kib_per_socket']} KiB",
                capacity["kib_per_socket"] is not None and capacity["kib_per_socket"] <= 64,
            ),
        ]
    if "layers" in results:
        chosen = results["layers"][results["chosen_layer"]]
        reps = chosen["repetitions"]
        p50 = _median([r["full_path"]["p50_ms"] for r in reps])
        p99 = _worst([r["full_path"]["p99_ms"] for r in reps])
        delivered = min((r["full_path"]["delivery_ratio"] or 0) for r in reps)
        ratio = results["ratios"]["full_path / channel_layer"]["median"]
        n = chosen["patients"]
        rows += [
            (
                f"Status change to every dashboard, {n:,} sockets, {plan.rate:g}/s: p50",
                "<= 25 ms",
                f"{p50} ms",
                p50 is not None and p50 <= 25,
            ),
            ("... p99", "<= 100 ms", f"{p99} ms", p99 is not None and p99 <= 100),
            ("... every message delivered", "ratio 1", f"{delivered}", delivered == 1),
            ("Full path p50 / channel-layer p50", "<= 4", f"{ratio}", ratio is not None and ratio <= 4),
            _storm_row(chosen["reconnect_storm"], ""),
        ]
    elif "storm" in results:
        rows.append(_storm_row(results["storm"]["reconnect_storm"], ""))
    if "storm2" in results:
        rows.append(_storm_row(results["storm2"]["reconnect_storm"], ", two daphne processes"))
    render = results.get("render")
    if render:
        rows += [
            (
                "Dashboard queries at 1,000 visits vs 10",
                "equal, <= 10",
                f"{render['1000']['queries']} vs {render['10']['queries']}",
                render["1000"]["queries"] == render["10"]["queries"] <= 10,
            ),
            (
                "Dashboard render p50 at 1,000 visits",
                "<= 100 ms",
                f"{render['1000']['p50_ms']} ms",
                (render["1000"]["p50_ms"] or 1e9) <= 100,
            ),
        ]
    voice = results.get("voice")
    if voice:
        for name, label in (("answer_twiml", "answer TwiML"), ("status_callback", "status callback")):
            fig = voice[name]
            rows.append(
                (
                    f"Voice webhook, {label}, {voice['rate']:g}/s: p99 (p50 {fig['p50_ms']} ms)",
                    "<= 50 ms, no errors",
                    f"{fig['p99_ms']} ms, {fig['errors']} errors",
                    fig["errors"] == 0 and (fig["p99_ms"] or 1e9) <= 50,
                )
            )
    reports = results.get("reports")
    if reports:
        sizes = reports["sizes"]
        largest = sizes[max(sizes, key=int)]
        rows += [
            (
                f"{reports.get('period', 'month').title()} report render at {int(max(sizes, key=int)):,} visits: p95 (p50 {largest['p50_ms']} ms)",
                "<= 300 ms",
                f"{largest['p95_ms']} ms",
                (largest["p95_ms"] or 1e9) <= 300,
            ),
            (
                f"{reports.get('period', 'month').title()} report queries at "
                + " and ".join(f"{int(n):,}" for n in sizes)
                + " visits",
                "equal",
                ", ".join(str(f["queries"]) for f in sizes.values()),
                len({f["queries"] for f in sizes.values()}) == 1,
            ),
        ]
    soak = results.get("soak")
    if soak:
        growth = soak["rss_growth_percent"]
        worst = max((g for g in growth.values() if g is not None), default=None)
        errors = (
            soak["request_errors"] + soak["heartbeats"]["missed"] + soak["heartbeats"]["closed_by_server"]
        )
        rows += [
            (
                f"Soak: RSS growth from {soak['warmup_seconds']:g} s to the end (daphne, worker)",
                "< 5 %",
                f"{growth['daphne']} %, {growth['worker']} %",
                worst is not None and worst < 5,
            ),
            (
                "Soak: errors (requests, missed heartbeats, sockets closed by the server)",
                "0",
                f"{errors}",
                errors == 0 and soak["open_at_end"] == soak["patients"],
            ),
        ]
    # Every target but the dashboard render's and the soak's is set at 5,000 sockets: --quick
    # cannot judge them.
    full_scale = plan.patients >= 5000
    return [
        {
            "target": t,
            "goal": g,
            "measured": m,
            "met": met if full_scale or t.startswith(("Dashboard", "Soak", "Month report")) else None,
        }
        for t, g, m, met in rows
    ]


def table(results: dict[str, Any]) -> str:
    lines = [
        "",
        f"## Benchmark ({results['mode']}, {results['seconds']} s, scenarios "
        f"{','.join(results.get('scenarios', []))}) — chosen layer: {results['chosen_layer']}",
    ]
    layers = results.get("layers", {})
    two = results.get("two_process")
    if layers or two:
        lines += [
            "",
            "| scenario | layer | N | p50 ms | p99 ms | delivery | errors | server CPU % | load avg |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
    for kind, run in layers.items():
        for i, rep in enumerate(run["repetitions"], 1):
            for part, label in (
                ("floor", "1 raw Redis PUBLISH"),
                ("channel_layer", "2 group_send"),
                ("full_path", "3 full path"),
            ):
                fig = rep[part]
                cpu = rep["server_cpu_percent"] if part == "full_path" else ""
                load = rep.get("load_average_1min", "") if part == "full_path" else ""
                lines.append(
                    f"| {label} (rep {i}) | {kind if part != 'floor' else '-'} | {run['patients']:,} | "
                    f"{fig['p50_ms']} | {fig['p99_ms']} | {fig.get('delivery_ratio', '')} | "
                    f"{fig.get('errors', '')} | {cpu} | {load} |"
                )
    if two:
        lines.append(
            f"| 3 full path, two daphne processes | {two['layer']} | {two['patients']:,} | "
            f"{two['full_path']['p50_ms']} | {two['full_path']['p99_ms']} | {two['full_path']['delivery_ratio']} | "
            f"{two['full_path']['errors'] + two['heartbeats']['errors']} | | {two.get('load_average_1min', '')} |"
        )
    if "capacity" in results:
        lines += [
            "",
            "| 4 capacity: N | open | p50 ms | p99 ms | delivery | missed heartbeats | errors | server CPU % | load-gen CPU % | RSS MiB | KiB/socket | load avg | held | ok |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for s in results["capacity"]["steps"]:
            f, h = s["full_path"], s["heartbeats"]
            lines.append(
                f"| {s['n']:,} | {s['open']:,} | {f['p50_ms']} | {f['p99_ms']} | {f['delivery_ratio']} | "
                f"{h['missed']} | {f['errors'] + h['errors']} | {s['server_cpu_percent']} | "
                f"{s['load_generator_cpu_percent']} | {s['server_rss_mib']} | {s['kib_per_socket']} | "
                f"{s.get('load_average_1min', '')} | {'yes' if s['held'] else 'NO'} | {'yes' if s['ok'] else 'NO'} |"
            )
    storms = [(kind, "1", run["reconnect_storm"], "") for kind, run in layers.items()]
    for key in ("storm", "storm2"):
        if key in results:
            run = results[key]
            storms.append(
                (run["layer"], str(run["servers"]), run["reconnect_storm"], run["load_average_1min"])
            )
    if storms:
        lines += [
            "",
            "| 5 reconnect storm | daphne processes | sockets | all back after s | back | failed attempts | load avg |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for kind, servers, st, load in storms:
            lines.append(
                f"| {kind} | {servers} | {st['sockets']:,} | {st['seconds']:.2f} | {st['back']:,} | "
                f"{st['error_count']} | {load} |"
            )
    if "render" in results:
        lines += ["", "| 6 dashboard render: visits | queries | p50 ms | p99 ms |", "|---:|---:|---:|---:|"]
        for visits, fig in results["render"].items():
            lines.append(f"| {int(visits):,} | {fig['queries']} | {fig['p50_ms']} | {fig['p99_ms']} |")
    if "voice" in results:
        lines += [
            "",
            "| voice webhook | requests | per second | p50 ms | p99 ms | max ms | errors |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name in ("answer_twiml", "status_callback"):
            fig = results["voice"][name]
            lines.append(
                f"| {name} | {fig['n']:,} | {results['voice']['rate']:g} | {fig['p50_ms']} | {fig['p99_ms']} | "
                f"{fig['max_ms']} | {fig['errors']} |"
            )
    if "reports" in results:
        lines += [
            "",
            f"| reports: {results['reports'].get('period', 'month')} {results['reports']['month']}, visits in the year | queries | renders | p50 ms | p95 ms | max ms | SQL p50 ms | time-in-call SQL p50 ms | built in s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for fig in results["reports"]["sizes"].values():
            lines.append(
                f"| {fig['visits']:,} | {fig['queries']} | {fig['renders']} | {fig['p50_ms']} | {fig['p95_ms']} | "
                f"{fig['max_ms']} | {fig.get('sql_p50_ms')} | {fig.get('in_call_sql_p50_ms')} | {fig['build_seconds']} |"
            )
    if "soak" in results:
        soak = results["soak"]
        growth, rss = soak["rss_growth_percent"], soak["rss_mib"]
        lines += [
            "",
            "| soak | sockets (end) | seconds | status changes | chats | RSS MiB daphne | RSS MiB worker | growth daphne % | growth worker % | request errors | missed heartbeats | closed by server |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {soak['layer']} | {soak['patients']:,} ({soak['open_at_end']:,}) | {soak['seconds']:.0f} | "
            f"{soak['status_changes']:,} | {soak['chats']:,} | {rss['daphne']['at_warmup']} -> {rss['daphne']['end']} | "
            f"{rss['worker']['at_warmup']} -> {rss['worker']['end']} | {growth['daphne']} | {growth['worker']} | "
            f"{soak['request_errors']} | {soak['heartbeats']['missed']} | {soak['heartbeats']['closed_by_server']} |",
        ]
    if results["ratios"]:
        lines += [
            "",
            "| ratio (median of per-repetition ratios) | median | min | max | reps |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, r in results["ratios"].items():
            lines.append(f"| {name} | {r['median']} | {r['min']} | {r['max']} | {r['repetitions']} |")
    lines += ["", "| target | goal | measured | met |", "|---|---|---|---|"]
    for t in results["targets"]:
        met = {True: "met", False: "MISSED", None: "n/a (quick)"}[t["met"]]
        lines.append(f"| {t['target']} | {t['goal']} | {t['measured']} | {met} |")
    return "\n".join(lines)
