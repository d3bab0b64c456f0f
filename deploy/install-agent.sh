#!/usr/bin/env bash
# Installs the fleetnas agent as a systemd service on a Raspberry Pi, a Jetson or any Linux host.
#
#   sudo deploy/install-agent.sh --broker mqtts://broker.lan:8883 --device-id pi4-lab-01 \
#        --password-file /root/pi4-lab-01.secret --tls-ca /root/fleetnas-ca.crt
#
# What it does (each step is idempotent; run it again to upgrade the code):
#   1. checks Node.js >= 20;
#   2. either unpacks a device bundle (--bundle FILE|DIR, made by `npm run bundle:agent`; the
#      default when this script sits in an unpacked bundle) into PREFIX (/opt/fleetnas): the
#      compiled agent with its dependencies and this platform's native binaries, no npm and no
#      network; refused when it was built for another platform or architecture than this Node.js;
#      or copies agent/, shared/, hardware-profiles/, deploy/ and the package manifests from the
#      source (this checkout, another folder or a tarball) into PREFIX and runs
#      `npm ci --omit=dev -w @fleetnas/agent` there (`npm install` without a lock file);
#   3. creates the `fleetnas` system user (in group video where it exists: vcgencmd, Jetson GPU);
#   4. writes /etc/fleetnas/agent.json (mode 0600, owner fleetnas) unless it exists (--force
#      replaces it) and copies TLS files to /etc/fleetnas/tls/;
#   5. creates the state dir, installs fleetnas-agent.service, daemon-reload, enable --now.
# --root DIR writes everything under DIR and runs no useradd/chown/systemctl (for tests and image
# builds); --dry-run prints the actions and changes nothing. --help lists every option.
set -euo pipefail

PROG=fleetnas-install
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MIN_NODE_MAJOR=20
ID_RE='^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'
LOG_LEVELS='fatal error warn info debug trace silent'

usage() {
  cat <<EOF
Usage: install-agent.sh --broker URL [options]

Agent configuration (written to /etc/fleetnas/agent.json):
  --broker URL             MQTT broker, mqtt://host:1883 or mqtts://host:8883 (required for a new config)
  --device-id ID           this device's id and MQTT username (default: the host name)
  --username NAME          MQTT username if it is not the device id
  --password SECRET        MQTT password (visible in the process list; prefer --password-file)
  --password-file FILE     read the password from the first line of FILE ('-' = standard input)
  --threads N              default thread count for measurements (default: the hardware profile's)
  --hardware-profile NAME  force a hardware profile instead of matching this device
  --state-dir DIR          outbox and cache (default /var/lib/fleetnas)
  --log-level LEVEL        $LOG_LEVELS (default info)
  --tls-ca FILE            CA certificate that signed the broker's certificate (mqtts://)
  --tls-cert FILE          client certificate (mutual TLS), with --tls-key
  --tls-key FILE           client key (mutual TLS)
  --tls-insecure           do not verify the broker's certificate (testing only)
  --force                  replace an existing agent.json

Installation:
  --bundle FILE|DIR        a device bundle (npm run bundle:agent): no npm, no network (default when
                           this script sits in an unpacked bundle)
  --source DIR|TARBALL     fleetnas sources (default: the checkout holding this script)
  --prefix DIR             where the code goes (default /opt/fleetnas)
  --node PATH              Node.js binary for the service (default: node on PATH)
  --user NAME              service user (default fleetnas)
  --skip-npm               do not run npm with --source (dependencies installed otherwise, or tests)
  --no-start               install and enable nothing in systemd beyond the unit file
  --root DIR               write everything under DIR; no useradd, chown or systemctl
  --dry-run                print what would be done, change nothing
  -h, --help               this help
EOF
}

say() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PROG" "$1" >&2
  exit "${2:-1}"
}

