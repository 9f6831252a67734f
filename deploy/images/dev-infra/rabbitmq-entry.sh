#!/bin/sh
# Single-node RabbitMQ 3.10 for the dev overlay, as the image's non-root user.
# Writes its config to /tmp and runs the server script in the foreground (not
# /usr/sbin/rabbitmq-server, which switches to the `rabbitmq` user). On a fresh
# volume the node creates RABBITMQ_USER with RABBITMQ_PASSWORD (administrator;
# no guest account).
#   RABBITMQ_USER, RABBITMQ_PASSWORD   the account the services use (required)
#   RABBITMQ_AMQP_PORT (5672), RABBITMQ_MANAGEMENT_PORT (15672),
#   RABBITMQ_PROMETHEUS_PORT (15692), RABBITMQ_DIST_PORT (25672)
#   RABBITMQ_BIND_IP                   listen on this address only (default: all)
#   RABBITMQ_CONSUMER_TIMEOUT_MS       longer than the longest transcode (default 5 h)
#   RABBITMQ_NODENAME, RABBITMQ_MNESIA_BASE (on the volume; the Erlang cookie too)
set -eu
: "${RABBITMQ_USER:?set RABBITMQ_USER}" "${RABBITMQ_PASSWORD:?set RABBITMQ_PASSWORD}"
conf=/tmp/rabbitmq
mkdir -p "$conf"
chmod 700 "$conf"
umask 077
ip=${RABBITMQ_BIND_IP:-}
cat > "$conf/rabbitmq.conf" <<CONF
listeners.tcp.default = ${ip:+$ip:}${RABBITMQ_AMQP_PORT:-5672}
management.tcp.port = ${RABBITMQ_MANAGEMENT_PORT:-15672}
prometheus.tcp.port = ${RABBITMQ_PROMETHEUS_PORT:-15692}
${ip:+management.tcp.ip = $ip}
${ip:+prometheus.tcp.ip = $ip}
consumer_timeout = ${RABBITMQ_CONSUMER_TIMEOUT_MS:-18000000}
default_user = ${RABBITMQ_USER}
default_pass = ${RABBITMQ_PASSWORD}
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
loopback_users = none
log.console = true
log.console.level = info
log.file = false
CONF
echo "[rabbitmq_management,rabbitmq_prometheus]." > "$conf/enabled_plugins"
: > "$conf/rabbitmq-env.conf"
base=${RABBITMQ_MNESIA_BASE:-/var/lib/framegate/rabbitmq/mnesia}
mkdir -p "$base"
export RABBITMQ_CONFIG_FILE="$conf/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$conf/enabled_plugins" \
  RABBITMQ_CONF_ENV_FILE="$conf/rabbitmq-env.conf" RABBITMQ_ADVANCED_CONFIG_FILE="$conf/advanced.config" \
  RABBITMQ_LOG_BASE=/tmp/rabbitmq/log RABBITMQ_MNESIA_BASE="$base" \
  RABBITMQ_DIST_PORT="${RABBITMQ_DIST_PORT:-25672}" \
  HOME="$(dirname "$base")"  # the Erlang cookie lives here, beside the data
exec /usr/lib/rabbitmq/bin/rabbitmq-server
