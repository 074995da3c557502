#!/usr/bin/env bash
# Opt-in (not CI): `astldap asterisk convert` on Asterisk's own stock sample configs, taken from a
# fetched Asterisk checkout and never committed (docs/migration-run.md has the recorded run):
# configs/samples/{pjsip,voicemail,queues,extensions}.conf.sample of TAG and sip.conf.sample of
# SIP_TAG (chan_sip and its sample left the tree in Asterisk 21), renamed to .conf in one
# directory. Prints the conversion report; with an Asterisk built by run.sh (LIVE), also loads
# the sample extensions.conf into it statically and compares its `dialplan show` with the
# converted dialplan rows.
#
#   ASTERISK_GIT=/path/to/asterisk/.git scripts/asterisk-live/samples.sh   # a git dir (bare is fine)
#   ASTERISK_SRC=/path/to/asterisk scripts/asterisk-live/samples.sh        # a tree; SIP_SAMPLE=FILE
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/astsamples}
TAG=${TAG:-22.10.1}
LIVE=${LIVE:-/tmp/astldap-asterisk-live}
AST=$LIVE/asterisk
MODDIR=$AST/lib/asterisk/modules
umask 077
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
# shellcheck source=scripts/asterisk-live/lib.sh
. "$REPO/scripts/asterisk-live/lib.sh"
[ -f "$REPO/dist/cli/main.js" ] || fail "astldap is not built (npx tsc -p .)"

rm -rf "$WORK/samples" "$WORK/static-out" "$WORK/logs" "$WORK/asterisk"
mkdir -p "$WORK/samples" "$WORK/logs"
LOGS=$WORK/logs
S=$WORK/samples
if [ -n "${ASTERISK_GIT:-}" ]; then
  g() { git --git-dir="$ASTERISK_GIT" "$@"; }
  SIP_TAG=${SIP_TAG:-$(g tag --list '20.*' | grep -E '^20\.[0-9]+\.[0-9]+$' | sort -V | tail -1)}
  [ -n "$SIP_TAG" ] || fail "no 20.x release tag in $ASTERISK_GIT for sip.conf.sample (set SIP_TAG)"
  for f in pjsip voicemail queues extensions; do g show "$TAG:configs/samples/$f.conf.sample" > "$S/$f.conf"; done
  g show "$SIP_TAG:configs/samples/sip.conf.sample" > "$S/sip.conf"
  echo "samples: $TAG (commit $(g rev-parse --short "$TAG^{commit}")), sip.conf.sample from $SIP_TAG ($(g rev-parse --short "$SIP_TAG^{commit}"))"
else
  : "${ASTERISK_SRC:?set ASTERISK_GIT to an Asterisk git directory or ASTERISK_SRC to a source tree}"
  for f in pjsip voicemail queues extensions; do cp "$ASTERISK_SRC/configs/samples/$f.conf.sample" "$S/$f.conf"; done
  if [ -n "${SIP_SAMPLE:-}" ]; then cp "$SIP_SAMPLE" "$S/sip.conf"; else echo "(no SIP_SAMPLE: sip.conf left out)"; fi
  echo "samples: $ASTERISK_SRC ($(cat "$ASTERISK_SRC/.version" 2>/dev/null || echo 'version unknown'))"
