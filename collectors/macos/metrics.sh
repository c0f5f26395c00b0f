# rmm metric collector for macOS, after collectors/posix/metrics-common.sh. macOS has no /proc:
# read-only sysctl, vm_stat, top, df, ps and launchctl list. Written from those commands'
# documented output; no Mac runs it in this repository's tests.

echo '#rmm-metrics 1'
refuse_unknown 'cpu.percent memory.used_percent disk.used_percent disk.free_bytes load.1m uptime.seconds service.running process.count' macOS

# cpu.percent: top's second sample covers the last second (its first is the average since boot).
if wants cpu.percent; then
  top -l 2 -n 0 -s 1 2>/dev/null | awk '/^CPU usage:/ { line = $0 }
    END {
      if (match(line, /[0-9.]+% idle/)) printf "cpu.percent\t\t%.2f\n", 100 - substr(line, RSTART, RLENGTH - 6)
      else print "!\tcpu.percent\t\ttop printed no CPU usage line"
    }'
fi

# memory.used_percent: app, wired and compressed pages over the physical memory, as Activity
# Monitor's "Memory Used" counts them.
if wants memory.used_percent; then
  { sysctl -n hw.memsize; vm_stat; } 2>/dev/null | awk '
    NR == 1 { total = $1; next }
    /page size of/ { for (i = 1; i <= NF; i++) if ($i == "of") page = $(i + 1) }
    /^Anonymous pages:/ { anon = $3 }
    /^Pages purgeable:/ { purgeable = $3 }
    /^Pages wired down:/ { wired = $4 }
    /^Pages occupied by compressor:/ { compressed = $5 }
    END {
      used = (anon - purgeable + wired + compressed) * page
      if (total > 0 && page > 0) printf "memory.used_percent\t\t%.2f\n", used * 100 / total
      else print "!\tmemory.used_percent\t\tno hw.memsize or vm_stat page size"
    }'
fi

if wants load.1m; then
  sysctl -n vm.loadavg 2>/dev/null | awk '{ printf "load.1m\t\t%s\n", $2 }'
fi
if wants uptime.seconds; then
  # kern.boottime: { sec = 1712345678, usec = 123456 } Fri Apr  5 ...
  sysctl -n kern.boottime 2>/dev/null | awk -v now="$(date +%s)" '{ gsub(",", ""); printf "uptime.seconds\t\t%d\n", now - $4 }'
fi

collect_disks
collect_processes ucomm 16

# service.running: a launchd job (by its label) that has a PID.
if wants service.running; then
  instances_of service.running | while IFS= read -r name; do
    if launchctl list -- "$name" 2>/dev/null | grep -q '"PID" = '; then
      sample service.running "name=$name" 1
    else
      sample service.running "name=$name" 0
    fi
  done
fi
echo '#end'
