#!/usr/bin/env bash
# Opt-in migration run (issue 20, "Proof"): a real Asterisk on the realistic PBX fixture
# statically, then the same directory converted into a fresh astldap with
# `astldap asterisk convert --apply` and Asterisk switched to the shipped realtime configuration;
# the CLI outputs of both are normalised and diffed, and pjsua phones register and call with the
# converted credentials, after `endpoint passwd` and after `endpoint add`. Not run in CI.
# Reuses the Asterisk and pjsua that run.sh built (LIVE); see README.md here and
# docs/migration-run.md for a real run and every difference explained.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
LIVE=${LIVE:-/tmp/astldap-asterisk-live} # run.sh's WORK: asterisk/, asterisk-src/, pjsua/
WORK=${WORK:-/tmp/astlive}
FIXTURE=${FIXTURE:-$REPO/test/fixtures/asterisk-pbx}
LDAP_PORT=${LDAP_PORT:-1489}  # not run.sh's 1389, so both can run on one machine
SIP_PORT=${SIP_PORT:-5260}    # the fixture's transports bind 0.0.0.0:5060; the copy binds here
AST=$LIVE/asterisk
SUFFIX=dc=example,dc=domain
ADMIN_DN=cn=admin,$SUFFIX
umask 077
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
# shellcheck source=scripts/asterisk-live/lib.sh
. "$REPO/scripts/asterisk-live/lib.sh"

[ -x "$AST/sbin/asterisk" ] || fail "no Asterisk at $AST (run scripts/asterisk-live/run.sh first)"
PJSUA=$(ls "$LIVE"/pjsua/pjsip-apps/bin/pjsua-* 2>/dev/null | head -1 || true)
[ -n "$PJSUA" ] || fail "no pjsua under $LIVE/pjsua (run scripts/asterisk-live/run.sh first)"
[ -f "$REPO/dist/cli/main.js" ] || fail "astldap is not built (npx tsc -p .)"

rm -rf "$WORK/static" "$WORK/realtime" "$WORK/astldap-data" "$WORK/pbx" "$WORK/norm" "$WORK/logs"
mkdir -p "$WORK/logs" "$WORK/norm"
LOGS=$WORK/logs

# --- modules: run.sh's build has no app_voicemail or app_queue; both are cheap to add --------
# (two files of apps/), built in run.sh's tree and copied into a module directory of our own.
MODDIR=$WORK/modules
prepare_modules() {
  local src=$LIVE/asterisk-src m missing=()
  for m in app_voicemail app_queue; do
    [ -f "$src/apps/$m.so" ] || [ -f "$AST/lib/asterisk/modules/$m.so" ] || missing+=("$m")
  done
  if [ "${#missing[@]}" -gt 0 ] && [ -d "$src" ] && [ "${BUILD_APPS:-1}" = 1 ]; then
    step "build ${missing[*]} in $src (menuselect --enable, make apps)"
    local args=()
    for m in "${missing[@]}"; do args+=(--enable "$m"); done
    (cd "$src" && menuselect/menuselect "${args[@]}" menuselect.makeopts > "$LOGS/menuselect.log" 2>&1 &&
      nice -n 19 make apps > "$LOGS/make-apps.log" 2>&1) || fail "building ${missing[*]} (see $LOGS/make-apps.log)"
  fi
  rm -rf "$MODDIR" && mkdir -p "$MODDIR"
  cp -a "$AST/lib/asterisk/modules/." "$MODDIR/"
  for m in app_voicemail app_queue; do
    [ -f "$MODDIR/$m.so" ] || [ ! -f "$src/apps/$m.so" ] || cp "$src/apps/$m.so" "$MODDIR/"
  done
}

# capture DIR: every output the comparison needs, one file per command.
capture() {
  local dir=$1 ep cmd
  mkdir -p "$dir"
  sleep 3 # the outbound registration's first attempt (it cannot succeed: no network) settles
  local cmds=("pjsip show endpoints" "pjsip show aors" "pjsip show auths" "pjsip show registrations"
    "pjsip show identifies" "voicemail show users" "queue show" "dialplan show" "core show version"
    "module show like app_")
  for ep in $VM_CONTEXTS; do cmds+=("voicemail show users for $ep"); done
  for ep in $ENDPOINTS; do cmds+=("pjsip show endpoint $ep"); done
  for ep in $AORS; do cmds+=("pjsip show aor $ep"); done
  for ep in $AUTHS; do cmds+=("pjsip show auth $ep"); done
  for cmd in "${cmds[@]}"; do
    ast -rx "$cmd" > "$dir/${cmd// /_}.txt" 2>&1 || true
  done
}

