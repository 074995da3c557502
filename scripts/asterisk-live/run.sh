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
rm -f "$LOGS"/reg-*.log "$LOGS"/call-*.log # the SIP logs of an earlier run
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
  tar -C "$WORK/pj-stage" --exclude=.git -cjf "$cache/pjproject-$ver.tar.bz2" "pjproject-$ver"
  rm -rf "$WORK/pj-stage"
  src=$WORK/asterisk-src && rm -rf "$src" && cp -a "$ASTERISK_SRC" "$src"
  # Asterisk checks the tarball against the checksum it ships in
  # third-party/pjproject/pjproject-<version>.tar.bz2.md5 (relative to that directory, not the
  # cache) and downloads the release when it differs. A tarball made from a local tree never has
  # the release's checksum, so the copy of the tree gets ours.
  (cd "$cache" && md5sum "pjproject-$ver.tar.bz2") > "$src/third-party/pjproject/pjproject-$ver.tar.bz2.md5"
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
  # Emptied here, not only by the background job's redirection: that runs in the forked child,
  # possibly after the wait below has already found an earlier run's "listening" in the file.
  : > "$LOGS/astldap.log"
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
  rm -rf "$etc" "$WORK/run" "$WORK/astlog" && mkdir -p "$etc" "$WORK/run" "$WORK/cache" "$WORK/spool" "$WORK/lib" "$WORK/astlog"
  cat > "$etc/asterisk.conf" <<CONF
[directories]
astcachedir => $WORK/cache
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
  # Generous: a loaded machine (the build shares it) can make a start take long.
  for _ in $(seq 1 240); do
    ast_has "pjsip show endpoints" "1000" && return
    sleep 0.5
  done
  fail "Asterisk did not load the PJSIP endpoints from LDAP (see $LOGS/asterisk.out and $WORK/astlog/full)"
}

ast() { "$AST/sbin/asterisk" -C "$WORK/etc/asterisk.conf" "$@"; }
# ast_has COMMAND PATTERN: whether a CLI command's output matches. Not `ast -rx | grep -q`: grep
# stops reading at the first match, the CLI then dies of SIGPIPE and pipefail fails the match.
ast_has() {
  local out
  out=$(ast -rx "$1" 2>/dev/null) || return 1
  grep -q -- "$2" <<< "$out"
}
api() { curl -sf -H "X-Vault-Token: live-root-token" "$@"; }

# register USER PASSWORD: prints the final status of the registration pjsua saw, and its log.
# A refused registration ends in pjsua's own error (PJSIP_EFAILEDCREDENTIAL after a second 401
# with stale=false), not in a "registration failed, status=" line: its status is the last final
# answer to a REGISTER.
register() {
  local log status
  log=$LOGS/reg-$(date +%H%M%S)-$1.log
  # pjsua reads commands from stdin: "q" after a few seconds ends it once the registration is done.
  (sleep 6; echo q) | timeout 20 "$PJSUA" --null-audio --no-tcp --local-port=0 --id "sip:$1@127.0.0.1" \
    --registrar "sip:127.0.0.1:$SIP_PORT" --realm '*' --username "$1" --password "$2" --log-file="$log" \
    > /dev/null 2>&1 || true
  if grep -q 'registration success, status=200' "$log"; then
    status=200
  else
    status=$(grep -oE 'Response msg [2-6][0-9]{2}/REGISTER' "$log" | tail -1 | grep -oE '[0-9]{3}' || echo none)
  fi
  echo "$status $log"
}

expect_registered() { # what user password
  local got log
  read -r got log < <(register "$2" "$3")
  [ "$got" = 200 ] || fail "$1: registration answered $got, wanted 200 (see $log)"
  echo "ok: $1 (200; $log)"
}

