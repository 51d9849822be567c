"""The table of a `make bench` load run (benches/run.sh), and its record in
docs/performance.md.

    python3 benches/harness/report.py RESULTS WORK_DIR DOC RECORD

RESULTS holds `key=value` lines written by run.sh; WORK_DIR the raw files of the run
(Redis INFO commandstats after the intake and the drain phases, the worker's attempts by
outcome). Prints the Markdown entry; with RECORD=1 also puts it at the top of the
"`make bench` runs" section of DOC (newest first), creating the section if needed.
"""

import pathlib
import re
import sys

SECTION = "## `make bench` runs"
SECTION_INTRO = """\
`make bench` (`benches/run.sh`) measures gaprelay next to an actix-web hello world in
the same run, on the same machine, and adds its table here, newest first. The hello
world (`benches/harness/baseline.rs`) parses a 1 KB JSON POST as
`web::Json<serde_json::Value>` and answers 200 with it; the forwarding hello world (the
same program given a URL) parses it the same way and hands it on over HTTP to the hello
world, answering 202 once that answered: two HTTP exchanges per request and nothing
else, the ceiling of any relay that delivers each message over HTTP on this machine.
The intake is the 3 labs and 2 symptoms of `benches/run.sh`. gaprelay runs as a release
build with its own `redis-server`, one practice and one JWE endpoint at a Rust sink
(`benches/harness/sink.rs`) that verifies, decrypts and answers 204 at once, and takes
create → delivery latency from each payload's `submitted_at`. Maxima are closed loop
(`wrk`); the latency at half the maximum intake rate is open loop
(`benches/harness/load.rs`, latency counted from when each request was due). The
public routes' rate limits are off (one address sends everything) and `RUST_LOG=warn`.
Goals: issue #14. `BENCH_SECONDS` sets each phase's length (default 15; a run shorter
than 15 s is not recorded unless `BENCH_RECORD=1`); GAPRELAY_* settings in the
environment reach every gaprelay process, e.g. `GAPRELAY_ENDPOINT_CONCURRENCY=32 make
bench`. Everything shares the machine's cores, so a build running alongside skews every
figure: each run records the share of the CPU other processes took meanwhile, and one
where they took more than 5% is not recorded unless `BENCH_RECORD=1`.

<!-- bench-runs: newest first; `make bench` inserts each run below this line -->
"""
# Other processes' share of the machine's CPU over the run above which its figures are
# called skewed and it is not recorded by default.
MAX_OTHERS = 0.05
MARKER = "<!-- bench-runs: newest first; `make bench` inserts each run below this line -->"


def read_results(path):
    results = {}
    for line in pathlib.Path(path).read_text().splitlines():
        key, _, value = line.partition("=")
        results[key] = value
    return results


def num(results, key):
    return float(results[key])


def commandstats(path):
    """Calls per command from INFO commandstats, without the harness's own INFO/CONFIG."""
    calls = {}
    for line in pathlib.Path(path).read_text().splitlines():
        m = re.match(r"cmdstat_([^:]+):calls=(\d+)", line)
        if m and not re.match(r"(info|config)", m.group(1)):
            calls[m.group(1)] = int(m.group(2))
    return calls


def breakdown(calls, per):
    if per <= 0:
        return "no messages"
    parts = sorted(calls.items(), key=lambda kv: -kv[1])
    return ", ".join(f"`{name}` {n / per:.2f}" for name, n in parts)


def n0(x):
    return f"{x:,.0f}"


def ms(x):
    return f"{x / 1000:.2f} s" if x >= 1000 else f"{x:.1f} ms" if x < 100 else f"{x:.0f} ms"


def yes(ok):
    return "yes" if ok else "**no**"


def outcomes(r, key):
    """`outcome count ...` as recorded under `key` -> "delivered 1,234, deferred 5"."""
    words = r.get(key, "").split()
    pairs = [f"{k} {n0(float(v))}" for k, v in zip(words[::2], words[1::2]) if float(v) != 0]
    return ", ".join(pairs) or "none"


