#!/usr/bin/env bash
# The built `stsvend` CLI end to end: vectors check (exit code and last line), token generate ->
# token decode round trips (plain, --json, --state), and bad input -> one stderr line, exit 2.
# Usage: cli_test.sh <stsvend binary> <source dir>
set -uo pipefail
bin="$1"
src="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# run <expected exit> <args...>: captures stdout/stderr in $out/$err.
run() {
  local want="$1"; shift
  "$bin" "$@" >"$work/out" 2>"$work/err"
  local got=$?
  out="$(cat "$work/out")"
  err="$(cat "$work/err")"
  if [ "$got" != "$want" ]; then
    fail "stsvend $* -> exit $got, expected $want; stderr: $err"
    return 1
  fi
  return 0
}

cat >"$work/meter.cfg" <<'EOF'
name: cli_test
key_expiry_no: 255
encryption_algorithm: sta
token_carrier_type: numeric
decoder_key_generation_algorithm: 02
tariff_index: 01
key_revision_no: 1
vending_key: abababababababab
supply_group_code: 123456
key_type: 2
base_date: 1993
issuer_identification_no: 600727
EOF
cfg93="$work/meter.cfg"
# Base date 1993 ran out of TIDs in 2024: "now" needs a later base date.
sed 's/^base_date: 1993$/base_date: 2014/' "$cfg93" >"$work/meter14.cfg"
cfg="$work/meter14.cfg"
drn=00000000000

# --- vectors check -------------------------------------------------------------------------------
vectors="${STS_VECTORS:-$src/../shared/sts/vectors.json}"
if [ -f "$vectors" ]; then
  if run 0 vectors check "$vectors"; then
    last="$(tail -n 1 "$work/out")"
    [[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed$ ]] || fail "vectors check last line: '$last'"
  fi
  # STS_VECTORS is used when FILE is omitted.
  STS_VECTORS="$vectors" run 0 vectors check || true
  # A tampered file fails with exit 1 and says so on the last line.
  python3 - "$vectors" "$work/bad.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
case = next(c for c in d["cases"] if c.get("tokens"))
t = case["tokens"][0]
case["tokens"][0] = t[:-1] + str((int(t[-1]) + 1) % 10)
json.dump(d, open(sys.argv[2], "w"))
EOF
  if run 1 vectors check "$work/bad.json"; then
    [[ "$(tail -n 1 "$work/out")" =~ ^[0-9]+\ passed,\ 1\ failed$ ]] || fail "tampered last line: $(tail -n 1 "$work/out")"
    grep -q '^FAIL ' "$work/out" || fail "tampered file: no FAIL line"
  fi
else
  echo "note: $vectors absent; vectors check against the shared file skipped" >&2
fi
run 2 vectors check "$work/missing.json" || true
[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "missing file: expected one stderr line, got: $err"
printf '{' >"$work/broken.json"
run 2 vectors check "$work/broken.json" || true

# --- token generate -> decode --------------------------------------------------------------------
# REFERENCE.md §10.1: CTSA01 step 1.
if run 0 token generate --config "$cfg93" --drn "$drn" --class 0 --subclass 0 --amount 0.1 \
      --token-id 2004-03-01T13:55:00Z --random-no 5; then
  [ "$out" = "2371-6100-5011-8319-4197" ] || fail "generate: got '$out'"
fi
if run 0 token generate --config "$cfg93" --drn "$drn" --class 0 --subclass 0 --amount 0.1 \
      --token-id 2004-03-01T13:55:00Z --random-no 5 --json; then
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); t=d["tokens"][0];
assert t["token_no"]=="23716100501183194197" and t["token_type"]=="Electricity_00" and t["class"]==0 and t["subclass"]==0 and t["tid"]==5871715, d' "$out" \
    || fail "generate --json: $out"
fi
if run 0 token decode --config "$cfg93" --drn "$drn" 2371-6100-5011-8319-4197 --json; then
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); t=d[0];
assert t["result"]=="accepted" and t["class"]==0 and t["subclass"]==0 and t["tid"]==5871715 and t["random_no"]==5 and t["amount"]=="0.1" and t["token_type"]=="Electricity_00", d' "$out" \
    || fail "decode --json: $out"
fi
run 0 token decode --config "$cfg93" --drn "$drn" 23716100501183194197 || true
[[ "$out" == *accepted* ]] || fail "decode text: $out"

