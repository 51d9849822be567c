#!/usr/bin/env bash
# Load test of the intake route against a real Redis, all on loopback: a release build
# of gaprelay, its own redis-server on a free port, a local webhook sink, and wrk
# posting the same valid intake for a bounded time. Prints intake throughput and
# latency, then how long the workers take to drain the queue. `make bench` runs it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-32}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v redis-server >/dev/null || make redis
cargo build --release --quiet

work="$(mktemp -d)"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --logfile "$work/redis.log" --daemonize no &
pids+=($!)

sink_port="$(free_port)"
# The sink: a minimal keep-alive HTTP/1.1 receiver answering 204, fast enough not to be
# the bottleneck of the drain measurement.
python3 - "$sink_port" <<'PY' &
import asyncio, sys
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
pids+=($!)

app_port="$(free_port)"
admin="load-test-admin-token-0123456789"
GAPRELAY_BIND="127.0.0.1:$app_port" GAPRELAY_REDIS_URL="redis://127.0.0.1:$redis_port/" \
GAPRELAY_ADMIN_TOKEN="$admin" GAPRELAY_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" \
GAPRELAY_ALLOW_PRIVATE_TARGETS=true RUST_LOG=warn \
  ./target/release/gaprelay serve > "$work/gaprelay.log" 2>&1 &
pids+=($!)

base="http://127.0.0.1:$app_port"
for _ in $(seq 100); do curl -fs "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
key="$(curl -fs -X POST "$base/v1/practitioners" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  -d '{"practice_name":"Load","doctor_name":"Dr L","email":"l@example.com","website_url":"https://l.example.com","slug":"load"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')"
curl -fs -X POST "$base/v1/endpoints" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d "{\"url\":\"http://127.0.0.1:$sink_port/hook\",\"encryption\":\"jwe\"}" >/dev/null

cat > "$work/intake.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"contact":{"name":"Load Test","email":"load@example.com"},"sex":"female","age":42,"labs":[{"marker":"3016-3","value":3.1,"unit":"mIU/L"},{"marker":"glucose_fasting","value":5.2,"unit":"mmol/L"},{"marker":"vitamin_d_25oh","value":70,"unit":"nmol/L"}],"symptoms":["fatigue","brain_fog"],"consent":true}'
LUA

echo "== intake: wrk -t2 -c$CONNECTIONS -d$DURATION (one endpoint, JWE)"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/intake.lua" "$base/v1/intake/load"

echo "== draining the queue (delivery to the local sink)"
queued="$(redis-cli -p "$redis_port" zcard 'gr:{q}:due')"
start=$(date +%s.%N)
for _ in $(seq 600); do
  left="$(redis-cli -p "$redis_port" zcard 'gr:{q}:due')"
  [ "$left" = "0" ] && break
  sleep 0.1
done
end=$(date +%s.%N)
python3 -c "q=$queued; t=$end-$start; print(f'{q} queued messages, {$left} left after {t:.1f} s: {(q-$left)/t:.0f} deliveries/s')"