fi
wc -l "$S"/*.conf | sed 's/^/  /'
echo "lines that are not comments or blank (what Asterisk reads):"
for f in "$S"/*.conf; do printf '  %-16s %s\n' "$(basename "$f")" "$(grep -cvE '^[[:space:]]*(;|$)' "$f")"; done

step "convert (report below; LDIF in $WORK/samples.ldif, JSON report in $WORK/report.json)"
rc=0
node "$REPO/dist/cli/main.js" asterisk convert "$S" -o "$WORK/samples.ldif" --static-out "$WORK/static-out" \
  2> "$LOGS/report.txt" || rc=$?
node "$REPO/dist/cli/main.js" asterisk convert "$S" --json > "$WORK/report.json" 2> /dev/null || true
sed 's/^/  /' "$LOGS/report.txt"
[ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "convert exited $rc (see $LOGS/report.txt)"
echo "convert exit $rc; by reason:"
grep -oE '^  not converted [^:]+:[0-9]+: .*  \((.*)\)$' "$LOGS/report.txt" | sed -E 's/^.*  \((.*)\)$/\1/' |
  sed -E 's/\[[^]]+\]/[..]/g; s/label \([^)]*\) dropped: realtime rows have no labels, only priority [0-9]+/label dropped: realtime rows have no labels/' |
  sort | uniq -c | sort -rn | sed 's/^/  /'

# The pjsip and sip samples are nearly all comments: their example sections and options,
# uncommented (a [section] or key=value line after one ";"), exercise the converters far more.
# Not a configuration anyone runs (several examples share names): only a crash, an exit 1 or 2
# or a reason no converter gives fails here; the report is kept.
step "the pjsip.conf and sip.conf samples with their examples uncommented"
U=$WORK/uncommented && rm -rf "$U" && mkdir -p "$U"
for f in pjsip sip; do
  [ -f "$S/$f.conf" ] || continue
  sed -E -e 's/^;(\[[^]]+\](\([^)]*\))?)[[:space:]]*(;.*)?$/\1/' -e 's/^;([A-Za-z_0-9-]+[[:space:]]*=>?[^;]*)(;.*)?$/\1/' \
    "$S/$f.conf" > "$U/$f.conf"
  printf '  %-16s %s lines read\n' "$f.conf" "$(grep -cvE '^[[:space:]]*(;|$)' "$U/$f.conf")"
done
rc2=0
node "$REPO/dist/cli/main.js" asterisk convert "$U" -o "$WORK/uncommented.ldif" 2> "$LOGS/uncommented-report.txt" || rc2=$?
grep -vE '^  ' "$LOGS/uncommented-report.txt" | sed 's/^/  /'
[ "$rc2" = 0 ] || [ "$rc2" = 3 ] || fail "convert of the uncommented samples exited $rc2 (see $LOGS/uncommented-report.txt)"
echo "  by reason:"
grep -oE '^  not converted [^:]+:[0-9]+: .*  \((.*)\)$' "$LOGS/uncommented-report.txt" | sed -E 's/^.*  \((.*)\)$/\1/' |
  sed -E 's/cn=[^ ]+/DN/g; s/"[^"]*"/"X"/g; s/\[[^]]+\]/[..]/g' | sort | uniq -c | sort -rn | sed 's/^/  /'

if [ ! -x "$AST/sbin/asterisk" ]; then
  echo "no Asterisk at $AST: the dialplan is not compared (run scripts/asterisk-live/run.sh to build one)"
  exit 0
fi
step "the sample extensions.conf in Asterisk $("$AST/sbin/asterisk" -V | cut -d' ' -f2) statically: dialplan show vs the converted rows"
A=$WORK/asterisk
write_asterisk_conf "$A"
cp "$S/extensions.conf" "$A/etc/"
printf '[modules]\nautoload=no\nload => pbx_config.so\n' > "$A/etc/modules.conf"
start_asterisk "$A" ""
ast -rx "dialplan show" > "$WORK/dialplan_show.txt" 2>&1
stop_asterisk
# Labels aside (realtime rows have none: the report lists each), the rows must be equal.
static_dialplan_rows "$WORK/dialplan_show.txt" | sed -E 's/ \([A-Za-z0-9_-]+\)$//' | LC_ALL=C sort > "$WORK/static-rows.txt"
ldif_dialplan_rows < "$WORK/samples.ldif" > "$WORK/converted-rows.txt"
# Hints and caller-ID matches stay static (--static-out's extensions.conf): a sample with one would
# show it here as a static row with no converted one (22.10.1's sample has none).
echo "static rows: $(wc -l < "$WORK/static-rows.txt"), converted rows: $(wc -l < "$WORK/converted-rows.txt")"
if diff -u "$WORK/static-rows.txt" "$WORK/converted-rows.txt" > "$WORK/rows.diff"; then
  echo "ok: every dialplan row Asterisk parsed from the sample is a converted row, and no other"
else
  sed 's/^/  /' "$WORK/rows.diff"
  fail "the converted dialplan differs from Asterisk's parse of the sample (see $WORK/rows.diff)"
fi
echo "PASS: stock samples converted (exit $rc; every line not converted is listed above with its reason)"
