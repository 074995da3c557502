#!/usr/bin/env bash
# Opt-in live test: build Asterisk (PJSIP, res_config_ldap) and pjsua from local source trees,
# run them against astldap, rotate PJSIP secrets through the admin API and check registrations.
# See README.md here. Not run in CI.
set -euo pipefail

: "${ASTERISK_SRC:?set ASTERISK_SRC to an Asterisk source tree}"
: "${PJPROJECT_SRC:?set PJPROJECT_SRC to a pjproject source tree}"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/astldap-asterisk-live}
LDAP_PORT=${LDAP_PORT:-1389}
ADMIN_PORT=${ADMIN_PORT:-18200}
SIP_PORT=${SIP_PORT:-5060}
JOBS=${JOBS:-2}
AST=$WORK/asterisk
LOGS=$WORK/logs
mkdir -p "$WORK" "$LOGS"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

build_asterisk() {
  [ -x "$AST/sbin/asterisk" ] && return
  local ver cache src
  ver=$(sed -n 's/^PJPROJECT_VERSION *[:?]*= *//p' "$ASTERISK_SRC/third-party/versions.mak")
  [ -n "$ver" ] || fail "no PJPROJECT_VERSION in $ASTERISK_SRC/third-party/versions.mak"
  cache=$WORK/externals && mkdir -p "$cache"
  step "pjproject $ver tarball from $PJPROJECT_SRC into $cache"
  rm -rf "$WORK/pj-stage" && mkdir -p "$WORK/pj-stage"
  cp -a "$PJPROJECT_SRC" "$WORK/pj-stage/pjproject-$ver"
  tar -C "$WORK/pj-stage" -cjf "$cache/pjproject-$ver.tar.bz2" "pjproject-$ver"
  (cd "$cache" && md5sum "pjproject-$ver.tar.bz2" > "pjproject-$ver.tar.bz2.md5")
  src=$WORK/asterisk-src && rm -rf "$src" && cp -a "$ASTERISK_SRC" "$src"
  if [ "${PJPROJECT_MD5_OK:-0}" = 1 ]; then
    sed -i 's/^\(\s*\)\(.*verify_tarball.*\)$/\1true # \2/' "$src/third-party/pjproject/Makefile" || true
  fi
  step "configure Asterisk (bundled pjproject from the cache, LDAP)"
  (cd "$src" && ./configure --prefix="$AST" --with-pjproject-bundled --with-externals-cache="$cache" \
    --with-ldap --without-pwlib > "$LOGS/configure.log" 2>&1) || fail "configure (see $LOGS/configure.log)"
  (cd "$src" && make menuselect.makeopts > "$LOGS/menuselect.log" 2>&1)
  # --disable-all turns off OPTIONAL_API too; res_pjsip does not load without it.
  (cd "$src" && menuselect/menuselect --disable-all \
    --enable OPTIONAL_API \
    --enable res_config_ldap --enable res_realtime --enable pbx_realtime --enable pbx_config \
    --enable res_sorcery_config --enable res_sorcery_memory --enable res_sorcery_realtime --enable res_sorcery_astdb \
    --enable res_pjproject --enable res_pjsip --enable res_pjsip_session --enable chan_pjsip \
    --enable res_pjsip_authenticator_digest --enable res_pjsip_endpoint_identifier_user \
    --enable res_pjsip_endpoint_identifier_ip --enable res_pjsip_registrar --enable res_pjsip_outbound_registration \
    --enable res_pjsip_sdp_rtp --enable res_pjsip_caller_id --enable res_pjsip_logger --enable res_pjsip_pubsub \
    --enable res_pjsip_outbound_authenticator_digest --enable res_pjsip_nat --enable res_rtp_asterisk \
    --enable res_pjsip_config_wizard --enable app_dial --enable app_echo --enable app_playback \
    --enable codec_ulaw --enable codec_alaw --enable format_pcm --enable format_wav \
    --enable res_timing_timerfd --enable bridge_simple --enable bridge_native_rtp --enable func_callerid \
    menuselect.makeopts > "$LOGS/menuselect.log" 2>&1) || fail "menuselect (see $LOGS/menuselect.log)"
  step "build Asterisk (make -j$JOBS; long)"
  (cd "$src" && make -j"$JOBS" > "$LOGS/make.log" 2>&1 && make install > "$LOGS/install.log" 2>&1) ||
    fail "build (see $LOGS/make.log)"
}

