#!/usr/bin/env bash
# Re-records docs/recordings/status-watch.txt: `tramway status tcp-latency --watch` in a real
# terminal (tmux) during the paused rollout `npm start` begins with. The embedded demo runs in one
# tmux pane, the watch in another; `tmux capture-pane -p` takes a frame of the watch pane every
# second. Everything runs in a fresh temporary directory on a free port, with a tmux server of
# its own (-L), which is stopped at the end.
#
#   scripts/record-status-watch.sh [OUT]   (default docs/recordings/status-watch.txt)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/docs/recordings/status-watch.txt}
FRAMES=${FRAMES:-60}
# the pause between waves: the example policy says 10 s; longer here so that the watch, which
# takes a few seconds to start on a loaded machine, sees a whole countdown
PAUSE=${PAUSE:-20}
command -v tmux >/dev/null || { echo "tmux is needed (apt-get install -y tmux)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/tramway-recording.XXXXXX)
SOCKET="tramway-rec-$$"
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
TRAMWAY="node --conditions=@tramway/source $ROOT/services/cli/bin/tramway.js"
cleanup() {
  tmux -L "$SOCKET" kill-server 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# pane 0: what `npm start` runs, in a fresh directory (its .tramway/ lands there)
tmux -L "$SOCKET" new-session -d -s rec -x 160 -y 50 -c "$WORK" \
  "$TRAMWAY demo --port $PORT --pause-s $PAUSE --fleet $ROOT/examples/fleet/fleet.yaml -f $ROOT/examples/policies/tcp-latency.yaml; sleep 600"
for _ in $(seq 1 600); do
  tmux -L "$SOCKET" capture-pane -p -t rec:0.0 | grep -q 'status tcp-latency --watch' && break
  sleep 0.1
done
# pane 1: the command the demo prints, in "another terminal" (same directory: it finds the token)
tmux -L "$SOCKET" split-window -v -t rec:0 -c "$WORK" \
  "$TRAMWAY status tcp-latency --watch --url http://127.0.0.1:$PORT; echo \"[exit \$?]\"; sleep 600"

{
  echo "# tramway status --watch during a paused rollout, recorded with tmux"
  echo "#"
  echo "# Recorded $(date -u +%Y-%m-%dT%H:%M:%SZ) by scripts/record-status-watch.sh: in tmux pane 0,"
  echo "#   tramway demo --port $PORT --pause-s $PAUSE"
  echo "# (what 'npm start' runs: examples/policies/tcp-latency.yaml, 3 waves of one node each; the"
  echo "# policy pauses 10 s between waves, $PAUSE s here so that the whole countdown is seen)"
  echo "# then, once it printed the watch command, in pane 1 (the 'other terminal'):"
  echo "#   tramway status tcp-latency --watch --url http://127.0.0.1:$PORT"
  echo "# and every second: tmux capture-pane -p -t rec:0.1 (the watch pane, redrawn in place)."
  echo "# Frames are separated by '===== frame N (+S s) ====='."
} >"$OUT"
start=$(date +%s)
last=''
for i in $(seq 1 "$FRAMES"); do
  sleep 1
  frame=$(tmux -L "$SOCKET" capture-pane -p -t rec:0.1 | sed -e 's/[[:space:]]*$//' | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}')
  [ "$frame" = "$last" ] && continue
  last=$frame
  { echo; echo "===== frame $i (+$(( $(date +%s) - start )) s) ====="; echo "$frame"; } >>"$OUT"
  case "$frame" in *"[exit "*) break ;; esac
done
{ echo; echo "===== pane 0 (the demo) at the end ====="; tmux -L "$SOCKET" capture-pane -p -J -t rec:0.0 -S -60 | sed -e 's/[[:space:]]*$//' | grep -v '^$'; } >>"$OUT"
echo "recorded $(grep -c '^===== frame' "$OUT") frames into $OUT"
