#!/bin/sh
# Makes what deploy/docker-compose.yml mounts and must never be committed, in deploy/.local/ and
# deploy/.env (both git-ignored by deploy/.gitignore):
#   .local/tls/tls.{crt,key}           self-signed certificate for the gateway's HTTPS API
#   .local/sftp-client/id_ed25519      the gateway's SSH key for the demo creditor's SFTP server
#   .local/sftp-server/*               that server's host key and the gateway's authorised public key
#   .env                               POSTGRES_PASSWORD and SFTP_HOST_KEY_SHA256 (the pinned fingerprint)
# Runs once; delete deploy/.local and deploy/.env to start over. Needs openssl and ssh-keygen.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
local_dir="$here/.local"
if [ -e "$here/.env" ]; then
  echo "deploy/.env exists; delete deploy/.env and deploy/.local to make new ones" >&2
  exit 1
fi
umask 077
mkdir -p "$local_dir/tls" "$local_dir/sftp-client" "$local_dir/sftp-server"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
  -subj "/CN=veilgate" -addext "subjectAltName=DNS:veilgate,DNS:gateway-1,DNS:gateway-2,DNS:localhost,IP:127.0.0.1" \
  -keyout "$local_dir/tls/tls.key" -out "$local_dir/tls/tls.crt" 2>/dev/null

ssh-keygen -q -t ed25519 -N '' -C veilgate-demo -f "$local_dir/sftp-client/id_ed25519"
cp "$local_dir/sftp-client/id_ed25519.pub" "$local_dir/sftp-server/authorized_keys"
ssh-keygen -q -t ed25519 -N '' -C demo-sftp-host -f "$local_dir/sftp-server/ssh_host_ed25519_key"
fingerprint=$(ssh-keygen -lf "$local_dir/sftp-server/ssh_host_ed25519_key.pub" | awk '{print $2}')

# The gateway runs as uid 1000, and bind mounts keep this host's owner: demo files are made readable.
# (In Kubernetes, Secret volumes get defaultMode 0440 and the pod's fsGroup instead.)
chmod 0755 "$local_dir" "$local_dir/tls" "$local_dir/sftp-client" "$local_dir/sftp-server"
chmod 0644 "$local_dir/tls/tls.key" "$local_dir/tls/tls.crt" "$local_dir/sftp-client/id_ed25519" "$local_dir/sftp-client/id_ed25519.pub"

password=$(openssl rand -hex 24)
printf 'POSTGRES_PASSWORD=%s\nSFTP_HOST_KEY_SHA256=%s\n' "$password" "$fingerprint" > "$here/.env"
echo "made deploy/.local and deploy/.env; the demo SFTP host key is $fingerprint"
