#!/bin/sh
# Installs rmm's SMB queue consumer for device @@DEVICE@@ (written by `rmm smb enroll`; it holds the
# console's PUBLIC key only, no secret). Run once as root. Folders can be moved with:
#   RMM_SMB_SHARE_DIR (default /srv/rmm-smb: share it as rmm$), RMM_SMB_STATE_DIR (/var/lib/rmm-smb),
#   RMM_SMB_LIB_DIR (/usr/local/lib/rmm-smb), RMM_SMB_SCHEDULE (systemd | cron | none; default: systemd when running).
set -eu
umask 022
share=${RMM_SMB_SHARE_DIR:-/srv/rmm-smb}
state=${RMM_SMB_STATE_DIR:-/var/lib/rmm-smb}
lib=${RMM_SMB_LIB_DIR:-/usr/local/lib/rmm-smb}
schedule=${RMM_SMB_SCHEDULE:-}
if [ -z "$schedule" ]; then
  if [ -d /run/systemd/system ]; then schedule=systemd; else schedule=cron; fi
fi
command -v openssl > /dev/null || { echo "rmm-smb install: openssl is needed (it verifies the console's signatures)" >&2; exit 1; }
mkdir -p "$lib" "$share" "$state"
chmod 700 "$state"
cat > "$lib/rmm-smb-consumer.sh" <<'RMM_SMB_CONSUMER_END'
@@CONSUMER@@
RMM_SMB_CONSUMER_END
cat > "$lib/console-key.pem" <<'RMM_SMB_KEY_END'
@@PUBLIC_KEY_PEM@@
RMM_SMB_KEY_END
chmod 755 "$lib/rmm-smb-consumer.sh"
chmod 644 "$lib/console-key.pem"
run="$lib/rmm-smb-consumer.sh --share $share --state $state --device @@DEVICE@@ --key $lib/console-key.pem"
case $schedule in
  systemd)
    printf '[Unit]\nDescription=rmm SMB queue consumer\n\n[Service]\nType=oneshot\nExecStart=%s\n' "$run" > /etc/systemd/system/rmm-smb-consumer.service
    printf '[Unit]\nDescription=rmm SMB queue consumer, every minute\n\n[Timer]\nOnBootSec=1min\nOnUnitInactiveSec=1min\n\n[Install]\nWantedBy=timers.target\n' > /etc/systemd/system/rmm-smb-consumer.timer
    systemctl daemon-reload
    systemctl enable --now rmm-smb-consumer.timer
    ;;
  cron)
    if [ -d /etc/cron.d ]; then
      echo "* * * * * root $run" > /etc/cron.d/rmm-smb-consumer
    else
      { crontab -l 2> /dev/null | grep -v rmm-smb-consumer || true; echo "* * * * * $run"; } | crontab -
    fi
    ;;
  none) ;;
  *) echo "rmm-smb install: RMM_SMB_SCHEDULE must be systemd, cron or none" >&2; exit 1 ;;
esac
cat << EOF_NOTE
Installed the rmm SMB consumer for @@DEVICE@@ ($schedule). Share $share for the console, e.g. in smb.conf:
  [rmm\$]
    path = $share
    valid users = rmm-console
    read only = no
    browseable = no
    smb encrypt = required
and allow TCP 445 in from the console's address only.
EOF_NOTE
