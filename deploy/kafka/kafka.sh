#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, broker+controller) on loopback, without Docker.
#
#   deploy/kafka/kafka.sh fetch    resolve the broker jars from Maven Central (cached)
#   deploy/kafka/kafka.sh start    fetch if needed, format storage once, start, wait until ready
#   deploy/kafka/kafka.sh stop     stop the broker (SIGTERM, then SIGKILL after a grace period)
#   deploy/kafka/kafka.sh status   exit 0 when the broker answers on its port
#   deploy/kafka/kafka.sh reset    stop and delete the broker's data (topics, offsets)
#
# All state lives under $CHURNWATCH_LOCAL_DIR/kafka (default .local/kafka, git-ignored):
# lib/ (jars), data/ (log dirs), logs/ (server.log), server.properties, broker.pid.
#
# An extra SASL_SSL listener (for the Kafka security tests: a private broker, never the shared
# one) is added when CHURNWATCH_KAFKA_SASL_SSL_PORT is set, with
#   CHURNWATCH_KAFKA_SSL_KEYSTORE                PKCS12 keystore: the broker's key and certificate
#   CHURNWATCH_KAFKA_SSL_KEYSTORE_PASSWORD_FILE  its password
#   CHURNWATCH_KAFKA_SASL_USERS_FILE             "user password" lines: each user gets SCRAM-SHA-256
#                                                and SCRAM-SHA-512 credentials (written into the KRaft
#                                                metadata at format time) and a PLAIN login (JAAS)
# Mechanisms PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; brokers talk to each other over PLAINTEXT.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
base="${CHURNWATCH_LOCAL_DIR:-$repo/.local}/kafka"
host="${CHURNWATCH_KAFKA_HOST:-127.0.0.1}"
port="${CHURNWATCH_KAFKA_PORT:-9092}"
controller_port="${CHURNWATCH_KAFKA_CONTROLLER_PORT:-9093}"
heap="${CHURNWATCH_KAFKA_HEAP:-768m}"
start_timeout="${CHURNWATCH_KAFKA_START_TIMEOUT:-90}"
sasl_ssl_port="${CHURNWATCH_KAFKA_SASL_SSL_PORT:-}"
lib="$base/lib"
pidfile="$base/broker.pid"
props="$base/server.properties"

log() { printf '[kafka] %s\n' "$*" >&2; }

kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml"; }

fetch() {
  local version stamp
  version="$(kafka_version)"
  stamp="$lib/.version"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
    return 0
  fi
  log "resolving org.apache.kafka:kafka_2.13:$version from Maven Central"
  rm -rf "$lib.tmp"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$lib.tmp" -DincludeScope=runtime
  rm -rf "$lib"
  mv "$lib.tmp" "$lib"
  echo "$version" >"$stamp"
  log "broker $version cached in $lib ($(ls "$lib" | wc -l) jars)"
}

jvm_opts() {
  # Same JVM flags as kafka-run-class.sh where they matter; heap capped for a 2-core test machine.
  printf '%s\n' -Xms128m "-Xmx$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$base/log4j2.properties" "-Dkafka.logs.dir=$base/logs" \
    -cp "$lib/*"
}

java_cmd() {
  local opts
  mapfile -t opts < <(jvm_opts)
  java "${opts[@]}" "$@"
}

