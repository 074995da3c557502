# Shared by migrate.sh and sipmigrate.sh (sourced, not run): an Asterisk whose directories all
# live under one root, started and stopped by its pid, and pjsua registrations and calls checked
# by their final SIP answers and Asterisk's log. The caller sets AST (the installation), MODDIR,
# PJSUA, LOGS, SIP_PORT and the array pids (stopped by the caller's EXIT trap).

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# write_asterisk_conf ROOT: an asterisk.conf whose directories all live under ROOT (the modules
# are MODDIR's, the sounds and other data the installation's).
write_asterisk_conf() {
  local root=$1
  mkdir -p "$root/etc" "$root/run" "$root/log" "$root/lib" "$root/spool" "$root/cache"
  cat > "$root/etc/asterisk.conf" <<CONF
[directories]
astcachedir => $root/cache
astetcdir => $root/etc
astmoddir => $MODDIR
astvarlibdir => $root/lib
astdbdir => $root/lib
astkeydir => $root/lib
astdatadir => $AST/var/lib/asterisk
astagidir => $root/lib/agi
astspooldir => $root/spool
astrundir => $root/run
astlogdir => $root/log
CONF
  printf '[general]\n[logfiles]\nfull => notice,warning,error,verbose,debug\n' > "$root/etc/logger.conf"
}

ROOT= # the running Asterisk's root (ast, ast_has and expect_refused talk to it)
AST_PID=
ast() { "$AST/sbin/asterisk" -C "$ROOT/etc/asterisk.conf" "$@"; }
# ast_has COMMAND PATTERN (captured first: `ast -rx | grep -q` fails under pipefail, see run.sh)
ast_has() {
  local out
  out=$(ast -rx "$1" 2>/dev/null) || return 1
  grep -q -- "$2" <<< "$out"
}

# start_asterisk ROOT [ENDPOINT]: started in the foreground mode as a background job, ready once
# fully booted and ENDPOINT (if given) is listed (a realtime one is looked up in the directory).
start_asterisk() {
  ROOT=$1
  "$AST/sbin/asterisk" -C "$ROOT/etc/asterisk.conf" -f -vvv > "$ROOT/log/asterisk.out" 2>&1 &
  AST_PID=$!
  pids+=("$AST_PID")
  for _ in $(seq 1 240); do
    { [ -z "${2:-}" ] || ast_has "pjsip show endpoints" "Endpoint:  $2"; } && ast_has "core waitfullybooted" "fully booted" && return
    kill -0 "$AST_PID" 2>/dev/null || fail "Asterisk exited (see $ROOT/log/asterisk.out)"
    sleep 0.5
  done
  fail "Asterisk did not boot or show endpoint ${2:-} (see $ROOT/log/asterisk.out and $ROOT/log/full)"
}

stop_asterisk() {
  ast -rx "core stop now" > /dev/null 2>&1 || kill "$AST_PID" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$AST_PID" 2>/dev/null || return 0; sleep 0.5; done
  kill -9 "$AST_PID" 2>/dev/null || true
}