build_pjsua() {
  PJSUA=$(ls "$WORK"/pjsua/pjsip-apps/bin/pjsua-* 2>/dev/null | head -1 || true)
  [ -n "$PJSUA" ] && return
  step "build pjsua with G.711 from $PJPROJECT_SRC"
  rm -rf "$WORK/pjsua" && cp -a "$PJPROJECT_SRC" "$WORK/pjsua"
  (cd "$WORK/pjsua" && ./configure --disable-video --disable-sound --disable-libwebrtc --disable-libyuv \
    > "$LOGS/pjsua-configure.log" 2>&1 && make dep > /dev/null 2>&1 && make -j"$JOBS" > "$LOGS/pjsua-make.log" 2>&1) ||
    fail "pjsua build (see $LOGS/pjsua-make.log)"
  PJSUA=$(ls "$WORK"/pjsua/pjsip-apps/bin/pjsua-* | head -1)
}

start_astldap() {
  step "astldap on ldap://127.0.0.1:$LDAP_PORT, admin API on 127.0.0.1:$ADMIN_PORT"
  rm -rf "$WORK/astldap-data" && mkdir -p "$WORK/astldap-data"
  ASTLDAP_ROOT_TOKEN=live-root-token node "$REPO/dist/cli/main.js" serve --config "$REPO/config.yaml" \
    --data "$WORK/astldap-data" --listen "ldap://127.0.0.1:$LDAP_PORT" \
    --admin-listen "http://127.0.0.1:$ADMIN_PORT" > "$LOGS/astldap.log" 2>&1 &
  pids+=($!)
  local up=0
  for _ in $(seq 1 100); do grep -q "listening" "$LOGS/astldap.log" && { up=1; break; }; sleep 0.2; done
  [ "$up" = 1 ] || fail "astldap did not start (see $LOGS/astldap.log)"
  ldapadd -x -H "ldap://127.0.0.1:$LDAP_PORT" -D cn=admin,dc=example,dc=domain -w secret \
    -f "$REPO/data/asterisk/sample.ldif" > "$LOGS/sample-load.log" 2>&1 || fail "loading sample.ldif (see $LOGS/sample-load.log)"
}

start_asterisk() {
  step "Asterisk with the shipped realtime configuration"
  local etc=$WORK/etc
  rm -rf "$etc" "$WORK/run" && mkdir -p "$etc" "$WORK/run" "$WORK/spool" "$WORK/lib" "$WORK/astlog"
  cat > "$etc/asterisk.conf" <<CONF
[directories]
astetcdir => $etc
astmoddir => $AST/lib/asterisk/modules
astvarlibdir => $WORK/lib
astdbdir => $WORK/lib
astkeydir => $WORK/lib
astdatadir => $AST/var/lib/asterisk
astagidir => $WORK/lib/agi
astspooldir => $WORK/spool
astrundir => $WORK/run
astlogdir => $WORK/astlog
CONF
  sed "s#^url=.*#url=ldap://127.0.0.1:$LDAP_PORT#" "$REPO/data/asterisk/res_ldap.conf" > "$etc/res_ldap.conf"
  cp "$REPO/data/asterisk/extconfig.conf" "$REPO/data/asterisk/sorcery.conf" "$etc/"
  printf '[modules]\nautoload=yes\npreload => res_config_ldap.so\n' > "$etc/modules.conf"
  printf '[default]\nswitch => Realtime/default@extensions\n[from-provider]\nswitch => Realtime/from-provider@extensions\n' > "$etc/extensions.conf"
  printf '[general]\n[logfiles]\nfull => notice,warning,error,verbose,debug\n' > "$etc/logger.conf"
  # The sample's transport binds 0.0.0.0:5060; a different SIP_PORT is set in the directory.
  "$AST/sbin/asterisk" -C "$etc/asterisk.conf" -f -vvv > "$LOGS/asterisk.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do
    "$AST/sbin/asterisk" -C "$etc/asterisk.conf" -rx "pjsip show endpoints" 2>/dev/null | grep -q "1000" && return
    sleep 0.2
  done
  fail "Asterisk did not load the PJSIP endpoints from LDAP (see $LOGS/asterisk.out and $WORK/astlog/full)"
}

api() { curl -sf -H "X-Vault-Token: live-root-token" "$@"; }

