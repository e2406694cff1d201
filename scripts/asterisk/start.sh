#!/bin/sh
# Starts a real Asterisk 22 from a Debian-unstable tree (made once with
#   debootstrap --variant=minbase --include=asterisk,asterisk-modules sid TREE http://deb.debian.org/debian
# ) with this directory's config: app_queue, pbx_config, Local channels and the AMI on
# 127.0.0.1:15038 only. Prints the pid of the asterisk process; stop it with kill PID.
# Usage: start.sh TREE
set -eu
TREE=$1
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$TREE/opt/fw/etc" "$TREE/opt/fw/lib" "$TREE/opt/fw/db" "$TREE/opt/fw/spool" "$TREE/opt/fw/run" "$TREE/opt/fw/log"
cp "$HERE"/etc/* "$TREE/opt/fw/etc/"
mountpoint -q "$TREE/proc" || mount -t proc proc "$TREE/proc"
mountpoint -q "$TREE/dev" || mount --bind /dev "$TREE/dev"
chroot "$TREE" /usr/sbin/asterisk -C /opt/fw/etc/asterisk.conf -f -U root >"$TREE/opt/fw/log/console.out" 2>&1 &
PID=$!
for _ in $(seq 1 50); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', 15038), timeout=1)" 2>/dev/null; then
        echo "$PID"
        exit 0
    fi
    sleep 0.2
done
echo "asterisk did not open 127.0.0.1:15038; see $TREE/opt/fw/log/" >&2
kill "$PID" 2>/dev/null || true
exit 1
