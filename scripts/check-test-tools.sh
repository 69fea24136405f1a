#!/usr/bin/env bash
# Checks that every external program the tests and benchmarks run is here
# (and the Python modules and the TAP device they need). Prints one line per
# missing thing with the Debian package that provides it and exits 1, or one
# summary line and exits 0. .ci/run runs it right after install-test-deps.sh,
# so a package missing from that script fails CI here, by name, instead of
# as a test that cannot exec its tool (or skips without saying so).
#
# Keep in step with scripts/install-test-deps.sh (the packages) and with the
# tools the tests name (test/helpers/requirements.ts: tool('...')); a unit
# test (test/unit/requirements.test.ts) checks both.
set -uo pipefail

# PROGRAM:PACKAGE (the Debian package install-test-deps.sh installs it with)
programs=(
  ip:iproute2 ss:iproute2 tc:iproute2 sysctl:procps ping:iputils-ping
  iperf3:iperf3 trafgen:netsniff-ng tshark:tshark ovs-ofctl:openvswitch-common
  prometheus:prometheus promtool:prometheus ethtool:ethtool
  python3:python3 cc:gcc g++:g++ make:make
  unshare:util-linux nsenter:util-linux taskset:util-linux systemd-analyze:systemd
  podman:podman runc:runc debootstrap:debootstrap newuidmap:uidmap
  mnexec:mininet osken-manager:python3-os-ken openssl:openssl
  ovsdb-server:openvswitch-switch ovs-vswitchd:openvswitch-switch ovs-vsctl:openvswitch-switch iptables:iptables
)
# Comes with Node.js (the README's set-up), not from install-test-deps.sh
node_programs=(npm)
# MODULE:PACKAGE, imported by Debian's /usr/bin/python3 (the Mininet test)
python_modules=(mininet:mininet os_ken:python3-os-ken)
# HEADER:PACKAGE, found by the C compiler (the addon's io_uring TAP I/O links liburing)
headers=(liburing.h:liburing-dev)

missing=()
for entry in "${programs[@]}"; do
  prog=${entry%%:*} pkg=${entry#*:}
  command -v "$prog" >/dev/null 2>&1 || missing+=("$prog (package $pkg)")
done
for prog in "${node_programs[@]}"; do
  command -v "$prog" >/dev/null 2>&1 || missing+=("$prog (comes with Node.js 20)")
done
for entry in "${python_modules[@]}"; do
  mod=${entry%%:*} pkg=${entry#*:}
  /usr/bin/python3 -c "import $mod" >/dev/null 2>&1 || missing+=("python3 module $mod (package $pkg)")
done
for entry in "${headers[@]}"; do
  hdr=${entry%%:*} pkg=${entry#*:}
  echo "#include <$hdr>" | cc -E -x c - >/dev/null 2>&1 || missing+=("C header $hdr (package $pkg)")
done
[ -e /dev/net/tun ] || missing+=("/dev/net/tun (the TAP driver: modprobe tun)")

if [ ${#missing[@]} -gt 0 ]; then
  echo "check-test-tools: ${#missing[@]} missing (run scripts/install-test-deps.sh):" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "check-test-tools: all $((${#programs[@]} + ${#node_programs[@]})) programs, ${#python_modules[@]} python3 modules, ${#headers[@]} C headers and /dev/net/tun present"
