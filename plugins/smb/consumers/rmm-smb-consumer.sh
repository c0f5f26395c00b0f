#!/bin/sh
# rmm's SMB queue consumer for Linux and macOS (POSIX sh; needs openssl). It takes the jobs the
# console put in the share's queue/, runs each at most once, and leaves results/<id>.json for the
# console to collect. Run every minute by cron or a systemd timer (rmm smb enroll writes both):
#   rmm-smb-consumer.sh --share DIR --state DIR --device NAME --key PUBLIC_KEY.pem
# --state is private to this host (never on the share): the executed-id record lives there, so
# whoever can write to the share cannot make a job run twice. Formats: docs/smb.md.
set -u
umask 077
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
VERSION=1
OUTPUT_CAP=262144
MAX_JOB_BYTES=1048576
MAX_JOBS=100
share=
state=
device=
key=
while [ $# -gt 1 ]; do
  case $1 in
    --share) share=$2 ;;
    --state) state=$2 ;;
    --device) device=$2 ;;
    --key) key=$2 ;;
    --max-jobs) MAX_JOBS=$2 ;;
    *) echo "rmm-smb-consumer: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
if [ -z "$share" ] || [ -z "$state" ] || [ -z "$device" ] || [ -z "$key" ] || [ $# -ne 0 ]; then
  echo "usage: rmm-smb-consumer.sh --share DIR --state DIR --device NAME --key PUBLIC_KEY.pem" >&2
  exit 2
fi
[ -r "$key" ] || { echo "rmm-smb-consumer: cannot read the public key $key" >&2; exit 2; }
mkdir -p "$state/done" "$share/queue" "$share/results" "$share/claimed" || exit 2

# One run at a time: a lock folder holding the owner's pid; a dead owner's lock is taken over.
lock="$state/lock"
if ! mkdir "$lock" 2>/dev/null; then
  owner=$(cat "$lock/pid" 2>/dev/null)
  if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then exit 0; fi
  rm -rf "$lock"
  mkdir "$lock" 2>/dev/null || exit 0
fi
echo $$ > "$lock/pid"
work="$lock/work"
mkdir "$work"
trap 'rm -rf "$lock"' EXIT
trap 'exit 1' INT TERM HUP

now_iso() { date -u +%Y-%m-%dT%H:%M:%SZ; }
size_of() { wc -c < "$1" | tr -d ' '; }
is_uuid() {
  printf '%s' "$1" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
}
# The first OUTPUT_CAP bytes as base64 (one line), and how many bytes were left out.
capped_b64() { head -c "$OUTPUT_CAP" "$1" | openssl base64 -A; }
dropped() {
  n=$(size_of "$1")
  if [ "$n" -gt "$OUTPUT_CAP" ]; then echo $((n - OUTPUT_CAP)); else echo 0; fi
}

heartbeat() {
  printf '{"v":1,"at":"%s","device":"%s","consumer":"sh","version":"%s"}\n' \
    "$(now_iso)" "$device" "$VERSION" > "$share/.heartbeat.tmp" && mv -f "$share/.heartbeat.tmp" "$share/heartbeat"
}

# write_result ID STATUS EXIT_CODE|- ERROR|- STARTED_EPOCH [STDOUT_FILE STDERR_FILE]
# A result not collected yet is never replaced: a replayed or forged job cannot hide a real result.
write_result() {
  target="$share/results/$1.json"
  [ -e "$target" ] && return 0
  finished=$(date +%s)
  fields="\"v\":1,\"actionId\":\"$1\",\"status\":\"$2\""
  [ "$3" = - ] || fields="$fields,\"exitCode\":$3"
  [ "$4" = - ] || fields="$fields,\"error\":\"$4\""
  if [ $# -ge 7 ]; then
    fields="$fields,\"stdoutBase64\":\"$(capped_b64 "$6")\",\"stdoutDropped\":$(dropped "$6")"
    fields="$fields,\"stderrBase64\":\"$(capped_b64 "$7")\",\"stderrDropped\":$(dropped "$7")"
  fi
  fields="$fields,\"at\":\"$(now_iso)\",\"durationMs\":$(((finished - $5) * 1000))"
  printf '{%s}\n' "$fields" > "$share/results/.$1.tmp" && mv -f "$share/results/.$1.tmp" "$target"
}

# A run killed while a job ran left its record `started`: that job is reported, never run again.
for record in "$state"/done/*; do
  [ -f "$record" ] || continue
  read -r phase expires < "$record" || true
  id=${record##*/}
  if [ "$phase" = started ]; then
    write_result "$id" Failed - "the consumer stopped while this ran; it may or may not have completed" "$(date +%s)"
    echo "finished $expires" > "$record"
  elif [ -n "${expires:-}" ] && [ "$(date +%s)" -gt $((expires + 3600)) ]; then
    # Past its expiry a job is refused anyway, so its record is no longer needed.
    rm -f "$record"
  fi
done

# field NAME: a value of the verified payload, which the console writes one key per line.
# No value holds a comma or a quote: the command is base64, the rest names, numbers and times.
field() { sed -n "s/^\"$1\":\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$work/payload"; }

run_job() {
  id=$1
  started=$(date +%s)
  rm -f "$work"/*
  cp "$share/claimed/$id.job" "$work/job" 2>/dev/null && rm -f "$share/claimed/$id.job"
  envelope='^{"v":1,"alg":"RSA-SHA256","payload":"\([A-Za-z0-9+/=]*\)","signature":"\([A-Za-z0-9+/=]*\)"}$'
  if [ ! -f "$work/job" ] || [ "$(size_of "$work/job")" -gt "$MAX_JOB_BYTES" ] || [ "$(wc -l < "$work/job")" -gt 1 ]; then
    write_result "$id" Failed - "refused: not a job file" "$started"; return
  fi
  sed -n "s/$envelope/\\1/p" "$work/job" | openssl base64 -d -A > "$work/payload" 2>/dev/null
  sed -n "s/$envelope/\\2/p" "$work/job" | openssl base64 -d -A > "$work/signature" 2>/dev/null
  if [ ! -s "$work/payload" ] || [ ! -s "$work/signature" ] ||
    ! openssl dgst -sha256 -verify "$key" -signature "$work/signature" "$work/payload" > /dev/null 2>&1; then
    write_result "$id" Failed - "refused: the signature does not verify (unsigned or tampered job)" "$started"; return
  fi
  if [ "$(field v)" != 1 ] || [ "$(field actionId)" != "$id" ]; then
    write_result "$id" Failed - "refused: the job's contents do not match its name" "$started"; return
  fi
  if [ "$(field device)" != "$device" ]; then
    write_result "$id" Failed - "refused: the job is for another device" "$started"; return
  fi
  if [ -e "$state/done/$id" ]; then
    write_result "$id" Failed - "refused: this job was executed already (a replay)" "$started"; return
  fi
  expires=$(field expiresEpoch)
  if [ "$(date +%s)" -gt "$expires" ]; then
    echo "finished $expires" > "$state/done/$id"
    write_result "$id" Expired - "refused: the job expired before it started" "$started"; return
  fi
  if [ "$(field powershell)" = true ]; then
    echo "finished $expires" > "$state/done/$id"
    write_result "$id" Failed - "refused: this consumer runs no PowerShell" "$started"; return
  fi
  field commandBase64 | openssl base64 -d -A > "$work/command"
  # Recorded before it runs: a consumer killed from here on never runs this job again.
  echo "started $expires" > "$state/done/$id"
  (cd / && exec sh "$work/command" < /dev/null > "$work/stdout" 2> "$work/stderr") &
  pid=$!
  timeout=$(field timeoutSeconds)
  (sleep "$timeout" && : > "$work/timed-out" && kill -TERM "$pid" 2>/dev/null && sleep 5 && kill -KILL "$pid" 2>/dev/null) > /dev/null 2>&1 &
  watchdog=$!
  wait "$pid"
  code=$?
  kill "$watchdog" 2>/dev/null
  if [ -e "$work/timed-out" ]; then status=TimedOut; elif [ "$code" -eq 0 ]; then status=Succeeded; else status=Failed; fi
  write_result "$id" "$status" "$code" - "$started" "$work/stdout" "$work/stderr"
  echo "finished $expires" > "$state/done/$id"
}

heartbeat
count=0
for job in "$share"/queue/*.job; do
  [ "$count" -lt "$MAX_JOBS" ] || break
  [ -e "$job" ] || [ -L "$job" ] || continue
  count=$((count + 1))
  name=${job##*/}
  id=${name%.job}
  if ! is_uuid "$id" || [ -L "$job" ] || [ ! -f "$job" ]; then
    echo "rmm-smb-consumer: removed $name: not a job (a job is a regular file named <uuid>.job)" >&2
    rm -f "$job"
    continue
  fi
  # Taken out of queue/ first: the console's cancel (a delete in queue/) then finds it gone, too late.
  mv -f "$job" "$share/claimed/$name" 2>/dev/null || continue
  run_job "$id"
done
heartbeat
