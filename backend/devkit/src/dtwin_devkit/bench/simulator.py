"""`python -m dtwin_devkit.bench.simulator`: how fast `dtwin simulate` publishes into Mosquitto. A throwaway
Mosquitto, the simulator as a real `dtwin simulate` process (QoS 1) at rising fleet sizes, and one
subscriber in its own process counting what arrives. Figures go to stdout and are appended to
docs/benchmarks.md as a "Simulator → Mosquitto" section."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dtwin_devkit.bench.report import machine_description, publish
from dtwin_devkit.servers import running

DTWIN = str(Path(sys.executable).parent / "dtwin")
DEFAULT_STEPS = "2000x1,5000x1,10000x1,10000x2,20000x2"
_SUMMARY = re.compile(r"published (\d+) messages \((\d+) readings\) in (\d+) ticks over ([\d.]+) s")


@dataclass
class Step:
    machines: int
    workers: int
    published_readings_s: float
    published_msgs_s: float
    received_readings_s: float
    received_msgs_s: float
    published: int
    received: int


def _subscriber(port: int, ready: Any, stop: Any, out: Any) -> None:
    """Counts telemetry messages and readings per second (QoS 0, its own process and network thread)."""
    import orjson
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    buckets: dict[int, list[int]] = {}

    def on_message(client: Any, userdata: Any, msg: Any) -> None:
        second = int(time.monotonic())
        b = buckets.setdefault(second, [0, 0])
        b[0] += 1
        b[1] += len(orjson.loads(msg.payload)["readings"])

    def on_subscribe(*args: Any) -> None:
        ready.set()

    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.connect("127.0.0.1", port)
    client.subscribe("plant/+/+/+/telemetry", qos=0)
    client.loop_start()
    stop.wait()
    client.loop_stop()
    out.put(sorted((s, m, r) for s, (m, r) in buckets.items()))


def run_step(port: int, machines: int, workers: int, warmup: float, seconds: float, seed: int) -> Step:
    ctx = mp.get_context("spawn")
    ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    sub = ctx.Process(target=_subscriber, args=(port, ready, stop, out), daemon=True)
    sub.start()
    if not ready.wait(15):
        raise RuntimeError("subscriber did not subscribe")
    cmd = [
        DTWIN, "simulate", "--mqtt-url", f"mqtt://127.0.0.1:{port}", "--machines", str(machines),
        "--workers", str(workers), "--duration", str(warmup + seconds), "--seed", str(seed),
        "--quiet", "--no-commands",
    ]  # fmt: skip
    env = {**os.environ, "DTWIN_LOG_LEVEL": "WARNING"}
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=warmup + seconds + 120, check=False
    )
    time.sleep(1.0)  # let the last deliveries reach the subscriber
    stop.set()
    buckets: list[tuple[int, int, int]] = out.get(timeout=30)
    sub.join(10)
    match = _SUMMARY.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        raise RuntimeError(
            f"dtwin simulate failed ({proc.returncode}): {proc.stdout[-500:]} {proc.stderr[-1500:]}"
        )
    msgs, readings, _, run_s = int(match[1]), int(match[2]), int(match[3]), float(match[4])
    # steady state: whole seconds after the warm-up, without the first and last (partial) buckets
    first = buckets[0][0] if buckets else 0
    steady = [b for b in buckets[1:-1] if b[0] - first >= warmup]
    return Step(
        machines=machines,
        workers=workers,
        published_readings_s=readings / run_s,
        published_msgs_s=msgs / run_s,
        received_readings_s=statistics.median(b[2] for b in steady) if steady else 0.0,
        received_msgs_s=statistics.median(b[1] for b in steady) if steady else 0.0,
        published=msgs,
        received=sum(b[1] for b in buckets),
    )


def _median_step(runs: list[Step]) -> Step:
    def med(attr: str) -> float:
        return float(statistics.median(getattr(r, attr) for r in runs))

    return Step(
        machines=runs[0].machines,
        workers=runs[0].workers,
        published_readings_s=med("published_readings_s"),
        published_msgs_s=med("published_msgs_s"),
        received_readings_s=med("received_readings_s"),
        received_msgs_s=med("received_msgs_s"),
        published=int(med("published")),
        received=int(med("received")),
    )


def report(results: list[Step], warmup: float, seconds: float, repeat: int) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Simulator → Mosquitto ({now})",
        "",
        f"Machine: {machine_description()}. `python -m dtwin_devkit.bench.simulator`: a throwaway "
        f"Mosquitto 2, `dtwin simulate --machines N --workers W` at 1 Hz per machine (QoS 1, paho-mqtt "
        f"network thread, ticks spread over the second) for {warmup:g} s warm-up + {seconds:g} s, and one "
        f"subscriber (QoS 0, own process) counting what arrives. Published = readings PUBACKed ÷ run time; "
        f"received = median of the subscriber's per-second counts in the steady window; each figure is the "
        f"median of {repeat} run(s). Everything shares the machine's cores.",
        "",
        "| machines | workers | offered readings/s | published readings/s | published msgs/s "
        "| received readings/s | received msgs/s | received / published |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        offered = r.published_readings_s / r.published_msgs_s * r.machines if r.published_msgs_s else 0.0
        lines.append(
            f"| {r.machines:,} | {r.workers} | {offered:,.0f} | {r.published_readings_s:,.0f} | "
            f"{r.published_msgs_s:,.0f} | {r.received_readings_s:,.0f} | {r.received_msgs_s:,.0f} | "
            f"{r.received / r.published if r.published else 0:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="Markdown file to append the results to")
    parser.add_argument("--steps", default=DEFAULT_STEPS, help="MACHINESxWORKERS,... (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=10.0, help="Measured seconds per step")
    parser.add_argument("--warmup", type=float, default=3.0, help="Warm-up seconds per step")
    parser.add_argument("--repeat", type=int, default=1, help="Runs per step (medians are reported)")
    args = parser.parse_args()
    steps = [tuple(int(x) for x in s.split("x")) for s in args.steps.split(",")]
    results: list[Step] = []
    with running("mosquitto") as servers:
        port = servers["mosquitto"].port
        for machines, workers in steps:
            runs = [
                run_step(port, machines, workers, args.warmup, args.seconds, seed=1000 + k)
                for k in range(args.repeat)
            ]
            step = _median_step(runs)
            results.append(step)
            print(
                f"{machines:>6} machines x{workers}: published {step.published_readings_s:,.0f} readings/s "
                f"({step.published_msgs_s:,.0f} msgs/s), received {step.received_readings_s:,.0f} readings/s",
                flush=True,
            )
    text = report(results, args.warmup, args.seconds, args.repeat)
    publish(text, args.out)


if __name__ == "__main__":
    main()
