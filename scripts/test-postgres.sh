#!/usr/bin/env bash
# Start the machine's PostgreSQL cluster and create the test role and
# database; prints the SQLAlchemy URL for BACKROOM_TEST_PG_URL. Exits 1
# without a URL when PostgreSQL cannot be started here.
set -euo pipefail

command -v pg_lsclusters >/dev/null || exit 1
cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
[[ -n "$cluster" ]] || exit 1
read -r version name <<<"$cluster"
if [[ "$(pg_lsclusters --no-header | awk 'NR==1 {print $4}')" != online* ]]; then
  pg_ctlcluster "$version" "$name" start >&2
fi
port=$(pg_lsclusters --no-header | awk 'NR==1 {print $3}')
as_postgres() { if [[ $(id -u) -eq 0 ]]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }
[[ "$(as_postgres "psql -p $port -tAc \"SELECT 1 FROM pg_roles WHERE rolname='backroom'\"")" == 1 ]] ||
  as_postgres "psql -p $port -qc \"CREATE ROLE backroom LOGIN PASSWORD 'backroom' CREATEDB\"" >&2
echo "postgresql+psycopg://backroom:backroom@127.0.0.1:$port/postgres"
