# rmm metric collectors, the part Linux and macOS share (src/monitoring/collector-scripts.ts puts
# it before collectors/linux/metrics.sh or collectors/macos/metrics.sh and sends them as one
# command; src/monitoring/collector-output.ts reads what they print). Read-only.
#
# The request comes on stdin, one wanted metric a line: METRIC for every instance, or
# METRIC<TAB>INSTANCE. Names from the request are expanded only inside double quotes, after --,
# or read by awk from its environment: never evaluated, never parsed as options or patterns.
#
# Output: "#rmm-metrics 1", then one line per sample, METRIC<TAB>LABEL=VALUE or nothing<TAB>VALUE,
# "!<TAB>METRIC<TAB>LABELS<TAB>WHY" for what could not be read, and "#end" last.

export LC_ALL=C
tab=$(printf '\t')
nl='
'
wanted=''
while IFS= read -r line || [ -n "$line" ]; do wanted="$wanted$line$nl"; done

# True when the request names METRIC, for every instance or for some.
wants() {
  case "$nl$wanted" in *"$nl$1$nl"* | *"$nl$1$tab"*) return 0 ;; esac
  return 1
}

# The instances the request names for METRIC, one a line.
instances_of() {
  printf '%s' "$wanted" | while IFS= read -r line; do
    case "$line" in "$1$tab"*) printf '%s\n' "${line#*"$tab"}" ;; esac
  done
}

sample() { printf '%s\t%s\t%s\n' "$1" "$2" "$3"; }
unread() { printf '!\t%s\t%s\t%s\n' "$1" "$2" "$3"; }

# Every requested metric this OS does not collect gets one line saying so.
refuse_unknown() {
  printf '%s' "$wanted" | while IFS= read -r line; do
    metric=${line%%"$tab"*}
    case " $1 " in *" $metric "*) ;; *) unread "$metric" '' "not collected on $2" ;; esac
  done | sort -u
}

# disk.used_percent and disk.free_bytes from df -kP: every real filesystem, or the named mounts.
# A row is read from its numbers, so a mount point with spaces stays whole. Used percent is
# used / (used + available), as df's Capacity column is (df rounds it up). In awk, a bare > in
# a print or printf list redirects to a file: comparisons there stay in parentheses.
collect_disks() {
  wants disk.used_percent || wants disk.free_bytes || return 0
  df -kP 2>/dev/null | RMM_WANTED="$wanted" awk '
    BEGIN {
      n = split(ENVIRON["RMM_WANTED"], lines, "\n")
      for (i = 1; i <= n; i++) {
        t = index(lines[i], "\t")
        metric = t ? substr(lines[i], 1, t - 1) : lines[i]
        if (metric != "disk.used_percent" && metric != "disk.free_bytes") continue
        if (t) { named[metric, substr(lines[i], t + 1)] = 1; names[++count] = metric "\t" substr(lines[i], t + 1) }
        else all[metric] = 1
      }
    }
    NR > 1 && match($0, /[ \t]+[0-9]+[ \t]+[0-9]+[ \t]+[0-9]+[ \t]+([0-9]+%|-)[ \t]+/) {
      source = substr($0, 1, RSTART - 1)
      split(substr($0, RSTART, RLENGTH), f, /[ \t]+/)
      mount = substr($0, RSTART + RLENGTH)
      if (seen[mount]++) next
      found[mount] = 1
      pseudo = f[2] == 0 || source ~ /^(tmpfs|devtmpfs|udev|shm|devfs|map .*)$/
      size = f[3] + f[4]
      if (all["disk.used_percent"] && !pseudo || named["disk.used_percent", mount])
        printf "disk.used_percent\tmount=%s\t%.2f\n", mount, (size > 0 ? f[3] * 100 / size : 0)
      if (all["disk.free_bytes"] && !pseudo || named["disk.free_bytes", mount])
        printf "disk.free_bytes\tmount=%s\t%.0f\n", mount, f[4] * 1024
    }
    END {
      for (i = 1; i <= count; i++) {
        t = index(names[i], "\t")
        mount = substr(names[i], t + 1)
        if (!found[mount]) printf "!\t%s\tmount=%s\tnot mounted\n", substr(names[i], 1, t - 1), mount
      }
    }'
}

# process.count for each named process: processes whose name (ps's COLUMN) is the name, cut to
# WIDTH characters as the kernel keeps it.
collect_processes() {
  wants process.count || return 0
  ps -A -o "$1=" 2>/dev/null | RMM_WANTED="$wanted" RMM_WIDTH="$2" awk '
    { count[$0]++ }
    END {
      n = split(ENVIRON["RMM_WANTED"], lines, "\n")
      for (i = 1; i <= n; i++) {
        t = index(lines[i], "\t")
        if (!t || substr(lines[i], 1, t - 1) != "process.count") continue
        name = substr(lines[i], t + 1)
        printf "process.count\tname=%s\t%d\n", name, count[substr(name, 1, ENVIRON["RMM_WIDTH"])] + 0
      }
    }'
}
