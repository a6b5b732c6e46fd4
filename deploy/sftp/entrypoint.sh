#!/bin/sh
# Installs the mounted host key and authorised key with the ownership sshd insists on, lays out the
# creditor's folders (the chroot itself must be root-owned), then runs sshd in the foreground.
set -eu
keys=/run/sftp-keys
install -m 0600 -o root -g root "$keys/ssh_host_ed25519_key" /etc/ssh/ssh_host_ed25519_key
install -m 0644 -o root -g root "$keys/authorized_keys" /etc/ssh/authorized_keys/veilgate
root=/srv/sftp/veilgate
install -d -m 0755 -o root -g root /srv/sftp "$root"
for dir in outbound outbound/placements outbound/recalls outbound/updates; do
  install -d -m 0750 -o veilgate -g veilgate "$root/$dir"
done
exec /usr/sbin/sshd -D -e
