#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1; start local ones that are installed but
# stopped; otherwise name the missing package and fail.
set -u

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }
wait_for() { for _ in $(seq 1 30); do "$1" && return 0; sleep 1; done; return 1; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "Starting the local PostgreSQL..."
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    wait_for pg_up || { echo "PostgreSQL did not start on 127.0.0.1:5432." >&2; exit 1; }
  else
    echo "PostgreSQL is not reachable on 127.0.0.1:5432 and is not installed." \
      "Install the Debian package 'postgresql' (trust auth for user postgres) or set TEST_DATABASE_URL." >&2
    exit 1
  fi
fi

if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "Starting the local Redis..."
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for redis_up || { echo "Redis did not start on 127.0.0.1:6379." >&2; exit 1; }
  else
    echo "Redis is not reachable on 127.0.0.1:6379 and is not installed." \
      "Install the Debian package 'redis-server'." >&2
    exit 1
  fi
fi
echo "PostgreSQL and Redis are up."
