#!/usr/bin/env bash
# make demo: run the system, then walk through failures, one row per call:
# time, call, latency, answer, and the breakers that matter. Every figure it
# prints is measured as it runs.
#
#   1. One of three AdProvider replicas is killed (kill -9): its breaker in
#      Recommender takes it out of rotation; no call degrades; it comes back.
#   2. AdProvider hangs (SIGSTOP, every replica): calls wait the GetAds
#      deadline until the breaker opens, then house ads come at once.
#   3. AdProvider resumes (SIGCONT): the breaker probes it, closes; real ads.
#   4. PostgreSQL crashes: the database breakers open; Recommender degrades
#      (house ads, last good recommendations); AdProvider's GetAds fails fast.
#   5. PostgreSQL back: every breaker closes.
#   6. An operator forces the GetAds breaker open, then back to AUTO.
# It ends by checking that every breaker is in AUTO and closed. Short open
# periods (demo-breakers.json), so that recovery shows within seconds;
# make run-all uses deploy/breakers.json, the production-like settings.
# Output fits 100 columns.
export BREAKER_CONFIG="${BREAKER_CONFIG:-$(cd "$(dirname "$0")" && pwd)/demo-breakers.json}"
export ADPROVIDER_REPLICAS="${ADPROVIDER_REPLICAS:-3}"
source "$(dirname "$0")/lib.sh"

install_traps
start_all
need_grpcurl
ASIN="$(sample_asin)"
GETADS_BREAKER='adprovider/adprovider.v1.AdProviderService/GetAds'

now_us() { echo "${EPOCHREALTIME/./}"; }
T0=$(now_us)

# call ADDR METHOD JSON: runs one grpcurl call; sets OUT and LAT (ms).
call() {
  local t0
  t0=$(now_us)
  OUT="$(grpcurl -plaintext -connect-timeout 1 -max-time 5 -d "$3" "$1" "$2" 2>&1 || true)"
  LAT=$((($(now_us) - t0) / 1000))
}

# states: the three breakers that matter, as "G:c R:c A:c" (see the legend).
# A service that does not answer in time (a stopped AdProvider) shows -.
states() {
  local g r a
  read -r g r <<<"$(breaker_letters 2 "$RECOMMENDER_ADDR" "$GETADS_BREAKER" recommender/postgres-recommendations)"
  read -r a <<<"$(breaker_letters 0.5 "$ADPROVIDER_ADDR" adprovider/postgres)"
  echo "G:${g:--} R:${r:--} A:${a:--}"
}

# breaker_letters SECONDS ADDR NAME...: one letter per named breaker of a
# service, which has SECONDS to answer.
breaker_letters() {
  local secs=$1 addr=$2
  shift 2
  grpcurl -plaintext -connect-timeout "$secs" -max-time "$secs" "$addr" breaker.v1.BreakerAdminService/ListBreakers 2>/dev/null |
    awk -F'"' -v want="$*" '
      /"name":/  { n = $4 }
      /"state":/ { s[n] = ($4 ~ /HALF_OPEN/) ? "h" : ($4 ~ /_OPEN$/) ? "O" : "c" }
      /"mode":/  { if ($4 ~ /FORCED/) s[n] = s[n] "*" }
      END { k = split(want, w, " "); for (i = 1; i <= k; i++) printf "%s ", (w[i] in s) ? s[w[i]] : "-" }' ||
    true
}

