#!/bin/bash
# Peak server memory while one, then 8 concurrent exports of a big trace stream (docs/streaming.md).
# Usage, from the repository root after `cargo build -p gilscope-server`: WORK=400000 docs/export-memory.sh
# Needs curl and python3; resetting the peak (clear_refs) needs the server to be our own process.
set -e
BIN=${BIN:-target/debug/gilscope}
ADDR=127.0.0.1:7999
$BIN serve --addr $ADDR > /tmp/serve.log 2>&1 &
PID=$!
trap "kill $PID" EXIT
until curl -s -o /dev/null http://$ADDR/api/presets; do sleep 0.1; done
ID=$(curl -s -H 'Content-Type: application/json' -d "{\"preset\":\"gil-flavours\",\"knobs\":{\"gil\":\"ticks\",\"check_ticks\":1,\"threads\":8,\"work\":${WORK:-150000}}}" http://$ADDR/api/runs | python3 -c 'import sys,json;print(json.load(sys.stdin)["id"])')
until curl -s http://$ADDR/api/runs/$ID | grep -q '"state":"finished"'; do sleep 0.2; done
rss() { grep -E "VmRSS|VmHWM" /proc/$PID/status | tr -s ' ' | tr '\n' ' '; echo; }
echo "after the run:   $(rss)"
echo 5 > /proc/$PID/clear_refs
echo "HWM reset:       $(rss)"
curl -s -o /tmp/one.json http://$ADDR/api/runs/$ID/trace
echo "one export:      $(ls -l /tmp/one.json | awk '{print $5}') bytes; $(rss)"
python3 -c 'import json;d=json.load(open("/tmp/one.json"));print("  valid JSON,", len(d["traceEvents"]), "events")'
rm -f /tmp/one.json
echo 5 > /proc/$PID/clear_refs
S=$(date +%s%N)
for i in $(seq 8); do curl -s -o /dev/null -w "%{http_code} %{size_download}\n" http://$ADDR/api/runs/$ID/trace & done
sleep 0.5
curl -s -o /dev/null -w "9th while 8 stream: %{http_code}\n" http://$ADDR/api/runs/$ID/trace
for j in $(jobs -p); do [ "$j" != "$PID" ] && wait $j; done
echo "8 exports in $(( ($(date +%s%N) - S) / 1000000 )) ms: $(rss)"
