#!/bin/bash
# qemu/setup.sh - everything QEMU mode needs on a Debian 12 (bookworm) x86-64 host, as root.
#
# Installs QEMU 10 (bookworm-backports), ndctl/daxctl and kmod on the host; downloads the 6.12
# guest kernel and busybox-static and extracts them into the cache folder (never installed on the
# host); builds the guest initramfs from qemu/guest/init.sh. Idempotent: each step checks first,
# so a second run takes well under a second and touches nothing (qemu/README.md "Setup").
#
# Cache folder: $RAFABRIC_QEMU_CACHE, default /var/cache/rafabric-qemu (outside the checkout, because
# `npm ci` / node-gyp rebuild wipe build/). Layout:
#   debs/          downloaded .deb files
#   kernel/        dpkg-deb -x of linux-image-6.12.*-amd64 (boot/vmlinuz-*, lib/modules/*)
#   busybox/       dpkg-deb -x of busybox-static
#   initramfs.cpio.gz, initramfs.stamp (sha256 of the inputs it was built from)
set -euo pipefail

CACHE=${RAFABRIC_QEMU_CACHE:-/var/cache/rafabric-qemu}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BACKPORTS_LIST=/etc/apt/sources.list.d/bookworm-backports.list
# Modules the initramfs loads itself to reach the host root (9p over virtio) and overlay it.
INITRAMFS_MODULES="kernel/fs/netfs/netfs kernel/net/9p/9pnet kernel/net/9p/9pnet_virtio kernel/fs/9p/9p kernel/fs/overlayfs/overlay"

say() { echo "qemu/setup.sh: $*"; }
die() { echo "qemu/setup.sh: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs packages with apt-get)"
[ "$(dpkg --print-architecture)" = amd64 ] || die "only x86-64 (amd64) hosts are supported"
grep -q 'VERSION_CODENAME=bookworm' /etc/os-release || die "needs Debian 12 (bookworm): QEMU 10 comes from bookworm-backports"

apt_updated=0
apt_update_once() {
	if [ "$apt_updated" = 0 ]; then
		say "apt-get update"
		apt-get update -qq
		apt_updated=1
	fi
}

# 1. bookworm-backports, for QEMU 10 and the 6.12 kernel.
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	say "adding $BACKPORTS_LIST"
	echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$BACKPORTS_LIST"
fi

# 2. Host packages. QEMU must be 10.x: CXL type-3 volatile devices and the options qemu/README.md uses.
qemu_major() { qemu-system-x86_64 --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\).*/\1/p'; }
if [ "$(qemu_major)" != 10 ]; then
	apt_update_once
	say "installing qemu-system-x86 from bookworm-backports"
	DEBIAN_FRONTEND=noninteractive apt-get -y -qq -t bookworm-backports install --no-install-recommends qemu-system-x86
	[ "$(qemu_major)" = 10 ] || die "qemu-system-x86_64 is not version 10 after installing: $(qemu-system-x86_64 --version | head -1)"
fi
missing=""
for p in ndctl daxctl kmod; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"; done
if [ -n "$missing" ]; then
	apt_update_once
	say "installing$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get -y -qq install --no-install-recommends $missing
fi

# 3. Guest kernel and busybox-static: downloaded and extracted, never installed.
mkdir -p "$CACHE/debs"
# apt-get download drops privileges to _apt when it can write the target folder (else it warns).
id _apt >/dev/null 2>&1 && chown _apt "$CACHE/debs"
extract() { # extract NAME PACKAGE-GLOB TARGET-DIR CHECK-PATH
	local name=$1 glob=$2 dir=$3 check=$4
	[ -e "$dir/$check" ] && return 0
	local deb
	deb=$(ls "$CACHE"/debs/$glob 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		apt_update_once
		local pkg=$name
		if [ "$name" = kernel ]; then
			pkg=$(apt-cache depends -t bookworm-backports linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-6\.12[^ ]*\)/\1/p' | head -1)
			[ -n "$pkg" ] || die "no linux-image-6.12 package in bookworm-backports (apt-cache depends linux-image-amd64)"
		fi
		say "downloading $pkg"
		(cd "$CACHE/debs" && apt-get download -qq "$pkg")
		deb=$(ls "$CACHE"/debs/$glob | head -1)
	fi
	say "extracting $(basename "$deb")"
	rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
	dpkg-deb -x "$deb" "$dir.tmp"
	rm -rf "$dir" && mv "$dir.tmp" "$dir"
}
extract kernel 'linux-image-6.12*.deb' "$CACHE/kernel" boot
extract busybox-static 'busybox-static_*.deb' "$CACHE/busybox" bin/busybox
KVER=$(ls "$CACHE/kernel/lib/modules")
[ -f "$CACHE/kernel/lib/modules/$KVER/modules.dep" ] || { say "depmod $KVER"; depmod -b "$CACHE/kernel" "$KVER"; }

# 4. Initramfs: busybox + the 9p/overlay modules + qemu/guest/init.sh as /init. Rebuilt only when
# one of its inputs changed (the init script is project code and changes with it).
BB=$CACHE/busybox/bin/busybox
stamp=$(cat "$HERE/guest/init.sh" "$BB" "$HERE/setup.sh" | sha256sum | cut -d' ' -f1)-$KVER
if [ "$(cat "$CACHE/initramfs.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -f "$CACHE/initramfs.cpio.gz" ]; then
	say "building the initramfs"
	W=$(mktemp -d "$CACHE/initramfs.XXXXXX")
	mkdir -p "$W"/{bin,bb,dev,proc,sys,lower,upper,newroot,mod}
	cp "$BB" "$W/bin/busybox"
	cp "$BB" "$W/bb/busybox" # copied into the guest root as /opt/bb (modprobe, cpio, ...)
	for a in $("$BB" --list); do [ "$a" = busybox ] || ln -s busybox "$W/bb/$a"; done
	for m in $INITRAMFS_MODULES; do xz -dc "$CACHE/kernel/lib/modules/$KVER/$m.ko.xz" >"$W/mod/$(basename "$m").ko"; done
	install -m 0755 "$HERE/guest/init.sh" "$W/init"
	(cd "$W" && find . | "$BB" cpio -o -H newc 2>/dev/null) | gzip -1 >"$CACHE/initramfs.cpio.gz.tmp"
	mv "$CACHE/initramfs.cpio.gz.tmp" "$CACHE/initramfs.cpio.gz"
	rm -rf "$W"
	echo "$stamp" >"$CACHE/initramfs.stamp"
fi

say "ready: $(qemu-system-x86_64 --version | head -1), guest kernel $KVER, cache $CACHE"