# answer: OUT in a few words. Errors give their code (and CIRCUIT_OPEN);
# degraded answers say what was served instead, and why; an admin call, the
# breaker's mode and state.
answer() {
  if grep -q '^ERROR' <<<"$OUT"; then
    local code
    code="$(sed -n 's/^ *Code: *\(.*\)$/\1/p' <<<"$OUT" | head -n 1)"
    if grep -q CIRCUIT_OPEN <<<"$OUT"; then code+=" CIRCUIT_OPEN"; fi
    echo "error ${code:-(no answer)}"
    return
  fi
  if grep -q '"breaker": {' <<<"$OUT"; then
    awk -F'"' '/"state":/ {s=$4} /"mode":/ {m=$4} END {sub(/BREAKER_STATE_/, "", s); sub(/BREAKER_MODE_/, "", m); print "mode " m ", state " s}' <<<"$OUT"
    return
  fi
  local recs ads deg words=""
  recs="$(grep -c '"reason": "\(co_reviewed\|popular_in_category\|popular\)"' <<<"$OUT" || true)"
  ads="$(grep -c '"adId"' <<<"$OUT" || true)"
  # One line per degradation: dependency, why (a rejection names its
  # breaker: "G open", "A open"), fallback.
  deg="$(awk -F'"' -v g="$GETADS_BREAKER" '
    /"dependency":/ {d=$4; r=""; f=""; b=""}
    /"reason":/ && d {r=$4}
    /"fallback":/ && d {f=$4}
    /"breaker":/ && d {b=$4}
    /^ *}/ && d {
      if (r == "circuit_open" && b == g) r = "G open"
      else if (r == "circuit_open" && b == "recommender/postgres-recommendations") r = "R open"
      else if (r == "circuit_open" && b == "adprovider/postgres") r = "A open"
      print d "|" r "|" f; d=""
    }' <<<"$OUT")"
  local db ad
  db="$(awk -F'|' '$1 == "database" {print $2; exit}' <<<"$deg")"
  ad="$(awk -F'|' '$1 == "adprovider" {print $2; exit}' <<<"$deg")"
  if [ "$recs" -gt 0 ]; then
    if [ -n "$db" ]; then words="$recs last-good recs ($db), "; else words="$recs recs, "; fi
  fi
  if [ -n "$ad" ]; then words+="house ads ($ad)"; else words+="$ads ads"; fi
  echo "$words"
}