# Mailboxes as rows "context mailbox fullname zone": app_voicemail prints a table for static
# mailboxes but, for realtime ones, only "voicemail show users for CONTEXT" and as raw columns.
static_mailbox_rows() { # voicemail show users output (format "%-10s %-5s %-25s %-10s %6s")
  awk 'NR > 1 && length($0) > 40 && !/voicemail users configured/ {
      c = substr($0, 1, 10); m = substr($0, 12, 5); f = substr($0, 18, 25); z = substr($0, 44, 10)
      gsub(/ +$/, "", c); gsub(/ +$/, "", m); gsub(/ +$/, "", f); gsub(/ +$/, "", z)
      print c "|" m "|" f "|" z
    }' "$1" | LC_ALL=C sort
}
realtime_mailbox_rows() { # voicemail show users for CONTEXT outputs
  cat "$@" | awk '
    function flush() { if (m != "") print c "|" m "|" f "|" z; c = m = f = z = "" }
    /^=== Mailbox/ { flush() }
    /^=== ==> context: / { c = substr($0, 18) } /^=== ==> mailbox: / { m = substr($0, 18) }
    /^=== ==> fullname: / { f = substr($0, 19) } /^=== ==> tz: / { z = substr($0, 13) }
    END { flush() }' | LC_ALL=C sort
}

# The dialplan is compared as rows (static_dialplan_rows, ldif_dialplan_rows: lib.sh): the
# realtime ones as res_config_ldap is served them, read with ldapsearch.
ldap_dialplan_rows() {
  ldapsearch -LLL -o ldif-wrap=no -x "${CONN[@]}" -b "ou=extensions,$SUFFIX" '(objectClass=AsteriskExtension)' \
    AstContext AstExtension AstPriority AstApplication AstApplicationData | ldif_dialplan_rows
}

# explained_diff FILE.diff: whether every changed line is of a kind docs/migration-run.md explains.
# (Changed lines are collected first, not piped into grep -q: see ast_has.)
explained_diff() {
  local b changed other
  b=$(basename "$1" .diff)
  changed=$(grep -E '^[-+]' "$1" | grep -vE '^(---|\+\+\+) ' || true)
  case $b in
    dialplan_show | voicemail_show_users | voicemail_show_users_for_*) return 0 ;; # realtime formats
    pjsip_show_auth_*) # userpass -> md5 by design: only these lines change
      other=$(grep -vE '^[-+](auth_type|md5_cred|password|password_digest|realm) :' <<< "$changed" || true) ;;
    queue_show) # app_queue takes a template's strategy over the queue's own (see the docs)
      other=$(grep -vE "^[-+][^ ]+ has [0-9]+ calls .* in '[a-z0-9]+' strategy" <<< "$changed" || true) ;;
    dialplan-rows) # labels only: the same row, without its "(label)" after the switch
      other=$(grep -vE '^-.* \([A-Za-z0-9_-]+\)$' <<< "$changed" | sed 's/^+/-/' || true)
      other=$(comm -3 <(grep -E '^-.* \([A-Za-z0-9_-]+\)$' <<< "$changed" | sed -E 's/ \([A-Za-z0-9_-]+\)$//' | sort) \
        <(printf '%s\n' "$other" | grep -v '^$' | sort) || true) ;;
    *) return 1 ;;
  esac
  [ -z "$other" ]
}

astldap() { node "$REPO/dist/cli/main.js" "$@"; }
CONN=(-H "ldap://127.0.0.1:$LDAP_PORT" -D "$ADMIN_DN" -y "$WORK/admin.pw")

prepare_modules
step "the fixture $FIXTURE, transports on 127.0.0.1:$SIP_PORT"
cp -a "$FIXTURE" "$WORK/pbx"
grep -rlE '^bind *= *0\.0\.0\.0:5060' "$WORK/pbx" | while read -r f; do
  sed -i -E "s/^bind *= *0\.0\.0\.0:5060/bind=127.0.0.1:$SIP_PORT/" "$f"
done
# The endpoints every run shows: the fixture's endpoint sections, from the static Asterisk.