# register USER PASSWORD: prints the final status pjsua saw and its log (see run.sh: a refused
# registration ends in pjsua's own PJSIP_EFAILEDCREDENTIAL, so the last final answer counts).
register() {
  local log status
  log=$LOGS/reg-$(date +%H%M%S)-$1.log
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
expect_registered() { # WHAT USER PASSWORD
  local got log
  read -r got log < <(register "$2" "$3")
  [ "$got" = 200 ] || fail "$1: registration answered $got, wanted 200 (see $log)"
  echo "ok: $1 (200)"
}
expect_refused() { # WHAT USER PASSWORD REASON-IN-ASTERISK'S-LOG
  local got log callid
  read -r got log < <(register "$2" "$3")
  [ "$got" = 401 ] || [ "$got" = 403 ] || fail "$1: registration answered $got, wanted 401 or 403 (see $log)"
  callid=$(grep -m1 -oE '^Call-ID: [^[:space:]]+' "$log" | cut -d' ' -f2)
  for _ in $(seq 1 20); do
    grep -F "(callid: $callid) - $4" "$ROOT/log/full" > /dev/null && { echo "ok: $1 ($got, Asterisk: $4)"; return; }
    sleep 0.5
  done
  fail "$1: answered $got but Asterisk's log has no '$4' for call-id $callid (see $ROOT/log/full)"
}

# start_callee LOG USER PASSWORD: a pjsua that registers as USER from SIP_PORT+11 and answers
# every call (its pid in CALLEE_PID), once Asterisk lists its contact (pjsua's log is written
# only when it exits, so Asterisk is asked).
CALLEE_PID=
start_callee() {
  local port=$((SIP_PORT + 11))
  (sleep 16; echo q) | timeout 30 "$PJSUA" --null-audio --no-tcp --local-port=$port \
    --id "sip:$2@127.0.0.1" --registrar "sip:127.0.0.1:$SIP_PORT" --realm '*' --username "$2" --password "$3" \
    --auto-answer=200 --duration=10 --log-file="$1" > /dev/null 2>&1 &
  CALLEE_PID=$!
  for _ in $(seq 1 40); do ast_has "pjsip show aor $2" "sip:$2@127.0.0.1:$port" && break; sleep 0.5; done
  ast_has "pjsip show aor $2" "sip:$2@127.0.0.1:$port" || fail "the callee $2 did not register (see $1)"
}

# call_test LABEL CALLER CALLER-PASSWORD CALLEE CALLEE-PASSWORD: the callee registers and answers,
# the caller dials the callee's extension in its own context.
call_test() {
  local caller=$LOGS/call-$1-caller.log callee=$LOGS/call-$1-callee.log
  start_callee "$callee" "$4" "$5"
  (sleep 8; echo q) | timeout 20 "$PJSUA" --null-audio --no-tcp --local-port=$((SIP_PORT + 12)) \
    --id "sip:$2@127.0.0.1" --registrar "sip:127.0.0.1:$SIP_PORT" --realm '*' --username "$2" --password "$3" \
    --duration=3 --log-file="$caller" "sip:$4@127.0.0.1:$SIP_PORT" > /dev/null 2>&1 || true
  wait "$CALLEE_PID" || true
  grep -q 'state changed to CONFIRMED' "$caller" || fail "$1: the call $2 -> $4 was not answered (see $caller)"
  grep -q 'state changed to CONFIRMED' "$callee" || fail "$1: $4 did not answer (see $callee)"
  echo "ok: $1: $2 called $4, both legs CONFIRMED"
}

# norm FILE: colours stripped, whitespace collapsed, borders and "Objects found" count lines
# dropped, secrets shown only as <set>, run-time counters ("exp. 4s", "login was 4 secs ago"),
# the state of a trunk's registration (one that cannot reach its provider is Unregistered or
# Rejected depending on how far its first attempt got) and app_queue's "(realtime)" member tag
# dropped, rows sorted (the two backends list objects in different orders).
norm() {
  sed -E -e $'s/\x1b\\[[0-9;]*m//g' -e 's/\r$//' -e 's/[[:space:]]+/ /g' -e 's/^ //' -e 's/ $//' "$1" |
    sed -E -e 's/^(=== ==> (password|secret)): .*/\1: <hidden>/I' \
      -e 's/^(password|password_digest|md5_cred|oauth_secret|refresh_token) : .+/\1 : <set>/' \
      -e 's/ (Unregistered|Rejected|Registered|Stopped) \(exp\. [0-9]+s( ago)?\)$/ <status> (exp. Ns)/' \
      -e 's/\(exp\. [0-9]+s( ago)?\)/(exp. Ns)/' -e 's/ \(login was [0-9]+ secs? ago\)//' -e 's/ \(realtime\)//' |
    awk '!/^$/ && !/^[=-]+$/ && !/^Objects found: [0-9]+$/' | LC_ALL=C sort
}

# Realtime dialplan rows are not shown by `dialplan show` (pbx_realtime answers per lookup), so a
# dialplan is compared as rows "context exten priority App(data)": static_dialplan_rows parses
# Asterisk's own `dialplan show`, ldif_dialplan_rows reads LDIF (stdin) with the attribute names
# of res_ldap.conf's [extensions] (continuation lines joined; entries without a priority, such as
# mailboxes, which have a context too, are not rows).
static_dialplan_rows() { # dialplan show output; a label is printed as "(label)" after the row
  awk '
    /^\[ Context / { ctx = $0; sub(/^\[ Context \047/, "", ctx); sub(/\047.*/, "", ctx); next }
    /^ *\047[^\047]+\047/ { ex = $0; sub(/^ *\047/, "", ex); sub(/\047.*/, "", ex) }
    /^ *(\047[^\047]*\047( \(CID match \047[^\047]*\047\))? *=> *)?hint: / {
      h = $0; sub(/^.*hint: */, "", h); sub(/ *\[[^]]*\]$/, "", h); print ctx, ex, "hint", h; next
    }
    /^ *(\047[^\047]*\047( \(CID match \047[^\047]*\047\))? *=> *)?(\[[^]]*\] *)?[0-9]+\. / {
      line = $0; lab = ""
      if (match(line, /\(CID match \047[^\047]*\047\)/)) { cid = substr(line, RSTART + 12, RLENGTH - 14) } else { cid = "" }
      sub(/^ *(\047[^\047]*\047( \(CID match \047[^\047]*\047\))? *=> *)?/, "", line)
      if (match(line, /^\[[^]]*\]/)) { lab = " (" substr(line, 2, RLENGTH - 2) ")"; sub(/^\[[^]]*\] */, "", line) }
      prio = line; sub(/\..*/, "", prio); app = line; sub(/^[0-9]+\. */, "", app); sub(/ *\[[^]]*\]$/, "", app)
      print ctx, ex (cid != "" ? "/" cid : ""), prio, app lab
    }' "$1" | LC_ALL=C sort
}
ldif_dialplan_rows() {
  awk '/^ / && started { buf = buf substr($0, 2); next } started { print buf } { buf = $0; started = 1 } END { if (started) print buf }' |
    awk '/^AstContext: / { c = substr($0, 13) } /^AstExtension: / { e = substr($0, 15) }
      /^AstPriority: / { p = substr($0, 14) } /^AstApplication: / { a = substr($0, 17) }
      /^AstApplicationData: / { d = substr($0, 21) }
      /^$/ { if (p != "") print c, e, p, a "(" d ")"; c = e = p = a = d = "" }
      END { if (p != "") print c, e, p, a "(" d ")" }' | LC_ALL=C sort
}