# expect_refused WHAT USER PASSWORD REASON: answered 401/403, and Asterisk's log gives REASON for
# that registration (its Call-ID), so the refusal is the one meant (a wrong secret, no endpoint).
expect_refused() {
  local got log callid
  read -r got log < <(register "$2" "$3")
  [ "$got" = 401 ] || [ "$got" = 403 ] || fail "$1: registration answered $got, wanted 401 or 403 (see $log)"
  callid=$(grep -m1 -oE '^Call-ID: [^[:space:]]+' "$log" | cut -d' ' -f2)
  for _ in $(seq 1 20); do
    grep -F "(callid: $callid) - $4" "$WORK/astlog/full" > /dev/null && { echo "ok: $1 ($got, Asterisk: $4; $log)"; return; }
    sleep 0.5
  done
  fail "$1: answered $got but Asterisk's log has no '$4' for call-id $callid (see $WORK/astlog/full)"
}

# call_test LABEL PASSWORD-1000 PASSWORD-1001: 1001 registers and answers, 1000 calls it.
call_test() {
  step "call 1000 -> 1001 through the realtime dialplan ($1)"
  local caller=$LOGS/call-$1-caller.log callee=$LOGS/call-$1-callee.log callee_pid
  (sleep 16; echo q) | timeout 30 "$PJSUA" --null-audio --no-tcp --local-port=5071 --id sip:1001@127.0.0.1 \
    --registrar "sip:127.0.0.1:$SIP_PORT" --realm '*' --username 1001 --password "$3" --auto-answer=200 \
    --duration=10 --log-file="$callee" > /dev/null 2>&1 &
  callee_pid=$!
  # pjsua's log file is buffered until it exits: ask Asterisk for 1001's contact instead.
  for _ in $(seq 1 40); do ast_has "pjsip show aor 1001" 'sip:1001@127.0.0.1:5071' && break; sleep 0.5; done
  ast_has "pjsip show aor 1001" 'sip:1001@127.0.0.1:5071' ||
    fail "the callee 1001 did not register (see $callee once it exits)"
  (sleep 8; echo q) | timeout 20 "$PJSUA" --null-audio --no-tcp --local-port=5072 --id sip:1000@127.0.0.1 \
    --registrar "sip:127.0.0.1:$SIP_PORT" --realm '*' --username 1000 --password "$2" --duration=3 \
    --log-file="$caller" "sip:1001@127.0.0.1:$SIP_PORT" > /dev/null 2>&1 || true
  wait "$callee_pid" || true
  # Both legs confirmed: Asterisk bridged 1000's call to the phone registered as 1001.
  grep -q 'state changed to CONFIRMED' "$caller" || fail "the call was not answered (see $caller)"
  grep -q 'state changed to CONFIRMED' "$callee" || fail "1001 did not answer the call (see $callee)"
  echo "ok: call answered by 1001 ($caller, $callee)"
}

build_asterisk
build_pjsua
start_astldap
start_asterisk
echo "versions: $(ast -rx 'core show version' | head -1 | cut -d' ' -f1-2), pjsua $("$PJSUA" --version 2>&1 | sed -n 's/.*PJ_VERSION *: *//p' | head -1)"

step "before rotation"
expect_registered "1000 with alice-secret" 1000 alice-secret
expect_registered "1001 with bob-secret" 1001 bob-secret
call_test before alice-secret bob-secret

step "rotate through the admin API (schema asterisk)"
A=http://127.0.0.1:$ADMIN_PORT/v1
api -X POST -d "{\"binddn\":\"cn=admin,dc=example,dc=domain\",\"bindpass\":\"secret\",\"schema\":\"asterisk\"}" "$A/ldap/config"
api -X POST -d '{"dn":"cn=1000,ou=auths,ou=pjsip,dc=example,dc=domain","rotation_period":"24h"}' "$A/ldap/static-role/pj1000"
api -X POST -d '{"dn":"cn=1001,ou=auths,ou=pjsip,dc=example,dc=domain","rotation_period":"24h"}' "$A/ldap/static-role/pj1001"
P1000=$(api "$A/ldap/static-cred/pj1000" | jq -r .data.password)
P1001=$(api "$A/ldap/static-cred/pj1001" | jq -r .data.password)
for p in "$P1000" "$P1001"; do
  if [ -z "$p" ] || [ "$p" = null ]; then fail "no password from static-cred/pj1000 or pj1001"; fi