sasl_users() {
  # "user password" lines; names and passwords must survive the JAAS and --add-scram syntaxes
  local user password
  while read -r user password; do
    [[ -z "$user" || "$user" == \#* ]] && continue
    if [[ ! "$user" =~ ^[A-Za-z0-9._-]+$ || ! "$password" =~ ^[A-Za-z0-9._~+/=-]+$ ]]; then
      log "$CHURNWATCH_KAFKA_SASL_USERS_FILE: user names and passwords may hold only letters, digits and ._~+/=-"
      exit 2
    fi
    printf '%s %s\n' "$user" "$password"
  done <"$CHURNWATCH_KAFKA_SASL_USERS_FILE"
}

secure_config() {
  # The SASL_SSL listener's settings (see the header); nothing when no port is set.
  [[ -n "$sasl_ssl_port" ]] || return 0
  local keystore="${CHURNWATCH_KAFKA_SSL_KEYSTORE:?a SASL_SSL listener needs CHURNWATCH_KAFKA_SSL_KEYSTORE}"
  local pwfile="${CHURNWATCH_KAFKA_SSL_KEYSTORE_PASSWORD_FILE:?a SASL_SSL listener needs CHURNWATCH_KAFKA_SSL_KEYSTORE_PASSWORD_FILE}"
  : "${CHURNWATCH_KAFKA_SASL_USERS_FILE:?a SASL_SSL listener needs CHURNWATCH_KAFKA_SASL_USERS_FILE}"
  local plain="" user password
  while read -r user password; do
    plain+=" user_$user=\"$password\""
  done < <(sasl_users)
  local prefix="listener.name.sasl_ssl"
  cat <<EOF
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
$prefix.ssl.keystore.type=PKCS12
$prefix.ssl.keystore.location=$keystore
$prefix.ssl.keystore.password=$(cat "$pwfile")
$prefix.ssl.key.password=$(cat "$pwfile")
$prefix.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$plain;
$prefix.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
$prefix.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
EOF
}

write_config() {
  mkdir -p "$base/data" "$base/logs"
  local listeners="PLAINTEXT://$host:$port,CONTROLLER://$host:$controller_port"
  local advertised="PLAINTEXT://$host:$port"
  local protocols="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
  if [[ -n "$sasl_ssl_port" ]]; then
    listeners+=",SASL_SSL://$host:$sasl_ssl_port"
    advertised+=",SASL_SSL://$host:$sasl_ssl_port"
    protocols+=",SASL_SSL:SASL_SSL"
  fi
  (umask 077 && : >"$props")  # may hold the keystore password: owner only
  cat >"$props" <<EOF
# Generated by deploy/kafka/kafka.sh; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$host:$controller_port
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$base/data
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=168
log.segment.bytes=268435456
num.network.threads=2
num.io.threads=4
EOF
  secure_config >>"$props"
  cat >"$base/log4j2.properties" <<EOF
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $base/logs/server.log
appender.file.filePattern = $base/logs/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
EOF
}

format_storage() {
  if [[ -f "$base/data/meta.properties" ]]; then
    return 0
  fi
  local cluster_id
  cluster_id="$(java_cmd kafka.tools.StorageTool random-uuid | tail -n 1)"
  log "formatting KRaft storage (cluster $cluster_id)"
  local scram=() user password
  if [[ -n "$sasl_ssl_port" ]]; then
    # SCRAM credentials live in the KRaft metadata: written once, when the storage is formatted
    while read -r user password; do
      scram+=(--add-scram "SCRAM-SHA-256=[name=$user,password=$password]")
      scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$password]")
    done < <(sasl_users)
  fi
  java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$props" -g "${scram[@]}" \
    >>"$base/logs/format.log" 2>&1
}

port_open() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

broker_ready() {
  # The port opening is not enough: wait until the broker logs that it has started.
  port_open && grep -q 'Kafka Server started' "$base/logs/server.log" 2>/dev/null
}

start() {
  if pid="$(running_pid)"; then
    log "already running (pid $pid) on $host:$port"
    return 0
  fi
  if port_open; then
    log "something else already listens on $host:$port; using it"
    return 0
  fi
  fetch
  write_config
  format_storage
  : >"$base/logs/server.log"
  local started=$SECONDS
  # setsid: the broker outlives the calling shell (make up) and ignores its Ctrl-C.
  local opts
  mapfile -t opts < <(jvm_opts)
  setsid java "${opts[@]}" kafka.Kafka "$props" >"$base/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  while ! broker_ready; do
    if ! running_pid >/dev/null; then
      log "broker exited during start-up; last lines of $base/logs:"
      tail -n 30 "$base/logs/stdout.log" "$base/logs/server.log" >&2 || true
      exit 1
    fi
    if ((SECONDS - started > start_timeout)); then
      log "broker not ready after ${start_timeout}s; see $base/logs"
      exit 1
    fi
    sleep 0.5
  done
  log "ready on $host:$port after $((SECONDS - started))s (pid $(cat "$pidfile"), logs in $base/logs)"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pidfile"
    log "not running"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "broker did not stop in 30s; killing"
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  log "stopped"
}

status() {
  if port_open; then
    log "up on $host:$port"
  else
    log "down"
    return 1
  fi
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  reset) stop; rm -rf "$base/data" "$base/logs"; log "data removed" ;;
  *) echo "usage: $0 fetch|start|stop|status|reset" >&2; exit 2 ;;
esac