# row CALL: prints a row for the last call, or counts it when it is like
# the row before (same call, answer and breakers); flush prints the count.
LAST_KEY="" SAME=0 SAME_MS=0 ST="" PASSED_ON=""
row() {
  local ans key before=$ST
  ans="$(answer)"
  ST="$(states)"
  if [ "$1" = rec.GetAds ]; then
    # A call admitted while G was open or half-open is its probe.
    if [[ "$before" == G:[Oh]* && "$ans" != *"G open"* ]]; then ans="probe: $ans"; fi
    # "A open": AdProvider's own breaker rejected, and its answer said so.
    if [[ "$ans" == *"A open"* ]]; then PASSED_ON=1; fi
  fi
  key="$1|$ans|$ST"
  if [ "$key" = "$LAST_KEY" ]; then
    SAME=$((SAME + 1)) SAME_MS=$((SAME_MS + LAT))
    return
  fi
  flush
  LAST_KEY="$key"
  printf '%7s  %-14s %7s  %-54s %s\n' "+$(elapsed)" "$1" "${LAT} ms" "${ans:0:54}" "$ST"
}
flush() {
  if ((SAME > 0)); then
    printf '%7s  ... %d more alike, %d ms on average\n' "" "$SAME" "$((SAME_MS / SAME))"
  fi
  SAME=0 SAME_MS=0 LAST_KEY=""
}
elapsed() {
  local ms=$((($(now_us) - T0) / 1000))
  printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

get_ads() { call "$RECOMMENDER_ADDR" recommender.v1.RecommenderService/GetAds '{"context_keys": ["pens"], "max_ads": 3}'; }
recommend() { call "$RECOMMENDER_ADDR" recommender.v1.RecommenderService/ListRecommendations "{\"asin\": \"$ASIN\", \"max_results\": 3}"; }
direct_ads() { call "$ADPROVIDER_ADDR" adprovider.v1.AdProviderService/GetAds '{"context_keys": ["pens"]}'; }

step() { flush; printf '\n%s\n' "$*"; }
note() { flush; printf '         -> %s\n' "$*"; }
fmt_ms() { printf '%d.%d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# Every call the demo makes goes through grpcurl, which costs a process start.
call "$RECOMMENDER_ADDR" grpc.health.v1.Health/Check '{}'
call "$RECOMMENDER_ADDR" grpc.health.v1.Health/Check '{}'
BASE=$LAT

cat <<LEGEND

breakwater demo. Each row: time since the start, the call, its latency (grpcurl itself takes
about $BASE ms of it here), the answer, then three breakers: G is Recommender's breaker for
AdProvider's GetAds, R Recommender's recommendations breaker, A AdProvider's database breaker;
c closed, O open, h half-open, * forced by an operator, - the service did not answer;
"house ads (G open)" names the breaker that rejected the call.
rec.* are calls to Recommender, ad.* to AdProvider; a call a half-open or open breaker lets
through is its probe.
LEGEND

step "0. Everything up: real ads, full recommendations."
get_ads && row rec.GetAds
recommend && row rec.ListRecs
direct_ads && row ad.GetAds

# endpoint_successes ADDR: the calls Recommender's breaker of the replica at
# ADDR has seen succeed.
endpoint_successes() {
  { grpcurl -plaintext -max-time 2 -d "{\"name\": \"adprovider@$1\"}" "$RECOMMENDER_ADDR" breaker.v1.BreakerAdminService/GetBreaker 2>/dev/null || true; } |
    awk -F'"' '/"successes":/ {n=$4} END {print n + 0}'
}

if ((ADPROVIDER_REPLICAS < 2)); then
  step "1. Skipped: one AdProvider replica (ADPROVIDER_REPLICAS=$ADPROVIDER_REPLICAS)."
else
  victim="${ADPROVIDERS[-1]}"
  vaddr="$(replica_addr "$ADPROVIDER_ADDR" "$ADPROVIDER_REPLICAS")"
  step "1. One of $ADPROVIDER_REPLICAS AdProvider replicas is killed (kill -9): no call degrades."
  kill -KILL "${PIDS[$victim]}"
  wait "${PIDS[$victim]}" 2>/dev/null || true
  unset "PIDS[$victim]"
  calls=0 degraded=0
  for _ in $(seq 1 30); do
    get_ads && row rec.GetAds
    calls=$((calls + 1))
    if [[ "$OUT" == *'"degraded"'* || "$OUT" == ERROR* ]]; then degraded=$((degraded + 1)); fi
  done
  note "$calls calls, $degraded degraded: the other replicas answered every one"
  start_replica "$ADPROVIDER_REPLICAS" >/dev/null
  wait_ready "$victim" "$(replica_addr "$ADPROVIDER_ADMIN_ADDR" "$ADPROVIDER_REPLICAS")" >/dev/null
  t_back=$(now_us)
  before="$(endpoint_successes "$vaddr")" back=""
  for _ in $(seq 1 50); do
    get_ads && row rec.GetAds
    if (($(endpoint_successes "$vaddr") > before)); then back=$((($(now_us) - t_back) / 1000)) && break; fi
    sleep 0.1
  done
  if [ -n "$back" ]; then
    note "restarted: it answers calls again $(fmt_ms "$back") after it was SERVING"
  else
    note "restarted: it answered no call within 50 rounds"
  fi
fi

step "2. AdProvider hangs (SIGSTOP, every replica): each call waits the GetAds deadline, until G opens."
for name in "${ADPROVIDERS[@]}"; do kill -STOP "${PIDS[$name]}"; done
slow=0 slow_ms=0
for _ in $(seq 1 20); do
  get_ads && row rec.GetAds
  slow=$((slow + 1)) slow_ms=$((slow_ms + LAT))
  [[ "$ST" == G:O* ]] && break
done
fast=0 fast_ms=0
for _ in 1 2 3 4 5; do
  get_ads && row rec.GetAds
  if [[ "$(answer)" == *"G open"* ]]; then fast=$((fast + 1)) fast_ms=$((fast_ms + LAT)); fi
done
note "until G opened: $slow calls, $((slow_ms / slow)) ms on average; then house ads in $((fast_ms / (fast > 0 ? fast : 1))) ms"

step "3. AdProvider resumes (SIGCONT): G probes it, half-opens, closes; real ads return."
for name in "${ADPROVIDERS[@]}"; do kill -CONT "${PIDS[$name]}"; done
t_cont=$(now_us)
recovered=""
for _ in $(seq 1 100); do
  get_ads && row rec.GetAds
  if [[ "$OUT" != *'"degraded"'* && "$OUT" != ERROR* ]] && [[ "$ST" == G:c* ]]; then
    recovered=$((($(now_us) - t_cont) / 1000))
    break
  fi
  sleep 0.1
done
if [ -n "$recovered" ]; then
  note "real ads again $(fmt_ms "$recovered") after SIGCONT"
else
  note "real ads did not return within 100 calls"
fi

if [ -z "$PG_OWN" ]; then
  step "4-5. Skipped: the database is yours (DATABASE_URL), so the demo will not stop it."
else
  step "4. PostgreSQL crashes (immediate stop): the database breakers open; Recommender degrades."
  crash_postgres
  t_crash=$(now_us)
  for _ in $(seq 1 40); do
    direct_ads && row ad.GetAds
    get_ads && row rec.GetAds
    recommend && row rec.ListRecs
    [[ "$ST" == *R:O*A:O* ]] && break
  done
  for _ in 1 2; do
    direct_ads && row ad.GetAds
    recommend && row rec.ListRecs
  done
  note "both database breakers open $(fmt_ms $((($(now_us) - t_crash) / 1000))) after the crash; answers stay fast"
  if [ -n "$PASSED_ON" ]; then
    note "\"A open\" in Recommender's answers: A rejected, and AdProvider's error named it"
  fi
  if [[ "$ST" == G:O* ]]; then
    note "G opened too: to Recommender, an AdProvider that answers UNAVAILABLE is failing"
  fi

  step "5. PostgreSQL back: the database breakers probe and close; answers are full again."
  start_postgres >/dev/null
  t_back=$(now_us)
  recovered=""
  for _ in $(seq 1 100); do
    direct_ads && row ad.GetAds
    recommend && row rec.ListRecs
    if [[ "$OUT" != *'"degraded"'* && "$OUT" != ERROR* ]] && [[ "$ST" == "G:c R:c A:c" ]]; then
      recovered=$((($(now_us) - t_back) / 1000))
      break
    fi
    sleep 0.1
  done
  if [ -n "$recovered" ]; then
    note "every breaker closed, full answers $(fmt_ms "$recovered") after PostgreSQL was back"
  else
    note "the breakers did not all close within 100 rounds"
  fi
fi

step "6. An operator forces G open (BREAKER_MODE_FORCED_OPEN), then back to AUTO."
set_mode() {
  call "$RECOMMENDER_ADDR" breaker.v1.BreakerAdminService/SetBreakerMode "{\"name\": \"$GETADS_BREAKER\", \"mode\": \"$1\"}"
}
grpcurl() { "$BIN_DIR/grpcurl" -H "authorization: Bearer $ADMIN_TOKEN" "$@"; }
set_mode BREAKER_MODE_FORCED_OPEN && row "force G open"
get_ads && row rec.GetAds
set_mode BREAKER_MODE_AUTO && row "G back to AUTO"
for _ in $(seq 1 50); do
  get_ads && row rec.GetAds
  [[ "$ST" == G:c* ]] && break
  sleep 0.1
done
flush

# The end: every breaker of both services in AUTO and closed. A replica's
# breaker closes on real calls (its trial calls), so calls go on a little
# while some are not closed yet.
list_all() {
  for addr in "$RECOMMENDER_ADDR" "$ADPROVIDER_ADDR"; do
    grpcurl -plaintext -max-time 2 "$addr" breaker.v1.BreakerAdminService/ListBreakers 2>/dev/null |
      awk -F'"' '/"name":/ {n=$4} /"state":/ {s=$4} /"mode":/ {print n, s, $4}'
  done
}
for _ in $(seq 1 50); do
  all="$(list_all)"
  odd="$(grep -v 'BREAKER_STATE_CLOSED BREAKER_MODE_AUTO$' <<<"$all" || true)"
  [ -z "$odd" ] && break
  get_ads && row rec.GetAds
  sleep 0.1
done
flush
n="$(grep -c . <<<"$all" || true)"
if [ -z "$odd" ]; then
  printf '\nThe end: all %s breakers of both services are in AUTO and closed.\n' "$n"
else
  printf '\nThe end: %s breakers, and these are not AUTO and closed:\n%s\n' "$n" "$odd"
fi
printf '%s\n\n' '`make run-all` keeps the system up for your own experiments.'
