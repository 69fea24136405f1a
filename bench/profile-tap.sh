#!/usr/bin/env bash
# Profiles linc-ts forwarding TAP -> TAP (standalone, default port options) under a 64 B
# UDP flood: Linux perf with Node's --perf-basic-prof, so JIT-compiled
# JavaScript shows up by function and file. The switch runs alone on CPU 1,
# trafgen in namespace A on CPU 0 (its worker pins itself to CPU 0). Prints
# the switch's CPU time per delivered frame and where it goes: the kernel
# (syscalls and the TAP driver), the addon, V8/libuv, and JavaScript by
# directory (src/packet, src/flow, src/datapath, src/ports, ...). Root,
# perf (linux-perf), trafgen and a built dist/ (npm run build) needed.
#   bench/profile-tap.sh [SECONDS]     (default 8)
#   PORT_OPTS=,io=rw bench/profile-tap.sh     options appended to both tap: port specs
# Only the namespaces and TAPs made here carry traffic; all are removed at the end.
set -euo pipefail
secs=${1:-8}
root=$(cd "$(dirname "$0")/.." && pwd)
tag=p$$
nsA=lpA$tag nsB=lpB$tag tapA=lpa$tag tapB=lpb$tag
work=$(mktemp -d /tmp/linc-profile-XXXXXX)
sw=''
gen=''
cleanup() {
  [ -n "$gen" ] && kill -INT -- "-$gen" 2>/dev/null || true
  [ -n "$sw" ] && kill "$sw" 2>/dev/null || true
  sleep 0.5
  ip netns del "$nsA" 2>/dev/null || true
  ip netns del "$nsB" 2>/dev/null || true
  rm -f "/tmp/perf-$sw.map"
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$nsA"
ip netns add "$nsB"
taskset -c 1 node --perf-basic-prof "$root/dist/src/cli.js" run --metrics off --admin-socket off --log-level warn \
  --port "tap:$tapA=1${PORT_OPTS:-}" --port "tap:$tapB=2${PORT_OPTS:-}" >"$work/switch.log" 2>&1 &
sw=$!
for _ in $(seq 100); do [ -e "/sys/class/net/$tapA" ] && [ -e "/sys/class/net/$tapB" ] && break; sleep 0.1; done
ip link set "$tapA" netns "$nsA"
ip link set "$tapB" netns "$nsB"
ip -n "$nsA" addr add 10.79.0.1/24 dev "$tapA"
ip -n "$nsB" addr add 10.79.0.2/24 dev "$tapB"
ip -n "$nsA" link set "$tapA" up
ip -n "$nsB" link set "$tapB" up
ip netns exec "$nsA" ping -c 2 -i 0.2 -W 2 10.79.0.2 >/dev/null
mac() { ip -n "$1" -br link show "$2" | awk '{print $3}' | sed 's/^/0x/; s/:/, 0x/g'; }
cat >"$work/udp64.cfg" <<CFG
{ $(mac "$nsB" "$tapB"), $(mac "$nsA" "$tapA"), 0x08, 0x00,
  0x45, 0x00, 0x00, 46, 0x00, 0x00, 0x40, 0x00, 64, 17, csumip(14, 33),
  10, 79, 0, 1, 10, 79, 0, 2,
  0x30, 0x39, 0x30, 0x39, 0x00, 26, 0x00, 0x00,
  fill(0x00, 18) }
CFG
setsid ip netns exec "$nsA" taskset -c 0 trafgen -o "$tapA" -i "$work/udp64.cfg" -P 1 -Q -C -q >/dev/null 2>&1 &
gen=$!
sleep 2
rx0=$(ip netns exec "$nsB" cat "/sys/class/net/$tapB/statistics/rx_packets")
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$sw/stat")
perf record -q -F 999 -g -p "$sw" -o "$work/perf.data" -- sleep "$secs" 2>/dev/null
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$sw/stat")
rx1=$(ip netns exec "$nsB" cat "/sys/class/net/$tapB/statistics/rx_packets")
kill -INT -- "-$gen" 2>/dev/null || true
gen=''
hz=$(getconf CLK_TCK)
frames=$((rx1 - rx0))
echo "delivered $((frames / secs)) frames/s over ${secs} s; switch CPU: user $(( (u1 - u0) * 1000 / hz )) ms, system $(( (s1 - s0) * 1000 / hz )) ms"
awk -v f="$frames" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$hz" 'BEGIN { if (f > 0) printf "per delivered frame: %.2f us CPU (%.2f us user, %.2f us system)\n", (u + s) / hz / f * 1e6, u / hz / f * 1e6, s / hz / f * 1e6 }'
perf script -i "$work/perf.data" -F comm,tid,ip,sym,dso 2>/dev/null >"$work/script.txt"
python3 - "$work/script.txt" "$root" <<'PY'
# Each sample is attributed by its call chain: the syscall it sits under
# (read/write on a TAP, epoll), else the leaf's code: JavaScript by source
# directory (JIT frames named by --perf-basic-prof), the addon, V8/libuv.
import re, sys
from collections import Counter
root = sys.argv[2]
cats, leaves, total = Counter(), Counter(), 0
def classify(frames):
    syms = [f[0] for f in frames]
    joined = ' '.join(syms)
    if re.search(r'\b(tun_chr_read_iter|ksys_read|__x64_sys_read|__x64_sys_readv)\b', joined):
        return 'kernel: read() from the TAP (copy to user)'
    if re.search(r'\b(tun_chr_write_iter|ksys_write|__x64_sys_write|__x64_sys_writev)\b', joined):
        return 'kernel: write() to the TAP, incl. delivery into host B\'s stack'
    if re.search(r'\bio_uring_enter\b|__do_sys_io_uring_enter', joined):
        return 'kernel: io_uring_enter itself (submission, completion, syscall entry)'
    if re.search(r'epoll|__x64_sys_poll|do_sys_poll', joined):
        return 'kernel: epoll (waiting/arming)'
    leaf_sym, leaf_dso = frames[0]
    if leaf_dso.startswith('[kernel'):
        return 'kernel: other (interrupts, scheduling, syscall entry)'
    if leaf_dso.endswith('.node'):
        return 'addon (linc_native.node)'
    if 'libc' in leaf_dso:
        return 'libc (syscall wrappers, memcpy)'
    if 'perf-' in leaf_dso or 'JIT' in leaf_dso:
        for sym, dso in frames:
            m = re.search(r'dist/src/([a-z-]+)/([a-z-]+)/', sym) or re.search(r'dist/src/([a-z-]+)()', sym)
            if m:
                return 'JS: src/' + m[1] + ('/' + m[2] if m[2] else '')
        return 'JS: V8 builtins/stubs and other JS'
    return 'V8 runtime, GC, libuv (' + leaf_dso.split('/')[-1] + ')'
frames = []
def flush():
    global total
    if frames:
        c = classify(frames)
        cats[c] += 1
        leaves[(frames[0][0].replace(root + '/', '')[:100], c)] += 1
        total += 1
for line in open(sys.argv[1], errors='replace'):
    if not line.strip():
        flush(); frames = []; continue
    m = re.match(r'\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$', line)
    if m:
        frames.append((re.sub(r'\+0x[0-9a-f]+$', '', m[1]), m[2]))
flush()
print(f"\n{total} samples; share of the switch's CPU by where it goes (by call chain):")
for c, n in cats.most_common():
    print(f'  {100 * n / total:6.2f} %  {c}')
print('\ntop 20 leaf functions:')
for (sym, c), n in leaves.most_common(20):
    print(f'  {100 * n / total:6.2f} %  {sym}  [{c.split(":")[0]}]')
PY