done
for r in pj1000 pj1001; do echo "$r: $(api "$A/ldap/static-cred/$r" | jq -c .data.asterisk)"; done

step "after rotation"
expect_registered "1000 with the new password" 1000 "$P1000"
expect_refused "1000 with alice-secret" 1000 alice-secret "Failed to authenticate"
expect_registered "1001 with the new password" 1001 "$P1001"
expect_refused "1001 with bob-secret" 1001 bob-secret "Failed to authenticate"
call_test after "$P1000" "$P1001"

step "a trunk's outbound auth is not rotated; 1001 leaves userpass for md5 (asterisk_userpass_to_md5)"
code=$(curl -s -o "$LOGS/trunk-role.json" -w '%{http_code}' -H "X-Vault-Token: live-root-token" -X POST \
  -d '{"dn":"cn=provider,ou=auths,ou=pjsip,dc=example,dc=domain","rotation_period":"24h"}' "$A/ldap/static-role/trunk")
[ "$code" = 400 ] || fail "static-role on the provider's outbound auth answered $code, wanted 400 (see $LOGS/trunk-role.json)"
echo "ok: outbound auth refused (400: $(jq -r '.errors[0]' "$LOGS/trunk-role.json" | cut -c1-90)...)"
api -X POST -d '{"asterisk_userpass_to_md5":true}' "$A/ldap/config"
api -X POST "$A/ldap/rotate-role/pj1001"
P1001B=$(api "$A/ldap/static-cred/pj1001" | jq -r .data.password)
AUTH1001=$(ldapsearch -LLL -o ldif-wrap=no -x -H "ldap://127.0.0.1:$LDAP_PORT" -D cn=admin,dc=example,dc=domain -w secret \
  -b cn=1001,ou=auths,ou=pjsip,dc=example,dc=domain -s base)
if ! grep -q '^AstPjsipAuthAuthType: md5$' <<< "$AUTH1001" || ! grep -q '^AstPjsipAuthMd5Cred: ' <<< "$AUTH1001" ||
  grep -q '^AstAccountSecret:' <<< "$AUTH1001"; then
  fail "1001's auth is not md5 without a cleartext secret: $AUTH1001"
fi
echo "ok: 1001's auth is md5_cred now, no cleartext secret stored"
expect_registered "1001 (md5 now) with the newest password" 1001 "$P1001B"
expect_refused "1001 with the previous password" 1001 "$P1001" "Failed to authenticate"

step "a temporary phone from a dynamic role"
CREATION=$(sed -n '/^cat > creation.ldif/,/^LDIF$/p' "$REPO/docs/asterisk.md" | sed '1d;$d')
DELETION=$(sed -n '/^cat > deletion.ldif/,/^LDIF$/p' "$REPO/docs/asterisk.md" | sed '1d;$d')
jq -n --arg c "$CREATION" --arg d "$DELETION" \
  '{creation_ldif: $c, deletion_ldif: $d, username_template: "tmp{{random 8}}", default_ttl: "1h", max_ttl: "2h"}' |
  api -X POST -d @- "$A/ldap/role/phone"
CREDS=$(api "$A/ldap/creds/phone")
U=$(jq -r .data.username <<< "$CREDS"); P=$(jq -r .data.password <<< "$CREDS"); L=$(jq -r .lease_id <<< "$CREDS")
expect_registered "temporary phone $U" "$U" "$P"
api -X PUT -d "{\"lease_id\":\"$L\"}" "$A/sys/leases/revoke"
expect_refused "temporary phone after revoke" "$U" "$P" "No matching endpoint found"

echo "PASS: live Asterisk test"