step "1. Asterisk on the fixture, statically"
S=$WORK/static
write_asterisk_conf "$S"
cp -a "$WORK/pbx/." "$S/etc/"
printf '[modules]\nautoload=yes\nnoload => res_config_ldap.so\n' > "$S/etc/modules.conf"
start_asterisk "$S" 1001
ENDPOINTS=$(ast -rx "pjsip show endpoints" | sed -nE 's/^ *Endpoint: +([^ /]+).*/\1/p' | grep -v '^<' | sort | tr '\n' ' ')
AORS=$(ast -rx "pjsip show aors" | sed -nE 's/^ *Aor: +([^ ]+).*/\1/p' | grep -v '^<' | sort | tr '\n' ' ')
AUTHS=$(ast -rx "pjsip show auths" | sed -nE 's/^ *Auth: +([^ /]+).*/\1/p' | grep -v '^<' | sort | tr '\n' ' ')
# Realtime mailboxes are only listed per context ("voicemail show users for CONTEXT").
VM_CONTEXTS=$(ast -rx "voicemail show users" | awk 'NR > 1 && !/voicemail users configured/ { print $1 }' | sort -u | tr '\n' ' ')
echo "endpoints: $ENDPOINTS; aors: $AORS; auths: $AUTHS; mailbox contexts: $VM_CONTEXTS"
capture "$S/out"
expect_registered "static: 1001 with its fixture password" 1001 ann-secret
expect_registered "static: 2001 with its password (an escaped ; in the file)" 2001 'vid;eo-secret'
call_test static 1001 ann-secret 1002 ben-secret
stop_asterisk

step "2. convert into a fresh astldap on ldap://127.0.0.1:$LDAP_PORT"
printf '%s' secret > "$WORK/admin.pw" # the shipped config.yaml's administrator password
mkdir -p "$WORK/astldap-data"
: > "$LOGS/astldap.log"
# node itself, not the astldap() function: $! must be the server's pid, to stop it by.
node "$REPO/dist/cli/main.js" serve --config "$REPO/config.yaml" --data "$WORK/astldap-data" --no-admin \
  --listen "ldap://127.0.0.1:$LDAP_PORT" > "$LOGS/astldap.log" 2>&1 &
pids+=($!)
LDAP_PID=$!
up=0
for _ in $(seq 1 150); do grep -q "listening" "$LOGS/astldap.log" && { up=1; break; }; sleep 0.2; done
[ "$up" = 1 ] || fail "astldap did not start (see $LOGS/astldap.log)"
R=$WORK/realtime
write_asterisk_conf "$R"
# The seed's sample mailbox and dialplan rows are not the PBX's: --prune removes them.
rc=0
astldap asterisk convert "$WORK/pbx" --apply --prune --static-out "$R/static" "${CONN[@]}" \
  > "$LOGS/convert.out" 2> "$LOGS/convert.report" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "convert exited $rc (see $LOGS/convert.report)"
echo "convert exit $rc; report: $LOGS/convert.report"
sed 's/^/  /' "$LOGS/convert.report"
rc=0
astldap asterisk convert "$WORK/pbx" --apply --dry-run "${CONN[@]}" > "$LOGS/convert-again.out" 2>&1 || rc=$?
echo "convert again (--dry-run, exit $rc): $(grep -E '^dry run' "$LOGS/convert-again.out" || echo '?')"

step "3. Asterisk on the shipped realtime configuration"
sed -e "s#^url=.*#url=ldap://127.0.0.1:$LDAP_PORT#" "$REPO/data/asterisk/res_ldap.conf" > "$R/etc/res_ldap.conf"
cp "$REPO/data/asterisk/extconfig.conf" "$REPO/data/asterisk/sorcery.conf" "$R/etc/"
cp "$R/static/"*.conf "$R/etc/"
printf '[modules]\nautoload=yes\npreload => res_config_ldap.so\n' > "$R/etc/modules.conf"
start_asterisk "$R" 1001
capture "$R/out"

