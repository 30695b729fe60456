#!/bin/sh
# Writes docs/fidelity.md: `gilscope compare` for every lesson at its default knobs (the
# emulation and the machine's CPython alternately, three runs each, medians). Run it on a
# quiet machine from the repository's root:  sh docs/measure/fidelity.sh
set -eu
gilscope=${GILSCOPE:-target/release/gilscope}
[ -x "$gilscope" ] || cargo build --release -p gilscope-server
out=docs/fidelity.md
tmp=$(mktemp)
{
  echo "# Fidelity: the emulation against real CPython"
  echo
  echo "Written by \`sh docs/measure/fidelity.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores,"
  echo "$(python3 --version 2>&1), load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Each lesson at its default knobs: \`gilscope compare LESSON\` (three runs of each engine,"
  echo "alternating; medians). A row is a figure both engines have: what the lesson's Python"
  echo "printed on CPython against the emulated run's summary. ratio = emulated / CPython."
  echo "Lessons whose figures are only drawn (join, the queue lessons, apply-async) have no row."
  echo
  for lesson in $("$gilscope" presets --json | python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)))'); do
    echo "## $lesson"
    echo
    echo '```text'
    "$gilscope" compare "$lesson" 2>&1 | tail -n +2 || echo "(compare failed)"
    echo '```'
    echo
  done
} > "$tmp"
mv "$tmp" "$out"
echo "wrote $out"
