#!/bin/busybox sh
# qemu/guest/init.sh - PID 1 of the guest initramfs (built by qemu/setup.sh).
#
# The guest has no disk: the host's root is mounted read-only over virtio-9p (tag "hostroot") with a
# tmpfs overlay on top, so the guest runs the host's own node and the checkout's dist/ and addon.
# Kernel command line (set by the launcher, src/modes/qemu/command-line.ts):
#   rafabric.modules=DIR  host folder with the guest kernel's lib/modules (bind-mounted on /lib/modules)
#   rafabric.share=DIR    host folder shared read-write (tag "share"), mounted at the same path
#   rafabric.script=FILE  host path of a shell script to run; its exit status is printed, then the
#                         VM powers off. Without it, an interactive shell on the console.
# Lines starting with "rafabric-guest:" are the init's own progress marks in the serial log.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mark() { echo "rafabric-guest: $* uptime=$(cut -d' ' -f1 /proc/uptime)" >/dev/console; }
fatal() { mark "FATAL $*"; echo o >/proc/sysrq-trigger; sleep 5; }
arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
mark "init start"

for m in netfs 9pnet 9pnet_virtio 9p overlay; do insmod /mod/$m.ko || fatal "insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower || fatal "9p mount of the host root failed"
mount -t tmpfs -o size=1G,mode=0755 upper /upper
mkdir -p /upper/u /upper/w
mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w overlay /newroot || fatal "overlay mount failed"
R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs shm $R/dev/shm
mount -t tmpfs run $R/run
# /tmp stays the overlay's (host /tmp read-only below, the tmpfs upper above): a checkout under the
# host's /tmp (a CI clone) must stay visible to the guest.

MODULES=$(arg rafabric.modules)
[ -n "$MODULES" ] && [ -d "$R$MODULES" ] || fatal "rafabric.modules names no folder on the host: '$MODULES'"
mkdir -p $R/lib/modules
mount --bind "$R$MODULES" $R/lib/modules
SHARE=$(arg rafabric.share)
if [ -n "$SHARE" ]; then
	mkdir -p "$R$SHARE" # under the guest's own /tmp, say, it does not exist yet
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share "$R$SHARE" || fatal "9p mount of the share at $SHARE failed"
fi
# The host may have no kmod: busybox modprobe does the job (it skips soft dependencies, so callers
# load every module they need by name).
cp -a /bb $R/opt/bb
echo /opt/bb/modprobe >/proc/sys/kernel/modprobe
# No udev: name the virtio-serial ports as udev would.
mkdir -p $R/dev/virtio-ports
for v in /sys/class/virtio-ports/*; do
	[ -e "$v/name" ] && ln -sf "../$(basename "$v")" "$R/dev/virtio-ports/$(cat "$v/name")"
done

SCRIPT=$(arg rafabric.script)
ENV="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/bb HOME=/root TERM=dumb"
mark "switching root script=$SCRIPT"
if [ -n "$SCRIPT" ]; then
	exec switch_root $R /bin/sh -c "export $ENV; cd /; /bin/sh $SCRIPT </dev/console >/dev/console 2>&1; echo \"rafabric-guest: script rc=\$? uptime=\$(cut -d' ' -f1 /proc/uptime)\" >/dev/console; sync; echo o >/proc/sysrq-trigger; sleep 5"
fi
exec switch_root $R /bin/sh -c "export $ENV; exec setsid /opt/bb/cttyhack /bin/sh -i"
