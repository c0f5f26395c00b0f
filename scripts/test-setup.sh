#!/bin/sh
# Everything rmm and its tests need, on a Debian machine (12 or newer) that has only Node.js:
#   npm run setup        scripts/test-setup.sh --runtime: what rmm itself needs (the README's first line)
#   npm run test:all     this script, then the whole suite (the README's second line; .ci/run)
#   scripts/test-setup.sh [--check] [--runtime]
# It checks the Node.js version, installs the missing Debian packages below (apt-get as root, else
# through sudo; it says what it installs), and runs npm ci when node_modules does not hold what
# package-lock.json lists. With --runtime only the packages rmm itself needs (a compiler, when
# better-sqlite3 must be built); with --check it installs nothing: it lists what is missing and
# exits 1 if anything is.
set -eu
cd "$(dirname "$0")/.."

# What the tests start or call, by Debian package:
#   openssh-server  /usr/sbin/sshd: the SSH tests run a real OpenSSH server on a loopback port
#   procps          pgrep: the transport conformance kit looks for processes on the target
#   python3-winrm   pywinrm and ntlm-auth: an independent WinRM client and NTLM for the WinRM tests
#   python3-aiosmtpd an SMTP server (STARTTLS, AUTH) the email notification tests send mail to
#   openssl         the openssl command: the WinRM and SMTP test peers' throwaway certificates
#   iproute2        ip: the Linux inventory collector's network section, run on this machine, and
#                   the relay tests' network namespace (a remote site the console cannot route to)
#   nats-server     NATS with JetStream: the relay tests' message queue between console and relay
#   samba           smbd: the SMB queue tests' real file server (SMB 3, encryption and signing required)
#   smbclient       Samba's client, which the SMB transport drives (the only one with SMB 3 encryption)
PACKAGES="openssh-server procps python3-winrm python3-aiosmtpd openssl iproute2 nats-server samba smbclient"
# Only to compile better-sqlite3 when no prebuilt binary fits this machine.
BUILD_PACKAGES="build-essential python3"

check_only=false
runtime_only=false
for arg in "$@"; do
  case $arg in
  --check) check_only=true ;;
  --runtime) runtime_only=true ;;
  *)
    echo "test-setup: unknown option $arg (use --check, --runtime)" >&2
    exit 64
    ;;
  esac
done
$runtime_only && PACKAGES=""

say() { echo "test-setup: $*" >&2; }

node_version=$(node -p 'process.versions.node' 2>/dev/null) || {
  say "Node.js is not installed: install Node.js 20.19 or newer (https://nodejs.org)"
  exit 1
}
major=${node_version%%.*}
minor=${node_version#*.}
minor=${minor%%.*}
if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
  say "rmm needs Node.js 20.19 or newer; this is Node.js $node_version: install a current LTS (https://nodejs.org)"
  exit 1
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  say "not a Debian system (no dpkg-query): install the equivalents of: $PACKAGES"
  $check_only && exit 1
else
  wanted=$PACKAGES
  # better-sqlite3 is built from source when no prebuilt binary can be fetched (node-gyp: python3, make, g++).
  if [ ! -e node_modules/better-sqlite3/build/Release/better_sqlite3.node ] &&
    { ! command -v g++ >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; }; then
    wanted="$wanted $BUILD_PACKAGES"
  fi
  wanted=${wanted# }
  missing=""
  for package in $wanted; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing="$missing $package"
  done
  missing=${missing# }
  if [ -z "$wanted" ]; then
    say "no Debian packages needed"
  elif [ -z "$missing" ]; then
    say "Debian packages already installed: $wanted"
  elif $check_only; then
    say "missing Debian packages: $missing (install them with: apt-get install $missing)"
    exit 1
  else
    if [ "$(id -u)" -eq 0 ]; then
      as_root=""
    elif command -v sudo >/dev/null 2>&1; then
      as_root="sudo"
    else
      say "missing Debian packages: $missing; as root, run: apt-get install $missing"
      exit 1
    fi
    say "installing Debian packages: $missing"
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
  fi
fi

# npm ls fails when a package of package-lock.json is missing or at another version.
if [ ! -d node_modules ] || ! npm ls --all >/dev/null 2>&1; then
  if $check_only; then
    say "npm packages are missing or not those of package-lock.json: npm ci"
    exit 1
  fi
  say "installing npm packages: npm ci"
  npm ci
fi