def main():
    results_path, work, doc, record = sys.argv[1:5]
    # "auto": a full-length run that nothing else on the machine disturbed.
    r = read_results(results_path)
    work = pathlib.Path(work)

    base_rps = num(r, "baseline_ok_rps")
    fwd_rps = num(r, "forward_ok_rps")
    deliv_rps = num(r, "delivering_ok_rps")
    api_rps = num(r, "api_ok_rps")
    deliv_p99 = num(r, "delivering_p99_ms")
    api_ok = num(r, "api_ok")
    drained = num(r, "drain_delivered")
    intake_cmds = num(r, "api_redis_calls") / max(api_ok, 1)
    delivery_cmds = num(r, "drain_redis_calls") / max(drained, 1)
    memory = num(r, "api_memory_per_message")
    rss_idle = num(r, "rss_idle_kib") / 1024
    rss_load = num(r, "rss_load_kib") / 1024
    rss_after = num(r, "rss_after_kib") / 1024
    delivered_during = num(r, "delivering_delivered")
    accepted_during = num(r, "delivering_ok")
    growth = num(r, "delivering_queue_growth_per_s")
    open_ok = num(r, "open_ok")
    open_delivered = num(r, "open_delivered")
    open_p50, open_p99 = num(r, "open_p50_ms"), num(r, "open_p99_ms")
    all_delivered = open_delivered >= open_ok
    seconds = r["seconds"]
    others = num(r, "others_share")
    disturbed = others > MAX_OTHERS
    wrk = f"wrk -t{r['threads']} -c{r['connections']}, {seconds} s"

    rows = [
        (
            f"intake req/s, workers delivering ({wrk})",
            f"{n0(deliv_rps)}, p99 {ms(deliv_p99)}",
            f"hello world, {r['baseline_body_bytes']} B JSON POST: {n0(base_rps)} "
            f"(p99 {ms(num(r, 'baseline_p99_ms'))}); **{deliv_rps / base_rps:.2f}×**",
            "≥ 0.5×, p99 ≤ 5 ms",
            yes(deliv_rps >= 0.5 * base_rps and deliv_p99 <= 5),
        ),
        (
            "forwarding hello world: its POST handed on over HTTP to the hello world (two "
            "HTTP exchanges per request and nothing else, the most a relay that delivers "
            "over HTTP can take here)",
            f"intake with delivery: {deliv_rps / fwd_rps:.2f}× of it",
            f"{n0(fwd_rps)} (p99 {ms(num(r, 'forward_p99_ms'))}); "
            f"{fwd_rps / base_rps:.2f}× the hello world",
            "—",
            "",
        ),
        (
            "intake req/s, API only (`GAPRELAY_WORKER_CONCURRENCY=0`)",
            f"{n0(api_rps)}, p99 {ms(num(r, 'api_p99_ms'))}",
            f"{api_rps / base_rps:.2f}×",
            "—",
            "",
        ),
        (
            "CPU per intake (API only)",
            f"{n0(num(r, 'api_relay_cpu_us'))} µs in gaprelay + {n0(num(r, 'api_redis_cpu_us'))} µs in Redis",
            f"hello world: {n0(num(r, 'baseline_cpu_us'))} µs per request",
            "—",
            "",
        ),
        (
            "CPU per message with delivery running (the first row)",
            f"{n0(num(r, 'delivering_relay_cpu_us'))} µs in gaprelay + "
            f"{n0(num(r, 'delivering_redis_cpu_us'))} µs in Redis + "
            f"{n0(num(r, 'delivering_sink_cpu_us'))} µs in the sink",
            f"forwarding hello world: {n0(num(r, 'forward_cpu_us'))} µs in the two",
            "—",
            "",
        ),
        (
            "deliveries/s while intake runs",
            f"{n0(delivered_during / float(r['delivering_seconds']))}/s; "
            f"the queue grew by {n0(growth)}/s",
            f"intake: {n0(deliv_rps)}/s",
            "≥ intake/s, the queue does not grow",
            yes(delivered_during >= 0.99 * accepted_during and growth <= 0.01 * deliv_rps),
        ),
        (
            f"drain of a {n0(num(r, 'backlog'))} backlog, one `gaprelay worker`",
            f"{n0(num(r, 'drain_deliveries_per_s'))}/s ({n0(drained)} in "
            f"{float(r['drain_seconds']):.1f} s)",
            "",
            "—",
            "",
        ),
        (
            "Redis commands per intake",
            f"{intake_cmds:.1f}",
            "",
            "≤ 6",
            yes(intake_cmds <= 6),
        ),
        (
            "Redis commands per delivery (the drain)",
            f"{delivery_cmds:.1f}",
            "",
            "≤ 6",
            yes(delivery_cmds <= 6),
        ),
        (
            "Redis memory per queued message",
            f"{n0(memory)} B",
            f"intake body {r['intake_body_bytes']} B",
            "≤ 3 KiB",
            yes(memory <= 3072),
        ),
        (
            "RSS idle / after the intake run / after the open-loop run",
            f"{rss_idle:.1f} / {rss_load:.1f} / {rss_after:.1f} MiB",
            "",
            "≤ 64 MiB under load",
            yes(max(rss_load, rss_after) <= 64),
        ),
        (
            f"create → delivery p50 / p99, open loop at {n0(num(r, 'open_rate'))}/s "
            "(half the first row's rate)",
            (f"{ms(open_p50)} / {ms(open_p99)}" if all_delivered else
             f"{ms(open_p50)} / ≥ {ms(open_p99)} ({n0(open_ok - open_delivered)} of "
             f"{n0(open_ok)} not delivered in time)"),
            f"intake answered {n0(num(r, 'open_answered_per_s'))}/s, "
            f"p99 {ms(num(r, 'open_intake_p99_ms'))}",
            "p99 ≤ 20 ms",
            yes(all_delivered and open_p99 <= 20),
        ),
    ]

    lines = [
        f"### {r['date']}, commit {r['commit']}",
        "",
        f"{r['machine']}. {wrk} per phase; settings: {r['settings'].strip()}; "
        f"`RUST_LOG={r['rust_log']}`; load average (1 min) {r['loadavg']}; other "
        f"processes took {others:.0%} of the CPU during the run"
        + (" — **the figures are skewed**." if disturbed else "."),
        "",
        "| what | gaprelay | baseline / ratio | goal | met? |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines.append("")
    lines.append(
        "Redis commands per intake: "
        + breakdown(commandstats(work / "commandstats-intake.txt"), api_ok)
        + "."
    )
    lines.append("")
    lines.append(
        "Redis commands per delivery: "
        + breakdown(commandstats(work / "commandstats-delivery.txt"), drained)
        + "."
    )
    lines.append("")
    lines.append(
        "Delivery attempts during the drain, by outcome: " + outcomes(r, "drain_attempts") + "."
    )
    if "open_redis_calls" in r:
        open_calls = commandstats(work / "commandstats-open-loop.txt")
        lines.append("")
        lines.append(
            "The open loop: create → delivery p90 "
            f"{ms(num(r, 'open_p90_ms'))}, max {ms(num(r, 'open_max_ms'))}; delivery "
            "attempts by outcome: " + outcomes(r, "open_attempts") + "; Redis commands "
            "per message, its intake and its delivery together: "
            + f"{sum(open_calls.values()) / max(open_ok, 1):.1f} ("
            + breakdown(open_calls, max(open_ok, 1))
            + ")"
            + "."
        )
    problems = []
    for key, what in [
        ("baseline_status_errors", "baseline answers ≥ 400"),
        ("forward_status_errors", "forwarding baseline answers ≥ 400"),
        ("delivering_status_errors", "intake answers ≥ 400 (workers delivering)"),
        ("api_status_errors", "intake answers ≥ 400 (API only)"),
        ("open_not_ok", "open-loop requests not answered 2xx or skipped"),
        ("sink_rejected", "deliveries the sink refused"),
        ("drain_duplicates", "duplicate deliveries in the drain"),
    ]:
        if float(r.get(key, "0") or 0) > 0:
            problems.append(f"{n0(float(r[key]))} {what}")
    for key in ["baseline", "forward", "delivering", "api"]:
        if float(r.get(f"{key}_socket_errors", "0")) > 0:
            problems.append(f"{n0(float(r[key + '_socket_errors']))} wrk socket errors ({key})")
    if problems:
        lines.append("")
        lines.append("Errors: " + "; ".join(problems) + ".")
    entry = "\n".join(lines) + "\n"
    sys.stdout.write("\n" + entry)

    if record == "auto":
        record = "1" if int(seconds) >= 15 and not disturbed else "0"
    if record != "1":
        sys.stdout.write(
            f"\n(not recorded in {doc}: shorter than 15 s per phase, disturbed by other "
            "processes, or BENCH_RECORD=0; BENCH_RECORD=1 records it anyway)\n"
        )
        return
    path = pathlib.Path(doc)
    text = path.read_text()
    if MARKER not in text:
        # The section goes before the first existing one, right after the intro.
        first = text.index("\n## ") + 1
        text = text[:first] + SECTION + "\n\n" + SECTION_INTRO + "\n" + text[first:]
    text = text.replace(MARKER + "\n", MARKER + "\n\n" + entry, 1)
    path.write_text(text)
    sys.stdout.write(f"\nrecorded in {doc}\n")


if __name__ == "__main__":
    main()