# ---------------------------------------------------------------------------------------------
# Arguments
BROKER='' DEVICE_ID='' USERNAME='' PASSWORD='' PASSWORD_FILE='' THREADS='' HARDWARE_PROFILE=''
STATE_DIR=/var/lib/fleetnas LOG_LEVEL=info TLS_CA='' TLS_CERT='' TLS_KEY='' TLS_INSECURE=0
FORCE=0 SOURCE='' BUNDLE='' PREFIX=/opt/fleetnas NODE_BIN='' SERVICE_USER=fleetnas SKIP_NPM=0 NO_START=0
ROOT='' DRY_RUN=0 HAVE_PASSWORD=0

need_value() {
  if [ "$#" -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)" 2; fi
}
while [ "$#" -gt 0 ]; do
  case "$1" in
    --broker) need_value "$@"; BROKER=$2; shift 2 ;;
    --device-id) need_value "$@"; DEVICE_ID=$2; shift 2 ;;
    --username) need_value "$@"; USERNAME=$2; shift 2 ;;
    --password) need_value "$@"; PASSWORD=$2; HAVE_PASSWORD=1; shift 2 ;;
    --password-file) need_value "$@"; PASSWORD_FILE=$2; shift 2 ;;
    --threads) need_value "$@"; THREADS=$2; shift 2 ;;
    --hardware-profile) need_value "$@"; HARDWARE_PROFILE=$2; shift 2 ;;
    --state-dir) need_value "$@"; STATE_DIR=$2; shift 2 ;;
    --log-level) need_value "$@"; LOG_LEVEL=$2; shift 2 ;;
    --tls-ca) need_value "$@"; TLS_CA=$2; shift 2 ;;
    --tls-cert) need_value "$@"; TLS_CERT=$2; shift 2 ;;
    --tls-key) need_value "$@"; TLS_KEY=$2; shift 2 ;;
    --tls-insecure) TLS_INSECURE=1; shift ;;
    --force) FORCE=1; shift ;;
    --source) need_value "$@"; SOURCE=$2; shift 2 ;;
    --bundle) need_value "$@"; BUNDLE=$2; shift 2 ;;
    --prefix) need_value "$@"; PREFIX=$2; shift 2 ;;
    --node) need_value "$@"; NODE_BIN=$2; shift 2 ;;
    --user) need_value "$@"; SERVICE_USER=$2; shift 2 ;;
    --skip-npm) SKIP_NPM=1; shift ;;
    --no-start) NO_START=1; shift ;;
    --root) need_value "$@"; ROOT=$2; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" 2 ;;
  esac
done

if [ -n "$ROOT" ]; then
  mkdir -p "$ROOT" 2>/dev/null || [ "$DRY_RUN" = 1 ] || die "cannot create --root $ROOT"
  ROOT=$(cd "$ROOT" 2>/dev/null && pwd || printf '%s' "$ROOT")
fi
# Real paths (as the service sees them) and where this run writes them (under --root).
CONFIG_DIR=/etc/fleetnas
CONFIG_FILE=$CONFIG_DIR/agent.json
UNIT_FILE=/etc/systemd/system/fleetnas-agent.service
at() { printf '%s%s' "$ROOT" "$1"; }

