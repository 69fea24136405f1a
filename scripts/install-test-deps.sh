#!/usr/bin/env bash
# Installs the Debian packages the integration tests and benchmarks drive:
# ip/netns/ss (iproute2), sysctl (procps), unshare/nsenter (util-linux),
# ping (iputils-ping), iperf3,
# trafgen (netsniff-ng), tshark/tcpdump, ovs-ofctl (openvswitch-common),
# prometheus/promtool, ethtool, python3, cc/g++/make (gcc, g++, make: the
# addon and the benchmark's C forwarder), liburing-dev (the addon's io_uring TAP I/O and
# that forwarder's io_uring mode), ovsdb-server/ovs-vswitchd/ovs-vsctl (openvswitch-switch: the
# benchmark's Open vSwitch anchor, a private instance with its own run
# directory; a system instance the package may start is not used), iptables
# (the end-to-end benchmark's drop sink in host B); for the
# shipping tests: podman,
# runc, debootstrap and uidmap (the container image, built by
# ../shared/tools/verify-dockerfile.sh), systemd-analyze (systemd: the unit
# file check), mininet and python3-os-ken (linc-ts as Mininet's switches under
# an OpenFlow 1.3 controller; no Open vSwitch needed).
# scripts/check-test-tools.sh checks that each program is there afterwards.
# Needs root (or sudo). Safe to run again.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo "$0" "$@"
export DEBIAN_FRONTEND=noninteractive
pkgs=(iproute2 procps util-linux iputils-ping iperf3 netsniff-ng tshark tcpdump openvswitch-common prometheus ethtool python3 gcc g++ make
      podman runc debootstrap uidmap systemd mininet python3-os-ken openssl
      liburing-dev openvswitch-switch iptables)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null
fi
# The TAP driver; built in on most kernels, a module on some.
[ -e /dev/net/tun ] || modprobe tun 2>/dev/null || true
echo "test dependencies installed: ${pkgs[*]}"
