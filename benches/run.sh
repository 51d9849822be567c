#!/usr/bin/env bash
# The load half of `make bench` (issue #14): one run that measures gaprelay next to an
# actix-web hello world on the same machine and prints the table of docs/performance.md,
# with every ratio taken in this run. Everything is on loopback: release builds, a
# redis-server of our own on a free port, a Rust webhook sink that verifies, decrypts
# and timestamps each delivery (benches/harness/sink.rs), wrk for closed-loop maxima and
# an open-loop generator (benches/harness/load.rs) for latency at a fixed rate.
#
# Phases (each BENCH_SECONDS long, default 15; BENCH_SECONDS=3 for a quick try):
#   1. baseline: wrk on the hello world's 1 KB JSON POST          -> req/s, CPU per request
#      and on the forwarding hello world (each POST handed on over HTTP to the first:
#      the ceiling of any relay that delivers over HTTP)          -> req/s, CPU per request
#   2. serve with workers delivering to the sink: wrk on intake   -> intake req/s and p99,
#      deliveries/s meanwhile, queue growth, RSS idle and after load
#   3. serve with GAPRELAY_WORKER_CONCURRENCY=0 (API only): wrk   -> intake req/s without
#      delivery, Redis commands and CPU per intake, Redis memory per queued message
#   4. one `gaprelay worker` drains that backlog (at most BENCH_DRAIN_SECONDS, default
#      2 x BENCH_SECONDS)                                          -> deliveries/s, Redis
#      commands per delivery, attempts by outcome
#   5. an empty Redis, serve with workers, open-loop intake at half the rate of phase 2
#      (or BENCH_RATE)                                             -> create -> delivery
#      p50/p99 as the sink saw it
# Then it prints the table and adds it to docs/performance.md under "`make bench` runs"
# when each phase ran at least 15 s and other processes took at most 5% of the CPU over
# the run (BENCH_RECORD=1: record it anyway; BENCH_RECORD=0: never).
#
# BENCH_GAPRELAY_BIN=path measures that gaprelay binary instead of this checkout's build
# (the run is then not recorded).
#
# GAPRELAY_* settings in the environment reach every gaprelay process (e.g.
# GAPRELAY_ENDPOINT_CONCURRENCY=32 make bench), except those the phases set themselves.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BENCH_SECONDS="${BENCH_SECONDS:-15}"
BENCH_CONNECTIONS="${BENCH_CONNECTIONS:-32}"
BENCH_THREADS="${BENCH_THREADS:-2}"
BENCH_DRAIN_SECONDS="${BENCH_DRAIN_SECONDS:-$((2 * BENCH_SECONDS))}"
# Empty: record a run of at least 15 s per phase that nothing else disturbed (see
# report.py); 1: record it anyway; 0: never.
BENCH_RECORD="${BENCH_RECORD:-}"
DOC=docs/performance.md

section() { printf '\n==> %s  [%s]\n' "$*" "$(date -u +%T)"; }
fail() { echo "bench: $*" >&2; exit 1; }

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v redis-server >/dev/null || make redis
command -v curl >/dev/null || fail "curl is needed"
command -v python3 >/dev/null || fail "python3 is needed"
# The interpreter itself, not a version manager's shim: a shim is a shell script that
# starts several processes per call, and the harness calls Python often (a poll every
# 0.2 s while a phase drains), on the cores it measures.
PYTHON="$(python3 -c 'import sys; print(sys.executable)')"

# Anything else busy on the machine skews every figure: the load average at the start
# goes into the record.
loadavg_start="$(cut -d' ' -f1 /proc/loadavg)"
section "build (release): gaprelay and the bench examples"
cargo build --release --quiet
cargo build --release --quiet --example bench_baseline --example bench_sink --example bench_load
# BENCH_GAPRELAY_BIN: another gaprelay binary to measure (e.g. an earlier commit's
# release build, for a before/after in turns); such a run is never recorded.
BIN="${BENCH_GAPRELAY_BIN:-target/release/gaprelay}"
[ -z "${BENCH_GAPRELAY_BIN:-}" ] || BENCH_RECORD=0
EX=target/release/examples