# Runs a command, or prints it with --dry-run. Commands that need a real system (useradd, chown,
# systemctl) go through `system` instead, which --root also skips.
act() {
  if [ "$DRY_RUN" = 1 ]; then printf '+ %s\n' "$*"; else "$@"; fi
}
system() {
  if [ "$DRY_RUN" = 1 ]; then printf '+ %s\n' "$*"
  elif [ -n "$ROOT" ]; then printf '%s: skipped under --root: %s\n' "$PROG" "$*"
  else "$@"; fi
}
# Writes standard input to a file with a mode, atomically (temp file + rename).
write_file() {
  local dest=$1 mode=$2
  if [ "$DRY_RUN" = 1 ]; then
    printf '+ write %s (mode %s)\n' "$dest" "$mode"
    cat >/dev/null
    return
  fi
  local tmp
  tmp=$(mktemp "$(dirname "$dest")/.fleetnas.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$dest"
}

# ---------------------------------------------------------------------------------------------
# Node.js >= 20
if [ -z "$NODE_BIN" ]; then NODE_BIN=$(command -v node || true); fi
node_help() {
  cat >&2 <<EOF
The fleetnas agent needs Node.js $MIN_NODE_MAJOR or newer (the distribution packages of Raspberry Pi OS
bookworm and Ubuntu 22.04 / JetPack 6 are older). Install a current LTS system-wide, e.g.:
  - NodeSource packages:  https://github.com/nodesource/distributions  (Node 20 or 22, arm64 and x64)
  - or the official binaries from https://nodejs.org/en/download (linux-arm64 for Pi 4/5 and Jetson),
    unpacked into /usr/local:  tar -xJf node-v22.*-linux-arm64.tar.xz -C /usr/local --strip-components=1
Then run this script again (or pass --node /path/to/node).
EOF
}
if [ -z "$NODE_BIN" ] || [ ! -x "$NODE_BIN" ]; then
  node_help
  die "Node.js not found${NODE_BIN:+ at $NODE_BIN}"
fi
NODE_BIN=$(cd "$(dirname "$NODE_BIN")" && pwd)/$(basename "$NODE_BIN")
NODE_VERSION=$("$NODE_BIN" -p 'process.versions.node' 2>/dev/null) || die "$NODE_BIN does not run"
if [ "${NODE_VERSION%%.*}" -lt "$MIN_NODE_MAJOR" ]; then
  node_help
  die "Node.js $NODE_VERSION at $NODE_BIN is too old: need >= $MIN_NODE_MAJOR"
fi
case "$NODE_BIN" in
  /home/* | /root/*)
    warn "$NODE_BIN is under /home or /root, which the service cannot see (ProtectHome=yes); install Node.js system-wide (e.g. /usr/local/bin/node)" ;;
esac

# ---------------------------------------------------------------------------------------------
# Validate every option at once, so one run reports all problems.
problems=()
WRITE_CONFIG=1
if [ -e "$(at "$CONFIG_FILE")" ] && [ "$FORCE" = 0 ]; then WRITE_CONFIG=0; fi

if [ -z "$DEVICE_ID" ]; then
  # Same clean-up of the host name as the agent's own default.
  DEVICE_ID=$(hostname 2>/dev/null | sed -e 's/[^A-Za-z0-9._-]/-/g' -e 's/^[^A-Za-z0-9]*//' | cut -c1-40)
fi
[ -n "$USERNAME" ] || USERNAME=$DEVICE_ID
if [ -n "$PASSWORD_FILE" ]; then
  if [ "$HAVE_PASSWORD" = 1 ]; then problems+=("give --password or --password-file, not both")
  elif [ "$PASSWORD_FILE" = - ]; then IFS= read -r PASSWORD || true; HAVE_PASSWORD=1
  elif [ -r "$PASSWORD_FILE" ]; then IFS= read -r PASSWORD <"$PASSWORD_FILE" || true; HAVE_PASSWORD=1
  else problems+=("--password-file $PASSWORD_FILE is not readable"); fi
  PASSWORD=${PASSWORD%$'\r'}
  if [ "$HAVE_PASSWORD" = 1 ] && [ -z "$PASSWORD" ]; then problems+=("--password-file $PASSWORD_FILE is empty"); fi
fi

if [ "$WRITE_CONFIG" = 1 ]; then
  if [ -z "$BROKER" ]; then
    problems+=("--broker is required for a new config, e.g. --broker mqtt://controller.lan:1883 or mqtts://broker.lan:8883")
  elif ! [[ "$BROKER" =~ ^(mqtt|mqtts|tcp|ssl|ws|wss)://[^/[:space:]]+(/.*)?$ ]]; then
    problems+=("--broker $BROKER is not an MQTT URL (mqtt://host:1883 or mqtts://host:8883)")
  fi
  [[ "$DEVICE_ID" =~ $ID_RE ]] || problems+=("--device-id '$DEVICE_ID': use letters, digits, '.', '_' or '-' (max 128), starting with a letter or digit")
  [[ "$USERNAME" =~ $ID_RE ]] || problems+=("--username '$USERNAME': use letters, digits, '.', '_' or '-'")
  if [ -n "$THREADS" ] && ! { [[ "$THREADS" =~ ^[0-9]+$ ]] && [ "$THREADS" -ge 1 ] && [ "$THREADS" -le 256 ]; }; then
    problems+=("--threads $THREADS: a whole number from 1 to 256")
  fi
  if [ -n "$HARDWARE_PROFILE" ] && ! [[ "$HARDWARE_PROFILE" =~ $ID_RE ]]; then
    problems+=("--hardware-profile '$HARDWARE_PROFILE' is not a profile id")
  fi
  [[ " $LOG_LEVELS " == *" $LOG_LEVEL "* ]] || problems+=("--log-level $LOG_LEVEL: one of $LOG_LEVELS")
  [[ "$STATE_DIR" == /* ]] || problems+=("--state-dir $STATE_DIR must be an absolute path")
  for f in "$TLS_CA" "$TLS_CERT" "$TLS_KEY"; do
    if [ -n "$f" ] && [ ! -r "$f" ]; then problems+=("TLS file $f is not readable"); fi
  done
  if { [ -n "$TLS_CERT" ] && [ -z "$TLS_KEY" ]; } || { [ -z "$TLS_CERT" ] && [ -n "$TLS_KEY" ]; }; then
    problems+=("--tls-cert and --tls-key go together")
  fi
  if [ "$HAVE_PASSWORD" = 0 ]; then
    warn "no --password/--password-file: the broker must accept $USERNAME without a password"
  fi
fi
[[ "$PREFIX" == /* ]] || problems+=("--prefix $PREFIX must be an absolute path")
[[ "$SERVICE_USER" =~ ^[a-z_][a-z0-9_-]*$ ]] || problems+=("--user $SERVICE_USER is not a valid user name")

# A bundle: a .tar.gz holding one folder with fleetnas-bundle.json, or that folder unpacked. Only
# its manifest is read now (tar -O); it is unpacked once, into PREFIX's file system, at install.
EXTRACTED='' STAGE=''
cleanup() {
  if [ -n "$EXTRACTED" ]; then rm -rf "$EXTRACTED"; fi
  if [ -n "$STAGE" ]; then rm -rf "$STAGE"; fi
}
trap cleanup EXIT
BUNDLE_MANIFEST='' BUNDLE_TOP=''
if [ -z "$BUNDLE" ] && [ -z "$SOURCE" ] && [ -f "$(dirname "$SCRIPT_DIR")/fleetnas-bundle.json" ]; then
  BUNDLE=$(dirname "$SCRIPT_DIR")
fi
if [ -n "$BUNDLE" ] && [ -n "$SOURCE" ]; then
  problems+=("give --bundle or --source, not both")
elif [ -n "$BUNDLE" ]; then
  if [ -d "$BUNDLE" ]; then
    BUNDLE=$(cd "$BUNDLE" && pwd)
    if [ -f "$BUNDLE/fleetnas-bundle.json" ]; then BUNDLE_MANIFEST=$(cat "$BUNDLE/fleetnas-bundle.json")
    else problems+=("--bundle $BUNDLE is not an unpacked agent bundle (no fleetnas-bundle.json in it)"); fi
  elif [ -f "$BUNDLE" ]; then
    BUNDLE=$(cd "$(dirname "$BUNDLE")" && pwd)/$(basename "$BUNDLE")
    if ! listing=$(tar -tzf "$BUNDLE" 2>/dev/null); then
      problems+=("--bundle $BUNDLE is not a readable .tar.gz (corrupt or cut short? copy it again and compare sha256sum)")
    else
      BUNDLE_TOP=${listing%%/*}
      if ! grep -qxF "$BUNDLE_TOP/fleetnas-bundle.json" <<<"$listing"; then
        problems+=("--bundle $BUNDLE is not a fleetnas agent bundle (no fleetnas-bundle.json; npm run bundle:agent makes one)")
      else
        BUNDLE_MANIFEST=$(tar -xzf "$BUNDLE" -O "$BUNDLE_TOP/fleetnas-bundle.json")
      fi
    fi
  else
    problems+=("--bundle $BUNDLE does not exist")
  fi
  if [ -n "$BUNDLE_MANIFEST" ]; then
    # One line: format platform arch agent-version runtimes host, 'invalid ...' for broken JSON. The
    # host is what this Node.js runs as (a 32-bit userland on a 64-bit kernel is arm, not arm64).
    read -r B_FORMAT B_PLATFORM B_ARCH B_VERSION B_RUNTIMES HOST_TARGET < <(printf '%s' "$BUNDLE_MANIFEST" | "$NODE_BIN" -e '
      let text = ""
      process.stdin.on("data", (d) => (text += d)).on("end", () => {
        const host = process.platform + "-" + process.arch
        try {
          const m = JSON.parse(text)
          console.log(m.format, m.platform, m.arch, m.agentVersion, (m.runtimes || []).join(","), host)
        } catch { console.log("invalid - - - -", host) }
      })') || true
    if [ "${B_FORMAT:-invalid}" = invalid ]; then
      problems+=("--bundle $BUNDLE: its fleetnas-bundle.json is not valid JSON")
    elif [ "$B_FORMAT" != 1 ]; then
      problems+=("--bundle $BUNDLE has layout format $B_FORMAT; this install script knows format 1 (use the install script inside the bundle)")
    elif [ "$B_PLATFORM-$B_ARCH" != "$HOST_TARGET" ]; then
      problems+=("--bundle $BUNDLE is for $B_PLATFORM-$B_ARCH, but this machine's Node.js runs $HOST_TARGET: build one with npm run bundle:agent -- --platform ${HOST_TARGET%%-*} --arch ${HOST_TARGET#*-}")
    fi
  fi
else
  # Sources: a folder holding agent/package.json, or a tarball that contains one.
  [ -n "$SOURCE" ] || SOURCE=$(dirname "$SCRIPT_DIR")
  if [ -f "$SOURCE" ]; then
    EXTRACTED=$(mktemp -d)
    tar -xf "$SOURCE" -C "$EXTRACTED" || die "cannot unpack $SOURCE"
    found=$(find "$EXTRACTED" -maxdepth 3 -path '*/agent/package.json' | head -n 1)
    [ -n "$found" ] || die "$SOURCE holds no agent/package.json"
    SOURCE=$(dirname "$(dirname "$found")")
  elif [ -d "$SOURCE" ]; then
    SOURCE=$(cd "$SOURCE" && pwd)
    [ -f "$SOURCE/agent/package.json" ] || problems+=("--source $SOURCE holds no agent/package.json (give the fleetnas checkout or a tarball)")
  else
    problems+=("--source $SOURCE does not exist")
  fi
fi
if [ -n "$HARDWARE_PROFILE" ] && [ -n "$SOURCE" ] && [ -d "$SOURCE/hardware-profiles" ] && [ ! -f "$SOURCE/hardware-profiles/$HARDWARE_PROFILE.json" ]; then
  known=$(find "$SOURCE/hardware-profiles" -maxdepth 1 -name '*.json' -exec basename {} .json \; | sort | tr '\n' ' ')
  warn "hardware profile $HARDWARE_PROFILE is not in $SOURCE/hardware-profiles (known: ${known:-none})"
fi

if [ "${#problems[@]}" -gt 0 ]; then
  for p in "${problems[@]}"; do printf '%s: error: %s\n' "$PROG" "$p" >&2; done
  exit 2
fi
if [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
  die "run as root (sudo), or use --root DIR / --dry-run"
fi

if [ -n "$BUNDLE" ]; then
  say "Node.js $NODE_VERSION ($NODE_BIN); bundle $BUNDLE (agent $B_VERSION, $B_PLATFORM-$B_ARCH, runtimes $B_RUNTIMES); prefix $PREFIX${ROOT:+; root $ROOT}"
else
  say "Node.js $NODE_VERSION ($NODE_BIN); sources $SOURCE; prefix $PREFIX${ROOT:+; root $ROOT}"
fi

# ---------------------------------------------------------------------------------------------
# 1. Code into PREFIX. Folders are replaced whole so files removed upstream do not linger;
# node_modules is kept between runs (npm ci rebuilds it anyway).
DEST=$(at "$PREFIX")
act mkdir -p "$DEST"
if [ -n "$BUNDLE" ]; then
  # Unpacked inside PREFIX (same file system, so the moves are renames), then each folder swapped in.
  # What a from-source install left (shared/, the workspace manifests) goes: nothing reads it.
  if [ "$BUNDLE" = "$DEST" ]; then
    say "the bundle is already unpacked at $PREFIX"
  elif [ "$DRY_RUN" = 1 ]; then
    printf '+ unpack %s -> %s (agent hardware-profiles deploy node_modules fleetnas-bundle.json)\n' "$BUNDLE" "$DEST"
  else
    STAGE=$(mktemp -d "$DEST/.fleetnas-bundle.XXXXXX")
    if [ -f "$BUNDLE" ]; then
      tar -xzf "$BUNDLE" -C "$STAGE" --strip-components=1 --no-same-owner || die "cannot unpack $BUNDLE (disk full?)"
    else
      tar -C "$BUNDLE" -cf - agent hardware-profiles deploy node_modules fleetnas-bundle.json | tar -C "$STAGE" -xf - --no-same-owner \
        || die "cannot copy $BUNDLE (disk full?)"
    fi
    for d in agent hardware-profiles deploy node_modules; do
      rm -rf "${DEST:?}/$d"
      mv "$STAGE/$d" "$DEST/$d"
    done
    mv -f "$STAGE/fleetnas-bundle.json" "$DEST/fleetnas-bundle.json"
    rm -rf "${DEST:?}/shared" "${DEST:?}/controller" "$DEST/package.json" "$DEST/package-lock.json" "$DEST/.npmrc"
    rm -rf "$STAGE"
    STAGE=''
  fi
  say "installed the bundle: no npm, no network"
elif [ "$SOURCE" != "$DEST" ]; then
  act rm -f "$DEST/fleetnas-bundle.json"
  for d in agent shared hardware-profiles deploy; do
    [ -d "$SOURCE/$d" ] || continue
    act rm -rf "${DEST:?}/$d"
    if [ "$DRY_RUN" = 1 ]; then
      printf '+ copy %s/%s -> %s/%s\n' "$SOURCE" "$d" "$DEST" "$d"
    else
      tar -C "$SOURCE" --exclude=node_modules --exclude='*.test.ts' -cf - "$d" | tar -C "$DEST" -xf -
    fi
  done
  for f in package.json package-lock.json .npmrc; do
    if [ -f "$SOURCE/$f" ]; then act cp -f "$SOURCE/$f" "$DEST/$f"; fi
  done
  # The root manifest lists every workspace and the lock file every workspace's dependencies:
  # the other workspaces' manifests keep `npm ci` consistent without installing their code.
  if [ -f "$SOURCE/controller/package.json" ] && [ ! -d "$DEST/controller/src" ]; then
    act mkdir -p "$DEST/controller"
    act cp -f "$SOURCE/controller/package.json" "$DEST/controller/package.json"
  fi
fi

if [ -n "$BUNDLE" ]; then
  :
elif [ "$SKIP_NPM" = 1 ]; then
  say "skipping npm (--skip-npm)"
else
  command -v npm >/dev/null || die "npm not found next to Node.js; install it or use --skip-npm"
  if [ -f "$DEST/package-lock.json" ]; then
    act sh -c "cd '$DEST' && npm ci --omit=dev --workspace @fleetnas/agent --no-audit --no-fund"
  else
    act sh -c "cd '$DEST' && npm install --omit=dev --workspace @fleetnas/agent --no-audit --no-fund"
  fi
fi

# ---------------------------------------------------------------------------------------------
# 2. Service user. Group video: /dev/vchiq (vcgencmd) on a Pi, GPU device nodes on a Jetson.
if [ -n "$ROOT" ] || [ "$DRY_RUN" = 1 ] || ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
  NOLOGIN=$(command -v nologin || echo /usr/sbin/nologin)
  if [ -n "$ROOT" ] || [ "$DRY_RUN" = 1 ] || command -v useradd >/dev/null; then
    system useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home --shell "$NOLOGIN" "$SERVICE_USER"
  else
    system adduser -S -D -H -h "$STATE_DIR" -s "$NOLOGIN" "$SERVICE_USER"
  fi
fi
for g in video render; do
  if getent group "$g" >/dev/null 2>&1; then system usermod -a -G "$g" "$SERVICE_USER"; fi
done

# ---------------------------------------------------------------------------------------------
# 3. Config (mode 0600, owner the service user: it holds the MQTT password).
act mkdir -p "$(at "$CONFIG_DIR")"
act chmod 0750 "$(at "$CONFIG_DIR")"
system chown "root:$SERVICE_USER" "$CONFIG_DIR"
if [ "$WRITE_CONFIG" = 0 ]; then
  say "kept existing $CONFIG_FILE (--force replaces it)"
else
  TLS_DIR=$CONFIG_DIR/tls
  CFG_CA='' CFG_CERT='' CFG_KEY=''
  if [ -n "$TLS_CA$TLS_CERT" ]; then
    act mkdir -p "$(at "$TLS_DIR")"
    act chmod 0750 "$(at "$TLS_DIR")"
    system chown "root:$SERVICE_USER" "$TLS_DIR"
  fi
  if [ -n "$TLS_CA" ]; then
    CFG_CA=$TLS_DIR/ca.crt
    act install -m 0644 "$TLS_CA" "$(at "$CFG_CA")"
  fi
  if [ -n "$TLS_CERT" ]; then
    CFG_CERT=$TLS_DIR/client.crt CFG_KEY=$TLS_DIR/client.key
    act install -m 0644 "$TLS_CERT" "$(at "$CFG_CERT")"
    act install -m 0600 "$TLS_KEY" "$(at "$CFG_KEY")"
    system chown "$SERVICE_USER:$SERVICE_USER" "$CFG_KEY"
  fi
  if [[ "$BROKER" == mqtts://* || "$BROKER" == ssl://* || "$BROKER" == wss://* ]] && [ -z "$TLS_CA" ] && [ "$TLS_INSECURE" = 0 ]; then
    say "no --tls-ca: the broker certificate must chain to a CA this system trusts"
  fi
  # JSON is made by Node (already required) so no value can break the quoting.
  CFG_BROKER=$BROKER CFG_USERNAME=$USERNAME CFG_PASSWORD=$PASSWORD CFG_HAVE_PASSWORD=$HAVE_PASSWORD \
  CFG_DEVICE_ID=$DEVICE_ID CFG_STATE_DIR=$STATE_DIR CFG_PROFILE=$HARDWARE_PROFILE CFG_THREADS=$THREADS \
  CFG_LOG_LEVEL=$LOG_LEVEL CFG_CA=$CFG_CA CFG_CERT=$CFG_CERT CFG_KEY=$CFG_KEY CFG_INSECURE=$TLS_INSECURE \
  "$NODE_BIN" -e '
    const e = process.env
    const c = { broker: e.CFG_BROKER, deviceId: e.CFG_DEVICE_ID, username: e.CFG_USERNAME }
    if (e.CFG_HAVE_PASSWORD === "1") c.password = e.CFG_PASSWORD
    c.stateDir = e.CFG_STATE_DIR
    if (e.CFG_PROFILE) c.hardwareProfile = e.CFG_PROFILE
    if (e.CFG_THREADS) c.threads = Number(e.CFG_THREADS)
    const tls = {}
    if (e.CFG_CA) tls.ca = e.CFG_CA
    if (e.CFG_CERT) { tls.cert = e.CFG_CERT; tls.key = e.CFG_KEY }
    if (e.CFG_INSECURE === "1") tls.rejectUnauthorized = false
    if (Object.keys(tls).length > 0) c.tls = tls
    c.logLevel = e.CFG_LOG_LEVEL
    process.stdout.write(JSON.stringify(c, null, 2) + "\n")
  ' | write_file "$(at "$CONFIG_FILE")" 0600
  system chown "$SERVICE_USER:$SERVICE_USER" "$CONFIG_FILE"
  say "wrote $CONFIG_FILE (device $DEVICE_ID, broker $BROKER)"
fi

# ---------------------------------------------------------------------------------------------
# 4. State dir (systemd's StateDirectory= makes /var/lib/fleetnas too; a custom one needs this).
act mkdir -p "$(at "$STATE_DIR")"
act chmod 0750 "$(at "$STATE_DIR")"
system chown "$SERVICE_USER:$SERVICE_USER" "$STATE_DIR"

# ---------------------------------------------------------------------------------------------
# 5. systemd unit, with this install's paths, node and user.
UNIT_SRC=$SCRIPT_DIR/fleetnas-agent.service
[ -f "$UNIT_SRC" ] || UNIT_SRC=${SOURCE:-$DEST}/deploy/fleetnas-agent.service
[ -f "$UNIT_SRC" ] || die "fleetnas-agent.service not found next to this script or in ${SOURCE:-$DEST}/deploy"
act mkdir -p "$(dirname "$(at "$UNIT_FILE")")"
EXTRA_RW=''
if [ "$STATE_DIR" != /var/lib/fleetnas ]; then EXTRA_RW=" $STATE_DIR"; fi
sed -e "s#/opt/fleetnas#$PREFIX#g" \
    -e "s#^ExecStart=/usr/bin/node #ExecStart=$NODE_BIN #" \
    -e "s#^User=fleetnas\$#User=$SERVICE_USER#" \
    -e "s#^Group=fleetnas\$#Group=$SERVICE_USER#" \
    -e "s#^ReadWritePaths=/var/lib/fleetnas\$#ReadWritePaths=/var/lib/fleetnas$EXTRA_RW#" \
    "$UNIT_SRC" | write_file "$(at "$UNIT_FILE")" 0644
say "installed $UNIT_FILE"

if [ "$NO_START" = 1 ]; then
  say "not starting (--no-start): systemctl daemon-reload && systemctl enable --now fleetnas-agent"
elif [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && [ ! -d /run/systemd/system ]; then
  warn "systemd is not running here; start the agent yourself: $NODE_BIN $PREFIX/agent/bin/fleetnas-agent.js --config $CONFIG_FILE"
else
  system systemctl daemon-reload
  # enable --now does not restart a running service; an upgrade must pick up the new code.
  if [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && systemctl is-active --quiet fleetnas-agent; then
    system systemctl enable fleetnas-agent
    system systemctl restart fleetnas-agent
  else
    system systemctl enable --now fleetnas-agent
  fi
  say "logs: journalctl -u fleetnas-agent -f"
fi
say "done"
