"""`python -m dtwin_devkit.chaos`: run the fault-injection scenarios one after another, print the results
table, append it to docs/benchmarks.md and exit non-zero when a promise was broken or nothing was measured."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

from dtwin_devkit.bench.report import machine_description, publish
from dtwin_devkit.chaos.scenarios import SCENARIOS, Params, Result, run_scenario


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def run(params: Params, names: list[str], root: Path) -> list[Result]:
    results: list[Result] = []
    for k, name in enumerate(names, 1):
        sc = SCENARIOS[name]
        say(f"[{k}/{len(names)}] {name}: {sc.title}")
        try:
            res = await run_scenario(sc, params, root, seed=100 + k)
        except Exception as exc:  # a scenario that could not run is a failed scenario, the others still run
            res = Result(name, sc.title, sc.backends, failures=[f"did not run: {type(exc).__name__}: {exc}"])
            res.workdir = root / name
        results.append(res)
        verdict = "FAIL" if res.failures else "ok"
        say(f"    {verdict}: {summary(res)}")
        for line in res.failures + res.notes:
            say(f"      - {line}")
    return results


def summary(r: Result) -> str:
    tr = r.truth
    rec = f"{r.recovery_s:.1f} s" if r.recovery_s is not None else "never"
    rows = (
        f"{tr.published:,} published, {tr.stored:,} stored, lost {tr.lost}, dup {tr.duplicated}"
        if tr
        else "-"
    )
    return f"{rows}; recovered in {rec}; ws {', '.join(r.ws) or 'stayed connected'}"


def report_text(results: list[Result], params: Params) -> str:
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        or "unknown"
    )
    offered = params.machines * params.rate * 8.3
    lines = [
        f"### Chaos run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (commit {commit})",
        "",
        f"Machine: {machine_description()}. `make chaos` (`python -m dtwin_devkit.chaos`): each scenario "
        "on a "
        f"fresh stack (PostgreSQL 15, Redis 7, Mosquitto 2, Tansu, `dtwin serve`, `dtwin bridge`), "
        f"`dtwin simulate --machines {params.machines} --rate {params.rate:g}` (~{offered:,.0f} readings/s) "
        f"running {params.warmup_s:.0f} s before the fault and {params.after_s:.0f} s after it. "
        "Operator state "
        f"(attributes + a desired setting the device acknowledged) on {params.operator_twins} twins before "
        "the fault; a WebSocket client subscribed to every twin (`max_rate_hz` 5) throughout. "
        "Ground truth: the simulator's `--record` CSV (one row per reading handed to MQTT) loaded next to "
        "`readings` and compared key by key (machine, sensor, ts) and value.",
        "",
        "| scenario | fault s | published | stored | lost | dup | extra | operator state "
        "| twins = newest rows "
        "| WebSocket after the fault | ws updates during fault | recovery s | verdict |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: | ---: | --- |",
    ]
    for r in results:
        tr = r.truth
        nums = (
            [f"{tr.published:,}", f"{tr.stored:,}", str(tr.lost), str(tr.duplicated), str(tr.extra)]
            if tr
            else ["-"] * 5
        )
        op = "back" if not r.operator and tr else (f"{len(r.operator)} differences" if tr else "-")
        tw = f"{r.twins_checked - len(r.twins_mismatched)}/{r.twins_checked}" if tr else "-"
        ws = ", ".join(r.ws) or ("stayed connected" if r.ws_connects == 1 else f"{r.ws_connects} connects")
        rec = f"{r.recovery_s:.1f}" if r.recovery_s is not None else "never"
        verdict = (
            "**FAIL**" if r.failures else ("ok (loss expected)" if r.notes and r.loss_expected else "ok")
        )
        lines.append(
            f"| {r.name}: {r.title} | {r.fault_s:.1f} | {' | '.join(nums)} | {op} | {tw} | {ws} "
            f"| {r.ws_updates_during} | {rec} | {verdict} |"
        )
    lines += [
        "",
        "Recovery = from the fault's end (process restarted, server back) until every live backend's "
        "`/readyz` "
        "is 200, PostgreSQL holds readings stamped after that moment and the operator state reads back "
        "through the API. 'twins = newest rows': REST twins whose `ts` and `readings` equal the newest "
        "rows per "
        "sensor in PostgreSQL after the drain.",
        "",
    ]
    for r in results:
        for line in r.failures:
            lines.append(f"- **{r.name}** failed: {line}")
        for line in r.notes:
            lines.append(f"- {r.name}: {line}")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/benchmarks.md", help="'' to record nowhere")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"comma separated of {list(SCENARIOS)}"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="logs and recordings (default: a temp dir)"
    )
    defaults = Params()
    for f in fields(Params):
        parser.add_argument(
            f"--{f.name.replace('_', '-')}",
            type=type(getattr(defaults, f.name)),
            default=getattr(defaults, f.name),
        )
    args = parser.parse_args(argv)
    params = Params(**{f.name: getattr(args, f.name) for f in fields(Params)})
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or not names:
        sys.exit(f"unknown scenarios {unknown}; known: {list(SCENARIOS)}")
    root = args.workdir or Path(tempfile.mkdtemp(prefix="dtwin-chaos-", dir="/tmp"))
    say(f"chaos: {len(names)} scenario(s), logs and recordings in {root}")
    results = asyncio.run(run(params, names, root))
    publish(report_text(results, params), Path(args.out) if args.out else None)
    failed = [r.name for r in results if r.failures]
    if failed:
        sys.exit(f"chaos: promises broken or nothing measured in {failed}; logs in {root}")


if __name__ == "__main__":
    main()
