#!/usr/bin/env bash
# `make run`: migrate, load the demo data (idempotent), then the web server, a Celery worker and
# beat in the foreground of one terminal. Ctrl-C stops all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
# Links in notices point at the portal this server answers on, unless set explicitly.
export PORTAL_BASE_URL=${PORTAL_BASE_URL:-http://$HOST:$PORT}
mkdir -p var/mail var/sms var/uploads var/broker/out var/broker/processed var/broker/control
chmod 0700 var/mail var/sms var/uploads  # one-time codes, phone numbers, evidence

$PY manage.py migrate --noinput
$PY manage.py seed_demo

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "Stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

.venv/bin/celery -A backoffice worker --loglevel=INFO --concurrency=2 --without-gossip --without-mingle &
pids+=($!)
.venv/bin/celery -A backoffice beat --loglevel=INFO --schedule var/celerybeat-schedule &
pids+=($!)
$PY manage.py runserver "$HOST:$PORT" --noreload &
pids+=($!)

sleep 2
cat <<MSG

  Portal:    http://$HOST:$PORT/portal/          (alice / alice-demo-pass, bob / bob-demo-pass)
  Admin:     http://$HOST:$PORT/admin/           (agent, reviewer, manager, risk, auditor;
                                                  password <username>-demo-pass, TOTP from the
                                                  otpauth lines printed above)
  API docs:  http://$HOST:$PORT/api/docs/
  Health:    http://$HOST:$PORT/healthz
  Mail and SMS sent in development land in var/mail/ and var/sms/.
  Ctrl-C stops the web server, the worker and beat.

MSG
wait -n "${pids[@]}"