step "4. normalise and compare"
same=0 differ=0
: > "$WORK/norm/summary.txt"
for f in "$S"/out/*.txt; do
  b=$(basename "$f")
  norm "$f" > "$WORK/norm/static-$b"
  norm "$R/out/$b" > "$WORK/norm/realtime-$b"
  if diff -u "$WORK/norm/static-$b" "$WORK/norm/realtime-$b" > "$WORK/norm/${b%.txt}.diff"; then
    same=$((same + 1)); echo "same:   ${b%.txt}" >> "$WORK/norm/summary.txt"; rm "$WORK/norm/${b%.txt}.diff"
  else
    differ=$((differ + 1)); echo "differ: ${b%.txt}" >> "$WORK/norm/summary.txt"
  fi
done
static_dialplan_rows "$S/out/dialplan_show.txt" > "$WORK/norm/static-dialplan-rows.txt"
# After the switch the dialplan is the LDAP rows plus what stayed in the static file.
{ ldap_dialplan_rows; static_dialplan_rows "$R/out/dialplan_show.txt"; } | LC_ALL=C sort > "$WORK/norm/realtime-dialplan-rows.txt"
if diff -u "$WORK/norm/static-dialplan-rows.txt" "$WORK/norm/realtime-dialplan-rows.txt" > "$WORK/norm/dialplan-rows.diff"; then
  same=$((same + 1)); echo "same:   dialplan rows (static dialplan show vs the LDAP rows)" >> "$WORK/norm/summary.txt"
  rm "$WORK/norm/dialplan-rows.diff"
else
  differ=$((differ + 1)); echo "differ: dialplan rows (static dialplan show vs the LDAP rows)" >> "$WORK/norm/summary.txt"
fi
static_mailbox_rows "$S/out/voicemail_show_users.txt" > "$WORK/norm/static-mailbox-rows.txt"
realtime_mailbox_rows "$R"/out/voicemail_show_users_for_*.txt > "$WORK/norm/realtime-mailbox-rows.txt"
if diff -u "$WORK/norm/static-mailbox-rows.txt" "$WORK/norm/realtime-mailbox-rows.txt" > "$WORK/norm/mailbox-rows.diff"; then
  same=$((same + 1)); echo "same:   mailbox rows (static table vs realtime per context)" >> "$WORK/norm/summary.txt"
  rm "$WORK/norm/mailbox-rows.diff"
else
  differ=$((differ + 1)); echo "differ: mailbox rows (static table vs realtime per context)" >> "$WORK/norm/summary.txt"
fi
cat "$WORK/norm/summary.txt"
echo "$same outputs equal after normalising, $differ differ (diffs: $WORK/norm/*.diff)"
# Every difference must be one docs/migration-run.md explains; anything else fails the run.
unexplained=()
for d in "$WORK"/norm/*.diff; do
  [ -e "$d" ] || continue
  explained_diff "$d" || unexplained+=("$(basename "$d" .diff)")
done
[ "${#unexplained[@]}" = 0 ] || fail "differences no reason is known for: ${unexplained[*]} (see $WORK/norm)"
echo "ok: every difference is one of the explained kinds (docs/migration-run.md)"

step "5. phones on the converted directory"
expect_registered "1001 with its converted credential" 1001 ann-secret
expect_registered "2001 with its converted credential (an escaped ; in the file)" 2001 'vid;eo-secret'
call_test converted 1001 ann-secret 1002 ben-secret
call_test pattern 1001 ann-secret 1003 cat-secret # no row for 1003: the realtime _10XX row
NEWPW=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
astldap asterisk endpoint passwd 1001 --password "$NEWPW" "${CONN[@]}" > "$LOGS/passwd.out" 2>&1 ||
  fail "endpoint passwd 1001 (see $LOGS/passwd.out)"
echo "ok: endpoint passwd 1001"
expect_registered "1001 with the new password" 1001 "$NEWPW"
expect_refused "1001 with the old password" 1001 ann-secret "Failed to authenticate"
call_test after-passwd 1001 "$NEWPW" 1002 ben-secret
# 1001 has a static hint in [phones] and its priorities in realtime rows: both must be found.
call_test to-hint 1002 ben-secret 1001 "$NEWPW"
ADDPW=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
astldap asterisk endpoint add 3001 --password "$ADDPW" --context office "${CONN[@]}" > "$LOGS/add.out" 2>&1 ||
  fail "endpoint add 3001 (see $LOGS/add.out)"
echo "ok: endpoint add 3001"
expect_registered "3001, added by endpoint add" 3001 "$ADDPW"
expect_refused "3001 with a wrong password" 3001 "not-$ADDPW" "Failed to authenticate"
call_test added 3001 "$ADDPW" 1002 ben-secret

stop_asterisk
kill "$LDAP_PID" 2>/dev/null || true
for _ in $(seq 1 50); do kill -0 "$LDAP_PID" 2>/dev/null || break; sleep 0.2; done
echo "PASS: migration run ($same outputs equal, $differ differ: see docs/migration-run.md for why)"