# Default TID (now) and RND (random) still round-trip.
if run 0 token generate --config "$cfg" --drn "$drn" --class 2 --subclass 0 --maximum-power-limit 5000 --json; then
  tok="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["tokens"][0]["token_no"])' "$out")"
  run 0 token decode --config "$cfg" --drn "$drn" --json "$tok" || true
  python3 -c 'import json,sys; t=json.loads(sys.argv[1])[0]; assert t["result"]=="accepted" and t["maximum_power_limit"]==5000, t' "$out" \
    || fail "MPL round trip: $out"
fi

# --state: a used token is refused the second time; the file is private.
state="$work/meter.state"
tok="$("$bin" token generate --config "$cfg" --drn "$drn" --class 0 --subclass 0 --amount 12.5 --token-id 2020-01-01T00:00Z)"
run 0 token decode --config "$cfg" --drn "$drn" --state "$state" "$tok" || true
[ -f "$state" ] || fail "state file not written"
[ "$(stat -c %a "$state")" = 600 ] || fail "state file mode $(stat -c %a "$state")"
run 1 token decode --config "$cfg" --drn "$drn" --state "$state" --json "$tok" || true
python3 -c 'import json,sys; assert json.loads(sys.argv[1])[0]["result"]=="USED"' "$out" || fail "second entry: $out"

# A key change set moves the meter; credit under the old key then fails.
kct="$("$bin" token generate --config "$cfg" --drn "$drn" --class 2 --subclass 3 --new-vending-key 0123456789abcdef \
        --new-key-revision-no 2 | tr '\n' ' ')"
set -- $kct
[ $# = 2 ] || fail "key change set: '$kct'"
run 0 token decode --config "$cfg" --drn "$drn" --state "$state" --json "$@" || true
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert [t["result"] for t in d]==["KEY_CHANGE_PENDING","accepted"], d' "$out" \
  || fail "key change: $out"
old="$("$bin" token generate --config "$cfg" --drn "$drn" --class 0 --subclass 0 --amount 1 --token-id 2020-01-02T00:00Z)"
run 1 token decode --config "$cfg" --drn "$drn" --state "$state" --json "$old" || true
python3 -c 'import json,sys; assert json.loads(sys.argv[1])[0]["result"]=="CRC"' "$out" || fail "old key after change: $out"

# --- bad input -> exit 2, one line naming the field -----------------------------------------------
expect_bad() {
  local field="$1"; shift
  run 2 "$@" || return
  [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$*: expected one stderr line, got: $err"
  [[ "$err" == *"$field"* ]] || fail "$*: stderr does not name $field: $err"
  [ -z "$out" ] || fail "$*: printed to stdout: $out"
}
expect_bad amount token generate --config "$cfg" --drn "$drn" --class 0 --subclass 0 --amount -5
expect_bad amount token generate --config "$cfg" --drn "$drn" --class 0 --subclass 0
expect_bad drn token generate --config "$cfg" --drn 123 --class 0 --subclass 0 --amount 5
expect_bad class token generate --config "$cfg" --drn "$drn" --class 7 --subclass 0 --amount 5
expect_bad subclass token generate --config "$cfg" --drn "$drn" --class 0 --subclass 9 --amount 5
expect_bad random_no token generate --config "$cfg" --drn "$drn" --class 0 --subclass 0 --amount 5 --random-no 16
expect_bad token_id token generate --config "$cfg" --drn "$drn" --class 0 --subclass 0 --amount 5 --token-id 2000-01-01T00:00Z
expect_bad manufacturer_code token generate --config "$cfg" --drn "$drn" --class 1 --subclass 0 --control 1 --manufacturer-code 100
expect_bad new_vending_key token generate --config "$cfg" --drn "$drn" --class 2 --subclass 3
expect_bad config token generate --config "$work/nope.cfg" --drn "$drn" --class 0 --subclass 0 --amount 5
sed 's/^key_type: 2$/key_type: 9/' "$cfg" >"$work/bad.cfg"
expect_bad key_type token generate --config "$work/bad.cfg" --drn "$drn" --class 0 --subclass 0 --amount 5
expect_bad TOKEN token decode --config "$cfg" --drn "$drn" 1234
expect_bad config token generate --drn "$drn" --class 0 --subclass 0 --amount 5
# Key material never appears in output or errors.
for f in "$work"/out "$work"/err; do
  grep -qi abababababababab "$f" && fail "vending key printed in $f"
done

# --- help with examples ---------------------------------------------------------------------------
for cmd in "token generate" "token decode" "vectors check"; do
  run 0 $cmd --help || continue
  [[ "$out" == *Examples* ]] || fail "$cmd --help has no examples"
done

if [ "$failures" -ne 0 ]; then
  echo "$failures CLI check(s) failed" >&2
  exit 1
fi
echo "CLI checks passed"
