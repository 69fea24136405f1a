#!/usr/bin/env bash
# Profiles linc-ts forwarding a 64 B UDP flood from host A to host B, TAP ->
# TAP or veth -> veth (`if:` ports, mode=ring by default), standalone, into
# B's IP stack (nothing listens: a route lookup and a rate-limited ICMP port
# unreachable per frame). Linux perf with Node's --perf-basic-prof, so
# JIT-compiled JavaScript shows up by function and file. The switch runs
# alone on CPU 1, trafgen in namespace A on CPU 0 (its worker pins itself to
# CPU 0). Prints the switch's CPU time per delivered frame and where it goes,
# in shares and in us per frame: host B's stack (the kernel delivers a frame
# into B inside the switch's own write or send, so B's receive path runs on
# the switch's core and is charged to it), the kernel's transmit and
# receive work, epoll, the addon, V8/libuv, and JavaScript by directory
# (src/packet, src/flow, src/datapath, src/ports, ...). Root, perf
# (linux-perf), trafgen and a built dist/ (npm run build) needed.
#   bench/profile.sh [tap|veth] [SECONDS]     (default tap, 8 s)
#   PORT_OPTS=,io=rw bench/profile.sh tap     options appended to both port specs
#   KEEP=DIR bench/profile.sh veth            also keeps perf.data, the perf script and the switch log in DIR
# Only the namespaces, TAPs and veths made here carry traffic; all are removed at the end.
set -euo pipefail
link=${1:-tap}
secs=${2:-8}
case "$link" in tap | veth) ;; *) echo "bench/profile.sh: the link is tap or veth, not \"$link\"" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
tag=p$$
# devA/devB: the hosts' ends (a TAP moved into the namespace, or the veth peer made in it);
# swA/swB: the switch's ports (the same TAPs, or the veths left in the root namespace).
nsA=lpA$tag nsB=lpB$tag devA=lpa$tag devB=lpb$tag swA=lsa$tag swB=lsb$tag
work=$(mktemp -d /tmp/linc-profile-XXXXXX)
sw=''
gen=''
cleanup() {
  [ -n "$gen" ] && kill -INT -- "-$gen" 2>/dev/null || true
  [ -n "$sw" ] && kill "$sw" 2>/dev/null || true
  sleep 0.5
  ip netns del "$nsA" 2>/dev/null || true
  ip netns del "$nsB" 2>/dev/null || true
  ip link del "$swA" 2>/dev/null || true
  ip link del "$swB" 2>/dev/null || true
  rm -f "/tmp/perf-$sw.map"
  [ -n "${KEEP:-}" ] && cp -r "$work" "$KEEP"; rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$nsA"
ip netns add "$nsB"
if [ "$link" = veth ]; then
  ip link add "$swA" type veth peer name "$devA" netns "$nsA"
  ip link add "$swB" type veth peer name "$devB" netns "$nsB"
  spec="if:$swA=1${PORT_OPTS:-} --port if:$swB=2${PORT_OPTS:-}"
else
  swA=$devA swB=$devB
  spec="tap:$devA=1${PORT_OPTS:-} --port tap:$devB=2${PORT_OPTS:-}"
fi
# shellcheck disable=SC2086 # $spec is two --port arguments
taskset -c 1 node --perf-basic-prof "$root/dist/src/cli.js" run --metrics off --admin-socket off \
  --port $spec >"$work/switch.log" 2>&1 &
sw=$!
for _ in $(seq 100); do [ -e "/sys/class/net/$swA" ] && [ -e "/sys/class/net/$swB" ] && grep -q 'switch running' "$work/switch.log" && break; sleep 0.1; done
if [ "$link" = tap ]; then
  ip link set "$devA" netns "$nsA"
  ip link set "$devB" netns "$nsB"
fi
ip -n "$nsA" addr add 10.79.0.1/24 dev "$devA"
ip -n "$nsB" addr add 10.79.0.2/24 dev "$devB"
ip -n "$nsA" link set "$devA" up
ip -n "$nsB" link set "$devB" up
ip netns exec "$nsA" ping -c 2 -i 0.2 -W 2 10.79.0.2 >/dev/null
mac() { ip -n "$1" -br link show "$2" | awk '{print $3}' | sed 's/^/0x/; s/:/, 0x/g'; }
cat >"$work/udp64.cfg" <<CFG
{ $(mac "$nsB" "$devB"), $(mac "$nsA" "$devA"), 0x08, 0x00,
  0x45, 0x00, 0x00, 46, 0x00, 0x00, 0x40, 0x00, 64, 17, csumip(14, 33),
  10, 79, 0, 1, 10, 79, 0, 2,
  0x30, 0x39, 0x30, 0x39, 0x00, 26, 0x00, 0x00,
  fill(0x00, 18) }
CFG
setsid ip netns exec "$nsA" taskset -c 0 trafgen -o "$devA" -i "$work/udp64.cfg" -P 1 -Q -C -q >/dev/null 2>&1 &
gen=$!
sleep 2
rx0=$(ip netns exec "$nsB" cat "/sys/class/net/$devB/statistics/rx_packets")
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$sw/stat")
perf record -q -F 999 -g -p "$sw" -o "$work/perf.data" -- sleep "$secs" 2>/dev/null
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$sw/stat")
rx1=$(ip netns exec "$nsB" cat "/sys/class/net/$devB/statistics/rx_packets")
kill -INT -- "-$gen" 2>/dev/null || true
gen=''
hz=$(getconf CLK_TCK)
frames=$((rx1 - rx0))
echo "delivered $((frames / secs)) frames/s over ${secs} s; switch CPU: user $(( (u1 - u0) * 1000 / hz )) ms, system $(( (s1 - s0) * 1000 / hz )) ms"
awk -v f="$frames" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$hz" 'BEGIN { if (f > 0) printf "per delivered frame: %.2f us CPU (%.2f us user, %.2f us system)\n", (u + s) / hz / f * 1e6, u / hz / f * 1e6, s / hz / f * 1e6 }'
perf script -i "$work/perf.data" -F comm,tid,ip,sym,dso 2>/dev/null >"$work/script.txt"
python3 - "$work/script.txt" "$root" "$frames" "$((u1 - u0 + s1 - s0))" "$hz" <<'PY'
# Each sample is attributed by its call chain: host B's stack if the chain
# holds the kernel's receive path (B's is the only one on this core), else the
# syscall it sits under (TAP read/write, io_uring_enter, packet socket send
# or receive, epoll), else the leaf's code: JavaScript by source directory
# (JIT frames named by --perf-basic-prof), the addon, V8/libuv.
import re, sys
from collections import Counter
root = sys.argv[2]
frames_delivered, cpu_ticks, hz = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
us_per_frame = cpu_ticks / hz / frames_delivered * 1e6 if frames_delivered > 0 else float('nan')
cats, leaves, total = Counter(), Counter(), 0
KERNEL_CHAINS = [
    (r'\b(__netif_receive_skb\w*|netif_receive_skb\w*|process_backlog|net_rx_action)\b', "kernel: host B's stack (delivery into B, on the switch's core)"),
    (r'\b(tun_chr_read_iter|ksys_read|__x64_sys_read|__x64_sys_readv)\b', 'kernel: read() from the TAP (copy to user)'),
    (r'\b(tun_chr_write_iter|ksys_write|__x64_sys_write|__x64_sys_writev)\b', 'kernel: write() to the TAP (skb, copy)'),
    (r'\bio_uring_enter\b|__do_sys_io_uring_enter', 'kernel: io_uring_enter (TAP reads and writes, submission, completion)'),
    (r'\b(packet_sendmsg|__sys_sendto|__sys_sendmsg|__sys_sendmmsg|xsk_sendmsg)\b', 'kernel: packet socket send (TX ring kick, skb, device transmit)'),
    (r'\b(packet_recvmsg|__sys_recvmsg|__sys_recvmmsg|__sys_recvfrom)\b', 'kernel: packet socket receive'),
    (r'epoll|__x64_sys_poll|do_sys_poll', 'kernel: epoll (waiting/arming)'),
]
def classify(frames):
    joined = ' '.join(f[0] for f in frames)
    for pattern, name in KERNEL_CHAINS:
        if re.search(pattern, joined):
            return name
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
    print(f'  {100 * n / total:6.2f} %  {n / total * us_per_frame:5.2f} us/frame  {c}')
print('\ntop 20 leaf functions:')
for (sym, c), n in leaves.most_common(20):
    print(f'  {100 * n / total:6.2f} %  {sym}  [{c.split(":")[0]}]')
PY
