#!/usr/bin/env bash
# make demo: run the system, then walk through the failures the original
# services demonstrated, printing a timeline: time, call, answer, breakers.
#
#   1. AdProvider stopped   -> Recommender serves house ads; its GetAds breaker opens.
#   2. AdProvider back      -> a probe closes the breaker; real ads return.
#   3. Database stopped     -> AdProvider's database breaker opens; Recommender
#                              degrades (house ads, last good recommendations).
#   4. Database back        -> every breaker closes.
# Short open timeouts, so that recovery shows within seconds; make run-all
# uses deploy/breakers.json, the production-like settings.
export BREAKER_CONFIG="${BREAKER_CONFIG:-$(cd "$(dirname "$0")" && pwd)/demo-breakers.json}"
source "$(dirname "$0")/lib.sh"

trap 'echo; stop_all; exit 130' INT TERM
trap 'stop_all' EXIT

start_all
ASIN="$(sample_asin)"

# breakers ADDR prints "name=state" for each breaker of a service, short.
breakers() {
  grpcurl -plaintext -connect-timeout 0.3 -max-time 2 "$1" breaker.v1.BreakerAdminService/ListBreakers 2>/dev/null |
    awk -F'"' '/"name":/ {n=$4; sub(/.*\//, "", n)} /"state":/ {s=$4; sub(/BREAKER_STATE_/, "", s); printf "%s=%s ", n, tolower(s)}' || true # a stopped service has no breakers to show
}

# summary turns a grpcurl answer (or error) into a few words.
summary() {
  local out=$1
  if grep -q '"code"\|^ERROR' <<<"$out"; then
    local code reason
    code="$(sed -n 's/^ *Code: *\(.*\)$/\1/p' <<<"$out" | head -n1)"
    reason="$(grep -o 'CIRCUIT_OPEN' <<<"$out" | head -n1)"
    echo "error ${code:-?}${reason:+ ($reason)}"
    return
  fi
  local ads recs deg
  ads="$(grep -c '"adId"' <<<"$out" || true)"
  recs="$(grep -c '"reason": "\(co_reviewed\|popular_in_category\|popular\)"' <<<"$out" || true)"
  deg="$(awk -F'"' '/"dependency":/ {d=$4} /"reason":/ && d {r=$4} /"fallback":/ && d {printf "%s:%s->%s ", d, r, $4; d=""}' <<<"$out")"
  local words=""
  [ "$recs" -gt 0 ] && words="$recs recommendations, "
  words+="$ads ads"
  if [ -n "$deg" ]; then words+=", DEGRADED ${deg% }"; else words+=", full answer"; fi
  echo "$words"
}

row() { # row CALL ANSWER
  printf '%s  %-34s %-62s rec[%s] ads[%s]\n' "$(date +%H:%M:%S.%3N | cut -c1-12)" "$1" "$2" \
    "$(breakers "$RECOMMENDER_ADDR")" "$(breakers "$ADPROVIDER_ADDR")"
}

get_ads() {
  local t0 t1 out
  t0=$(date +%s%N)
  out="$(grpcurl -plaintext -connect-timeout 0.3 -max-time 5 -d '{"context_keys": ["pens"], "max_ads": 3}' "$RECOMMENDER_ADDR" recommender.v1.RecommenderService/GetAds 2>&1 || true)"
  t1=$(date +%s%N)
  row "Recommender.GetAds ($(( (t1 - t0) / 1000000 )) ms)" "$(summary "$out")"
}

recommend() {
  local out
  out="$(grpcurl -plaintext -connect-timeout 0.3 -max-time 5 -d "{\"asin\": \"$ASIN\", \"max_results\": 3}" "$RECOMMENDER_ADDR" recommender.v1.RecommenderService/ListRecommendations 2>&1 || true)"
  row "Recommender.ListRecommendations" "$(summary "$out")"
}

direct_ads() {
  local out
  out="$(grpcurl -plaintext -connect-timeout 0.3 -max-time 5 -d '{"context_keys": ["pens"]}' "$ADPROVIDER_ADDR" adprovider.v1.AdProviderService/GetAds 2>&1 || true)"
  row "AdProvider.GetAds" "$(summary "$out")"
}

step() { printf '\n=== %s\n' "$*"; }

# all_states prints every breaker of both services as name=state. Callers
# match on the string: with pipefail, piping into grep -q, which ends the
# pipe early, would make the pipeline fail.
all_states() { breakers "$RECOMMENDER_ADDR"; breakers "$ADPROVIDER_ADDR"; }

# until_open CALL... repeats the calls until some breaker is open.
until_open() {
  local i
  for i in $(seq 1 40); do
    "$@"
    if [[ "$(all_states)" == *"=open"* ]]; then return 0; fi
  done
  echo "(no breaker opened after 40 calls)"
}

# until_closed CALL... repeats the calls until every breaker is closed again.
until_closed() {
  local i
  for i in $(seq 1 60); do
    "$@"
    if [[ "$(all_states)" != *open* ]]; then return 0; fi
    sleep 0.5
  done
  echo "(breakers still not closed after 30 s)"
}

printf '\nbreakwater demo: rec[...] are Recommender'"'"'s breakers, ads[...] AdProvider'"'"'s.\n'
step "0. Everything up"
get_ads
recommend

step "1. AdProvider stopped: house ads, then the GetAds breaker opens and answers come at once"
stop_service adprovider
until_open get_ads
for _ in 1 2 3; do get_ads; done

step "2. AdProvider back: after the open timeout a probe closes the breaker; real ads return"
start_service adprovider
wait_serving "$ADPROVIDER_ADDR" adprovider.v1.AdProviderService adprovider
until_closed get_ads

if [ -z "$PG_OWN" ]; then
  step "3-4. skipped: the database is yours (DATABASE_URL), so the demo will not stop it"
  exit 0
fi

step "3. Database stopped: AdProvider's database breaker opens; Recommender degrades"
as_pg "$PG_OWN/pg_ctl" -D "$PG_DATA" stop -m immediate -w >/dev/null # as a crash would
wait "${PIDS[postgres]}" 2>/dev/null || true
unset 'PIDS[postgres]'
say "database stopped"
until_open eval 'direct_ads; get_ads; recommend'
for _ in 1 2 3; do recommend; done # Recommender's own database breaker opens too

step "4. Database back: every breaker closes, answers are full again"
start_postgres
until_closed eval 'direct_ads; get_ads; recommend'
get_ads
recommend
printf '\nDemo over. `make run-all` keeps the system up for your own experiments.\n'
