"""How much of everything: the full run and --quick differ only here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Plan:
    """How much of everything: the full run and --quick differ only here."""

    dashboards: int
    patients: int  # N for scenarios 3 and 5
    repetitions: int
    probes: int  # messages per floor / channel-layer measurement
    probe_rate: float
    rate: float  # status changes per second (open loop)
    full_path_seconds: float
    capacity_steps: list[int]
    hold_seconds: float
    heartbeat: float
    renders: int
    fleets: int
    # The soak (--only soak): `soak_patients` sockets for `soak_seconds`, with `soak_rate` status
    # changes and `soak_chat_rate` chat messages a second; RSS growth is measured from
    # `soak_warmup_seconds` to the end.
    soak_seconds: float = 1800
    soak_warmup_seconds: float = 300
    soak_patients: int = 3000
    soak_rate: float = 5
    soak_chat_rate: float = 2
    # The voice webhooks (--only voice): this many calls, each gets one answer-TwiML request and
    # one status callback, sent open loop at `voice_rate` a second.
    voice_requests: int = 1000
    voice_rate: float = 50
    profile: bool = False  # py-spy record each daphne during the storm (--profile)

    @property
    def actions_per_run(self) -> int:
        return round(self.rate * max(self.full_path_seconds, self.hold_seconds))


FULL = Plan(
    dashboards=10,
    patients=5000,
    repetitions=3,
    probes=200,
    probe_rate=50,
    rate=20,
    full_path_seconds=15,
    capacity_steps=[1000, 2000, 4000, 8000, 10000],
    hold_seconds=20,
    heartbeat=20,
    renders=30,
    fleets=2,
)
QUICK = Plan(
    dashboards=5,
    patients=500,
    repetitions=2,
    probes=30,
    probe_rate=50,
    rate=20,
    full_path_seconds=2.5,
    capacity_steps=[500],
    hold_seconds=4,
    heartbeat=5,
    renders=10,
    fleets=1,
    soak_seconds=120,
    soak_warmup_seconds=30,
    soak_patients=300,
    voice_requests=100,
)
