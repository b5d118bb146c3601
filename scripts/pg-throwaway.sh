# Sourced by scripts/test: starts a throwaway PostgreSQL server on 127.0.0.1 in a temporary
# folder (no Docker here), exports TEST_POSTGRES_URL, and stops and removes it when the
# calling shell exits, also on failure. Installs Debian's postgresql when it is missing.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "== installing PostgreSQL (Debian package postgresql)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGTMP=$(mktemp -d /tmp/ocreg-pg.XXXXXX)
PGPORT=${PGPORT:-55432}
while (echo >/dev/tcp/127.0.0.1/"$PGPORT") 2>/dev/null; do PGPORT=$((PGPORT + 1)); done
if [ "$(id -u)" = 0 ]; then
  chown postgres:postgres "$PGTMP"
  PG_AS=(runuser -u postgres --)   # initdb refuses to run as root
else
  PG_AS=()
fi
"${PG_AS[@]}" "$PGBIN/initdb" -D "$PGTMP/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
  --no-sync >"$PGTMP/initdb.log"
"${PG_AS[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/pg.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGTMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c timezone=UTC -c max_connections=300" \
  start >/dev/null
pg_stop() {
  "${PG_AS[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGTMP"
}
trap pg_stop EXIT
"$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U postgres -c "CREATE DATABASE ocreg_test"
export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PGPORT/ocreg_test"
echo "== throwaway PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT"