# register USER PASSWORD: prints the final registration status code pjsua saw
register() {
  local log=$LOGS/pjsua-$1-$RANDOM.log
  # pjsua reads commands from stdin: "q" after a few seconds ends it once the registration is done.
  (sleep 6; echo q) | timeout 20 "$PJSUA" --null-audio --local-port=0 --id "sip:$1@127.0.0.1" \
    --registrar "sip:127.0.0.1:$SIP_PORT" --realm '*' --username "$1" --password "$2" --log-file="$log" \
    > /dev/null 2>&1 || true
  grep -oE 'registration (success|failed), status=[0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || echo none
}

expect_status() { # what user password want...
  local got
  got=$(register "$2" "$3")
  for w in "${@:4}"; do [ "$got" = "$w" ] && { echo "ok: $1 ($got)"; return; }; done
  fail "$1: registration answered $got, wanted ${*:4}"
}

call_test() {
  step "call 1000 -> 1001 through the realtime dialplan"
  local log=$LOGS/pjsua-call.log
  (sleep 14; echo q) | timeout 30 "$PJSUA" --null-audio --local-port=5071 --id sip:1001@127.0.0.1 --registrar "sip:127.0.0.1:$SIP_PORT" \
    --realm '*' --username 1001 --password bob-secret --auto-answer=200 --duration=10 > "$LOGS/pjsua-callee.log" 2>&1 &
  sleep 3
  (sleep 8; echo q) | timeout 20 "$PJSUA" --null-audio --local-port=5072 --id sip:1000@127.0.0.1 --registrar "sip:127.0.0.1:$SIP_PORT" \
    --realm '*' --username 1000 --password "$1" --duration=3 --log-file="$log" "sip:1001@127.0.0.1:$SIP_PORT" \
    > /dev/null 2>&1 || true
  grep -q 'CONFIRMED' "$log" || fail "the call was not answered (see $log)"
  echo "ok: call answered"
}

build_asterisk
build_pjsua
start_astldap
start_asterisk

step "before rotation"
expect_status "1000 with alice-secret" 1000 alice-secret 200
expect_status "1001 with bob-secret" 1001 bob-secret 200
call_test alice-secret

step "rotate through the admin API (schema asterisk)"
A=http://127.0.0.1:$ADMIN_PORT/v1
api -X POST -d "{\"binddn\":\"cn=admin,dc=example,dc=domain\",\"bindpass\":\"secret\",\"schema\":\"asterisk\"}" "$A/ldap/config"
api -X POST -d '{"dn":"cn=1000,ou=auths,ou=pjsip,dc=example,dc=domain","rotation_period":"24h"}' "$A/ldap/static-role/pj1000"
api -X POST -d '{"dn":"cn=1001,ou=auths,ou=pjsip,dc=example,dc=domain","rotation_period":"24h"}' "$A/ldap/static-role/pj1001"
P1000=$(api "$A/ldap/static-cred/pj1000" | jq -r .data.password)
P1001=$(api "$A/ldap/static-cred/pj1001" | jq -r .data.password)
[ -n "$P1000" ] && [ "$P1000" != null ] || fail "no password from static-cred/pj1000"

step "after rotation"
expect_status "1000 with the new password" 1000 "$P1000" 200
expect_status "1000 with alice-secret" 1000 alice-secret 401 403
expect_status "1001 with the new password" 1001 "$P1001" 200
expect_status "1001 with bob-secret" 1001 bob-secret 401 403
call_test "$P1000"

step "a temporary phone from a dynamic role"
CREATION=$(sed -n '/^cat > creation.ldif/,/^LDIF$/p' "$REPO/docs/asterisk.md" | sed '1d;$d')
DELETION=$(sed -n '/^cat > deletion.ldif/,/^LDIF$/p' "$REPO/docs/asterisk.md" | sed '1d;$d')
jq -n --arg c "$CREATION" --arg d "$DELETION" \
  '{creation_ldif: $c, deletion_ldif: $d, username_template: "tmp{{random 8}}", default_ttl: "1h", max_ttl: "2h"}' |
  api -X POST -d @- "$A/ldap/role/phone"
CREDS=$(api "$A/ldap/creds/phone")
U=$(jq -r .data.username <<< "$CREDS"); P=$(jq -r .data.password <<< "$CREDS"); L=$(jq -r .lease_id <<< "$CREDS")
expect_status "temporary phone $U" "$U" "$P" 200
api -X PUT -d "{\"lease_id\":\"$L\"}" "$A/sys/leases/revoke"
expect_status "temporary phone after revoke" "$U" "$P" 401 403 404

echo "PASS: live Asterisk test"
