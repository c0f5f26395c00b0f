# rmm metric collector for Linux, after collectors/posix/metrics-common.sh. Read-only: /proc,
# df, ps, systemctl is-active, /var/run/reboot-required.

echo '#rmm-metrics 1'
refuse_unknown 'cpu.percent memory.used_percent disk.used_percent disk.free_bytes load.1m uptime.seconds service.running process.count reboot.pending' Linux

# CPU busy and total jiffies since boot (guest time is already in user and nice).
cpu_ticks() {
  awk '/^cpu / { total = 0; for (i = 2; i <= 9; i++) total += $i; print total - $5 - $6, total; exit }' /proc/stat
}
# cpu.percent is the busy share over one second; the other metrics are read meanwhile.
if wants cpu.percent; then
  cpu_before=$(cpu_ticks)
  sleep 1 &
  cpu_pause=$!
fi

if wants memory.used_percent; then
  awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2; have = 1 }
    END {
      if (t > 0 && have) printf "memory.used_percent\t\t%.2f\n", (t - a) * 100 / t
      else print "!\tmemory.used_percent\t\tno MemTotal and MemAvailable in /proc/meminfo"
    }' /proc/meminfo
fi
if wants load.1m; then awk '{ printf "load.1m\t\t%s\n", $1 }' /proc/loadavg; fi
if wants uptime.seconds; then awk '{ printf "uptime.seconds\t\t%s\n", $1 }' /proc/uptime; fi

collect_disks
collect_processes comm 15

if wants service.running; then
  instances_of service.running | while IFS= read -r name; do
    if [ ! -d /run/systemd/system ]; then
      unread service.running "name=$name" 'this device does not run systemd'
    elif systemctl is-active --quiet -- "$name" 2>/dev/null; then
      sample service.running "name=$name" 1
    else
      sample service.running "name=$name" 0
    fi
  done
fi

if wants reboot.pending; then
  if [ -e /var/run/reboot-required ]; then
    sample reboot.pending '' 1
  elif [ -e /etc/debian_version ]; then
    sample reboot.pending '' 0
  else
    unread reboot.pending '' 'only Debian and Ubuntu say (/var/run/reboot-required)'
  fi
fi

if [ -n "${cpu_pause:-}" ]; then
  wait "$cpu_pause"
  printf '%s %s\n' "$cpu_before" "$(cpu_ticks)" | awk '{
    if ($4 > $2) printf "cpu.percent\t\t%.2f\n", ($3 - $1) * 100 / ($4 - $2)
    else print "!\tcpu.percent\t\tno CPU time passed"
  }'
fi
echo '#end'
