#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster for the tests.
#   pg-cluster.sh start DIR   → initdb into DIR (owned by the postgres user: the server refuses
#                               to run as root), start it on a free loopback port, create the role
#                               and database "portcullis", print the URL on stdout.
#                               DIR/ca.pem verifies the server's certificate (localhost, 127.0.0.1).
#   pg-cluster.sh stop DIR    → stop it and remove DIR.
set -euo pipefail
action="$1"; dir="$2"
bin="${PG_BIN:-}"
if [ -z "$bin" ]; then
  if command -v pg_ctl >/dev/null 2>&1; then bin="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
  else bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"; fi
fi
[ -x "$bin/initdb" ] || { echo "pg-cluster: no PostgreSQL binaries (initdb) found" >&2; exit 3; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$action" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1
    # TLS with a throwaway CA, so tests can show verify-full passing and a wrong CA failing.
    (
      cd "$dir"
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=portcullis-test-ca \
        -keyout ca.key -out ca.pem >/dev/null 2>&1
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
        -keyout data/server.key -out server.csr >/dev/null 2>&1
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.ext
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext \
        -out data/server.crt >/dev/null 2>&1
      chmod 600 data/server.key
      [ "$(id -u)" -eq 0 ] && chown postgres: data/server.key data/server.crt
      chmod 644 ca.pem
    )
    port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
    # Password authentication over TCP (so tests can show a wrong password's message); trust on
    # the Unix socket for setting up.
    cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host  all postgres 127.0.0.1/32 trust
host  all all 127.0.0.1/32 scram-sha-256
HBA
    # In the configuration file rather than on the command line, so that a plain `pg_ctl start`
    # (tests that stop and start the server) brings it back the same.
    cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
ssl = on
CONF
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
    as_pg "$bin/psql" -h "$dir" -p "$port" -U postgres -q -v ON_ERROR_STOP=1 \
      -c "CREATE ROLE portcullis LOGIN CREATEDB CREATEROLE PASSWORD 'pcl-test-pw'" \
      -c "CREATE DATABASE portcullis OWNER portcullis" \
      -c "GRANT pg_signal_backend TO portcullis" >/dev/null
    echo "$port" >"$dir/port"
    echo "postgres://portcullis:pcl-test-pw@127.0.0.1:$port/portcullis"
    ;;
  stop)
    if [ -d "$dir/data" ]; then as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
  *) echo "usage: pg-cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