work="$(mktemp -d)"
# Only this script's own background jobs still running are ended (`jobs -p`): a process
# already stopped and reaped is not in the list, so a recycled PID is never hit.
cleanup() {
  local running
  mapfile -t running < <(jobs -p)
  if [ "${#running[@]}" -gt 0 ]; then kill "${running[@]}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
results="$work/results"
: >"$results"
put() { printf '%s=%s\n' "$1" "$2" >>"$results"; }
get() { sed -n "s/^$1=//p" "$results" | tail -n1; }

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# `json FILE EXPR`: a value out of a JSON file, EXPR being Python on `d`.
json() { "$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(v if isinstance(v,(str,int,float)) else json.dumps(v))' "$1" "$2"; }
calc() { "$PYTHON" -c "print($1)"; }
wait_for() { # wait_for WHAT CMD...: up to 10 s
  local what="$1"; shift
  for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "$what did not come up"
}
stop() { # stop PID: SIGTERM (graceful: in-flight deliveries finish), then wait
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true
}
cpu_ticks() { cut -d')' -f2 "/proc/$1/stat" | awk '{print $12 + $13}'; }
# The machine's busy time (all cores), and this shell's own plus that of every child it
# has reaped (`times`, so it must run in this shell, not in a subshell), in clock ticks:
# the difference over the run is what other processes took.
machine_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
own_ticks_to() { times >"$1"; }
ticks_in() { awk -v hz="$(getconf CLK_TCK)" '{for (i = 1; i <= NF; i++) {split($i, t, "m"); s += t[1] * 60 + t[2]}} END {printf "%d\n", s * hz}' "$1"; }
TICK_US="$(calc "1_000_000 / $(getconf CLK_TCK)")"
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- Redis -------------------------------------------------------------------------
redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --logfile "$work/redis.log" --daemonize no &
redis_pid=$!
rcli() { redis-cli -p "$redis_port" "$@"; }
wait_for redis-server rcli ping
# Commands executed, summed over INFO commandstats: scripts' inner commands count too;
# the harness's own INFO and CONFIG calls do not.
redis_calls() { rcli info commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ && $1 !~ /^cmdstat_(info|config)/ {s += $3} END {print s + 0}'; }
# A /metrics page on stdin -> one `outcome count` line per delivery attempt outcome.
attempt_counts() { sed -n 's/^gaprelay_delivery_attempts_total{outcome="\([a-z_]*\)"} \([0-9]*\)$/\1 \2/p'; }
redis_memory() { rcli info memory | tr -d '\r' | sed -n 's/^used_memory://p'; }

# --- request bodies and wrk scripts --------------------------------------------------
# The intake: 3 labs and 2 symptoms, no form token (an API client's submission).
cat >"$work/intake.json" <<'JSON'
{"contact":{"name":"Load Test","email":"load@example.com"},"sex":"female","age":42,"labs":[{"marker":"3016-3","value":3.1,"unit":"mIU/L"},{"marker":"glucose_fasting","value":5.2,"unit":"mmol/L"},{"marker":"vitamin_d_25oh","value":70,"unit":"nmol/L"}],"symptoms":["fatigue","brain_fog"],"consent":true}
JSON
# The baseline's body: 1,024 bytes of JSON shaped like a form post.
"$PYTHON" - "$work/baseline.json" <<'PY'
import json, sys
doc = {"contact": {"name": "Load Test", "email": "load@example.com"}, "sex": "female", "age": 42,
       "labs": [{"marker": f"marker_{i}", "value": i + 0.5, "unit": "mmol/L"} for i in range(8)],
       "symptoms": ["fatigue", "brain_fog"], "consent": True, "note": ""}
doc["note"] = "x" * (1024 - len(json.dumps(doc, separators=(",", ":"))))
open(sys.argv[1], "w").write(json.dumps(doc, separators=(",", ":")))
PY
wrk_lua() { # wrk_lua BODY_FILE > LUA: POST the file, print a JSON summary at the end
  "$PYTHON" - "$1" <<'PY'
import json, sys
body = open(sys.argv[1]).read().strip()
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print("wrk.body = " + json.dumps(body))
print(r'''done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end''')
PY
}
wrk_lua "$work/intake.json" >"$work/intake.lua"
wrk_lua "$work/baseline.json" >"$work/baseline.lua"
put intake_body_bytes "$(wc -c <"$work/intake.json")"
put baseline_body_bytes "$(wc -c <"$work/baseline.json")"

# run_wrk NAME LUA URL: runs wrk, keeps its output, records NAME_* from its summary.
run_wrk() {
  local name="$1" lua="$2" url="$3"
  wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"${BENCH_SECONDS}s" --latency -s "$lua" "$url" | tee "$work/wrk-$name.txt" | grep -v '^WRK_JSON'
  sed -n 's/^WRK_JSON //p' "$work/wrk-$name.txt" >"$work/wrk-$name.json"
  [ -s "$work/wrk-$name.json" ] || fail "wrk printed no summary"
  local requests status_errors socket_errors seconds
  requests="$(json "$work/wrk-$name.json" 'd["requests"]')"
  status_errors="$(json "$work/wrk-$name.json" 'd["status_errors"]')"
  socket_errors="$(json "$work/wrk-$name.json" 'd["socket_errors"]')"
  seconds="$(json "$work/wrk-$name.json" 'd["duration_us"] / 1e6')"
  put "${name}_requests" "$requests"
  put "${name}_ok" "$((requests - status_errors))"
  put "${name}_status_errors" "$status_errors"
  put "${name}_socket_errors" "$socket_errors"
  put "${name}_seconds" "$seconds"
  put "${name}_rps" "$(calc "$requests / $seconds")"
  put "${name}_ok_rps" "$(calc "($requests - $status_errors) / $seconds")"
  put "${name}_p50_ms" "$(json "$work/wrk-$name.json" 'd["p50_us"] / 1000')"
  put "${name}_p99_ms" "$(json "$work/wrk-$name.json" 'd["p99_us"] / 1000')"
}

# --- 1. the hello world --------------------------------------------------------------
busy0="$(machine_busy)"; redis_start="$(cpu_ticks "$redis_pid")"; own_ticks_to "$work/times0"
start_s="$(date +%s.%N)"
section "1/5 baseline: actix-web hello world, 1 KB JSON POST (wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d${BENCH_SECONDS}s)"
base_port="$(free_port)"
"$EX/bench_baseline" "127.0.0.1:$base_port" >"$work/baseline.log" 2>&1 &
base_pid=$!
wait_for "the baseline" curl -fs -X POST -H 'Content-Type: application/json' --data-binary "@$work/baseline.json" "http://127.0.0.1:$base_port/"
t0="$(cpu_ticks "$base_pid")"
run_wrk baseline "$work/baseline.lua" "http://127.0.0.1:$base_port/"
t1="$(cpu_ticks "$base_pid")"
put baseline_cpu_us "$(calc "($t1 - $t0) * $TICK_US / max(1, $(get baseline_ok))")"
# The forwarding hello world: each POST handed on over HTTP to the hello world above,
# two HTTP exchanges and nothing else, the ceiling of a relay that delivers what it takes.
section "1/5 baseline: the hello world's POST forwarded over HTTP to that hello world (wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d${BENCH_SECONDS}s)"
forward_port="$(free_port)"
"$EX/bench_baseline" "127.0.0.1:$forward_port" "http://127.0.0.1:$base_port/" >"$work/forward.log" 2>&1 &
forward_pid=$!
wait_for "the forwarding baseline" curl -fs -X POST -H 'Content-Type: application/json' --data-binary "@$work/baseline.json" "http://127.0.0.1:$forward_port/"
t0="$(( $(cpu_ticks "$base_pid") + $(cpu_ticks "$forward_pid") ))"
run_wrk forward "$work/baseline.lua" "http://127.0.0.1:$forward_port/"
t1="$(( $(cpu_ticks "$base_pid") + $(cpu_ticks "$forward_pid") ))"
put forward_cpu_us "$(calc "($t1 - $t0) * $TICK_US / max(1, $(get forward_ok))")"
stop "$forward_pid"
stop "$base_pid"

# --- gaprelay -------------------------------------------------------------------------
admin="bench-admin-token-0123456789abcdef"
metrics_token="bench-metrics-token-0123456789abcdef"
master_key="$(head -c 32 /dev/urandom | base64)"
relay_env=(
  GAPRELAY_REDIS_URL="redis://127.0.0.1:$redis_port/" GAPRELAY_MASTER_KEY="$master_key"
  GAPRELAY_ADMIN_TOKEN="$admin" GAPRELAY_METRICS_TOKEN="$metrics_token"
  GAPRELAY_ALLOW_PRIVATE_TARGETS=true
  # One client address and one practice send everything: the public routes' limits
  # (30/min and 300/min by default) would answer nearly all of it 429.
  GAPRELAY_RATE_LIMIT_PER_ADDRESS=off GAPRELAY_RATE_LIMIT_PER_PRACTITIONER=off
  RUST_LOG="${RUST_LOG:-warn}"
)
app_port="$(free_port)"
base="http://127.0.0.1:$app_port"
sink_port="$(free_port)"
sink_pid=""

start_serve() { # start_serve [VAR=value...]: sets serve_pid
  env "${relay_env[@]}" GAPRELAY_BIND="127.0.0.1:$app_port" "$@" "$BIN" serve >>"$work/serve.log" 2>&1 &
  serve_pid=$!
  wait_for "gaprelay serve (see its log: RUST_LOG=info)" curl -fs "$base/readyz"
}
metric() { # metric URL NAME: a value from a /metrics page
  local value
  value="$(curl -fs -H "Authorization: Bearer $metrics_token" "$1/metrics" | awk -v n="$2" '$1 == n {print $2}')"
  [ -n "$value" ] || fail "$1/metrics has no $2"
  echo "$value"
}
sink_stats() { curl -fs "http://127.0.0.1:$sink_port/stats?window=${1:-1}"; }
sink_count() { curl -fs "http://127.0.0.1:$sink_port/count"; }
sink_reset() { curl -fs -X POST "http://127.0.0.1:$sink_port/reset" >/dev/null; }

# A practice with one JWE endpoint at the sink, and the sink holding its secret and key;
# one intake must come through, decrypted, before anything is measured.
setup_practice() {
  local key
  key="$(curl -fs -X POST "$base/v1/practitioners" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"practice_name":"Load","doctor_name":"Dr L","email":"l@example.com","website_url":"https://l.example.com","slug":"load"}' \
    | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')" || fail "could not create the practice"
  curl -fs -X POST "$base/v1/endpoints" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"url\":\"http://127.0.0.1:$sink_port/hook\",\"encryption\":\"jwe\"}" >"$work/endpoint.json" \
    || fail "could not create the endpoint"
  if [ -n "$sink_pid" ]; then stop "$sink_pid"; fi
  BENCH_SINK_SECRET="$(json "$work/endpoint.json" 'd["secret"]')" \
  BENCH_SINK_JWK="$(json "$work/endpoint.json" 'd["encryption_key"]')" \
    "$EX/bench_sink" "127.0.0.1:$sink_port" >>"$work/sink.log" 2>&1 &
  sink_pid=$!
  wait_for "the sink" sink_stats
}
check_one_delivery() {
  sink_reset
  local status
  status="$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/v1/intake/load" -H 'Content-Type: application/json' --data-binary "@$work/intake.json")"
  [ "$status" = 202 ] || fail "the intake was answered $status, not 202"
  for _ in $(seq 100); do [ "$(sink_count)" -ge 1 ] && return 0; sleep 0.1; done
  fail "the intake was not delivered to the sink within 10 s (sink: $(sink_stats))"
}

# --- 2. intake with workers delivering ---------------------------------------------
section "2/5 gaprelay serve, workers delivering to the sink: wrk on intake"
start_serve
setup_practice
check_one_delivery
sleep 1
put rss_idle_kib "$(rss_kib "$serve_pid")"
queue0="$(metric "$base" gaprelay_queue_messages)"
sink_reset
# Where a message's CPU goes with delivery running: gaprelay, Redis and the sink (wrk's
# own is not counted here, as it is not for the baselines).
relay0="$(cpu_ticks "$serve_pid")"; redis0="$(cpu_ticks "$redis_pid")"; sink0="$(cpu_ticks "$sink_pid")"
run_wrk delivering "$work/intake.lua" "$base/v1/intake/load"
relay1="$(cpu_ticks "$serve_pid")"; redis1="$(cpu_ticks "$redis_pid")"; sink1="$(cpu_ticks "$sink_pid")"
put delivering_relay_cpu_us "$(calc "($relay1 - $relay0) * $TICK_US / max(1, $(get delivering_ok))")"
put delivering_redis_cpu_us "$(calc "($redis1 - $redis0) * $TICK_US / max(1, $(get delivering_ok))")"
put delivering_sink_cpu_us "$(calc "($sink1 - $sink0) * $TICK_US / max(1, $(get delivering_ok))")"
sink_stats "$(get delivering_seconds)" >"$work/sink-delivering.json"
queue1="$(metric "$base" gaprelay_queue_messages)"
put rss_load_kib "$(rss_kib "$serve_pid")"
put delivering_delivered "$(json "$work/sink-delivering.json" 'd["count"]')"
put delivering_deliveries_per_s "$(calc "$(get delivering_delivered) / $(get delivering_seconds)")"
put delivering_queue_growth "$((queue1 - queue0))"
put delivering_queue_growth_per_s "$(calc "($queue1 - $queue0) / $(get delivering_seconds)")"
stop "$serve_pid"

# --- 3. intake, API only -------------------------------------------------------------
section "3/5 gaprelay serve with GAPRELAY_WORKER_CONCURRENCY=0 (API only): wrk on intake"
start_serve GAPRELAY_WORKER_CONCURRENCY=0
queue0="$(metric "$base" gaprelay_queue_messages)"
memory0="$(redis_memory)"
rcli config resetstat >/dev/null
relay0="$(cpu_ticks "$serve_pid")"; redis0="$(cpu_ticks "$redis_pid")"
run_wrk api "$work/intake.lua" "$base/v1/intake/load"
relay1="$(cpu_ticks "$serve_pid")"; redis1="$(cpu_ticks "$redis_pid")"
rcli info commandstats | tr -d '\r' >"$work/commandstats-intake.txt"
put api_redis_calls "$(redis_calls)"
memory1="$(redis_memory)"
queue1="$(metric "$base" gaprelay_queue_messages)"
put api_queued "$((queue1 - queue0))"
put api_relay_cpu_us "$(calc "($relay1 - $relay0) * $TICK_US / max(1, $(get api_ok))")"
put api_redis_cpu_us "$(calc "($redis1 - $redis0) * $TICK_US / max(1, $(get api_ok))")"
put api_memory_per_message "$(calc "($memory1 - $memory0) / max(1, $queue1 - $queue0)")"
put backlog "$queue1"
stop "$serve_pid"

# --- 4. drain with one worker ----------------------------------------------------------
section "4/5 one gaprelay worker drains the backlog of $(get backlog) (at most ${BENCH_DRAIN_SECONDS}s)"
worker_port="$(free_port)"
sink_reset
rcli config resetstat >/dev/null
env "${relay_env[@]}" GAPRELAY_WORKER_BIND="127.0.0.1:$worker_port" "$BIN" worker >>"$work/worker.log" 2>&1 &
worker_pid=$!
deadline=$(( $(date +%s) + BENCH_DRAIN_SECONDS ))
while [ "$(sink_count)" -lt "$(get backlog)" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
sink_stats >"$work/sink-drain.json"
rcli info commandstats | tr -d '\r' >"$work/commandstats-delivery.txt"
drain_calls="$(redis_calls)"
curl -fs -H "Authorization: Bearer $metrics_token" "http://127.0.0.1:$worker_port/metrics" | attempt_counts >"$work/attempts-drain.txt"
stop "$worker_pid"
put drain_delivered "$(json "$work/sink-drain.json" 'd["count"]')"
put drain_seconds "$(json "$work/sink-drain.json" 'd["span_s"]')"
put drain_deliveries_per_s "$(json "$work/sink-drain.json" 'd["per_s"]')"
put drain_redis_calls "$drain_calls"
put drain_attempts "$(tr '\n' ' ' <"$work/attempts-drain.txt")"
put drain_duplicates "$(json "$work/sink-drain.json" 'd["duplicates"]')"

# --- 5. create -> delivery at a fixed rate ---------------------------------------------
rate="${BENCH_RATE:-$(calc "max(1, round($(get delivering_ok_rps) / 2))")}"
section "5/5 open loop: intake at $rate/s for ${BENCH_SECONDS}s, serve with workers, an empty Redis"
rcli flushall >/dev/null
start_serve
setup_practice
check_one_delivery
sink_reset
rcli config resetstat >/dev/null
attempts_before="$(curl -fs -H "Authorization: Bearer $metrics_token" "$base/metrics" | attempt_counts)"
"$EX/bench_load" --url "$base/v1/intake/load" --body "$work/intake.json" --rate "$rate" --seconds "$BENCH_SECONDS" \
  | tee "$work/open-loop.json"
sent_ok="$(json "$work/open-loop.json" 'd["ok"]')"
deadline=$(( $(date +%s) + BENCH_DRAIN_SECONDS ))
while [ "$(sink_count)" -lt "$sent_ok" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
sink_stats >"$work/sink-open-loop.json"
rcli info commandstats | tr -d '\r' >"$work/commandstats-open-loop.txt"
put open_redis_calls "$(redis_calls)"
curl -fs -H "Authorization: Bearer $metrics_token" "$base/metrics" | attempt_counts >"$work/attempts-open-loop.txt"
put open_attempts "$(echo "$attempts_before" | awk 'NR == FNR {b[$1] = $2; next} {print $1, $2 - b[$1]}' - "$work/attempts-open-loop.txt" | tr '\n' ' ')"
put rss_after_kib "$(rss_kib "$serve_pid")"
stop "$serve_pid"
sink_ticks="$(cpu_ticks "$sink_pid")"
stop "$sink_pid"
busy1="$(machine_busy)"; redis_end="$(cpu_ticks "$redis_pid")"; own_ticks_to "$work/times1"
end_s="$(date +%s.%N)"
others="$(calc "$busy1 - $busy0 - ($(ticks_in "$work/times1") - $(ticks_in "$work/times0")) - ($redis_end - $redis_start) - $sink_ticks")"
# As a share of what the machine's cores could do over the run.
put others_share "$(calc "max(0.0, $others / (($end_s - $start_s) * $(nproc) * $(getconf CLK_TCK)))")"
put open_rate "$rate"
put open_ok "$sent_ok"
put open_answered_per_s "$(json "$work/open-loop.json" 'd["answered_per_s"]')"
put open_not_ok "$(json "$work/open-loop.json" 'd["status_errors"] + d["errors"] + d["unanswered"] + d["skipped"]')"
put open_intake_p99_ms "$(json "$work/open-loop.json" 'd["p99_ms"]')"
put open_delivered "$(json "$work/sink-open-loop.json" 'd["count"]')"
put open_p50_ms "$(json "$work/sink-open-loop.json" 'd["p50_ms"]')"
put open_p99_ms "$(json "$work/sink-open-loop.json" 'd["p99_ms"]')"
put open_p90_ms "$(json "$work/sink-open-loop.json" 'd["p90_ms"]')"
put open_max_ms "$(json "$work/sink-open-loop.json" 'd["max_ms"]')"
put sink_rejected "$(calc "$(json "$work/sink-drain.json" 'd["rejected"]') + $(json "$work/sink-open-loop.json" 'd["rejected"]')")"

# --- the table ------------------------------------------------------------------------
settings="$(env | grep -E '^GAPRELAY_' | grep -vE '^GAPRELAY_[A-Z_]*(KEY|TOKEN|SECRET|URL|PASSWORD)[A-Z_]*=' | sort | tr '\n' ' ' || true)"
put settings "${settings:-defaults}"
put seconds "$BENCH_SECONDS"
put connections "$BENCH_CONNECTIONS"
put threads "$BENCH_THREADS"
put rust_log "${RUST_LOG:-warn}"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit + uncommitted changes"; fi
put commit "$commit"
put date "$(date -u '+%Y-%m-%d %H:%M UTC')"
put loadavg "$loadavg_start before, $(cut -d' ' -f1 /proc/loadavg) after"
put machine "$(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(awk '/^MemTotal:/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r), $(redis-server --version | sed -n 's/.*\(v=[0-9.]*\).*/Redis \1/p' | tr -d 'v='), $(rustc --version | cut -d' ' -f1-2), wrk $(wrk -v 2>&1 | head -n1 | cut -d' ' -f2)"

section "results"
"$PYTHON" benches/harness/report.py "$results" "$work" "$DOC" "${BENCH_RECORD:-auto}"
