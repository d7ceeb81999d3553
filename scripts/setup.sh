#!/usr/bin/env bash
# Installs what Plexus needs on a Debian machine with Node 20, and nothing twice
# (with --bench, also the controllers the benchmarks compare against):
# Debian packages only when a binary is missing, npm packages only when
# node_modules is older than package-lock.json. Safe to run any number of times.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
want() { command -v "$1" >/dev/null 2>&1 || [[ " ${need_pkgs[*]} " == *" $2 "* ]] || need_pkgs+=("$2"); }
# One line per program the code runs (test/scripts/setup.test.ts checks that every
# program spawned anywhere in src/, bench/, scripts/ or test/ is listed here).
want ovs-vswitchd openvswitch-switch
want ovs-vsctl openvswitch-switch
want ovsdb-server openvswitch-common
want ovsdb-tool openvswitch-common
want ovsdb-client openvswitch-common
want ovs-ofctl openvswitch-common
want ovs-appctl openvswitch-common
want etcd etcd-server
want etcdctl etcd-client
want ip iproute2
want ethtool ethtool
want sysctl procps
want udhcpc udhcpc
# The static build: it also runs alone in container images and the VM's initramfs.
want busybox busybox-static
want ping iputils-ping
want tcpdump tcpdump
want iperf3 iperf3
want sh dash
want apt-get apt
# Tests make their own certificates (TLS for the API, ssl: for OVSDB and OpenFlow).
want openssl openssl
# The systemd unit is checked with systemd-analyze security.
want systemd-analyze systemd
# promtool checks the /metrics exposition in npm test.
want promtool prometheus
# Real workloads (Docker, CNI, VMs; src/integrations, src/sandbox).
want nsenter util-linux
want unshare util-linux
want mount mount
want tar tar
want dpkg-deb dpkg
want apt-cache apt
want podman podman
want dockerd docker.io
want docker docker.io
want qemu-system-x86_64 qemu-system-x86
# libvirtd is in libvirt-daemon (Debian 12's qemu driver package does not pull it in).
want libvirtd libvirt-daemon
want libvirtd libvirt-daemon-driver-qemu
want virsh libvirt-clients
# The web view (/ui) is tested in a real headless browser.
want chromium chromium
# Benchmarks compare against these peers (npm run bench passes --bench).
if [ "${1:-}" = "--bench" ]; then
  want ovn-northd ovn-central
  want ovn-nbctl ovn-central
  want ovn-sbctl ovn-central
  want ovn-controller ovn-host
  want ovs-testcontroller openvswitch-testcontroller
  want osken-manager python3-os-ken
fi

if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_pkgs[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install ${need_pkgs[*]} (run as root or install them first)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# The Debian package starts OVS's own daemons where an init system runs; Plexus
# tests and the demo run sandboxed copies and never touch the system instance.

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
