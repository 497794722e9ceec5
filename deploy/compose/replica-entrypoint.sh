#!/bin/bash
# The streaming replica: a base backup of the primary on first start, then a hot standby.
set -euo pipefail
export PGDATA=/var/lib/postgresql/data/pgdata
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h primary -U replicator; do sleep 1; done
  pg_basebackup -h primary -U replicator -D "$PGDATA" -R -X stream -c fast -w
  echo "recovery_min_apply_delay = '${REPLICA_APPLY_DELAY}s'" >> "$PGDATA/postgresql.auto.conf"
  chmod 700 "$PGDATA"
fi
exec postgres -D "$PGDATA" -c hot_standby=on -c hot_standby_feedback=on
