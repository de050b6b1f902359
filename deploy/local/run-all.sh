#!/usr/bin/env bash
# make run-all: PostgreSQL (private, or yours with DATABASE_URL), AdProvider
# and Recommender with sample data, until Ctrl-C. See README.md, Quick start.
source "$(dirname "$0")/lib.sh"

trap 'echo; stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

start_all

G="${BIN_DIR#"$PWD"/}/grpcurl"
cat <<MSG

breakwater is up. Try:

  $G -plaintext $RECOMMENDER_ADDR list
  $G -plaintext -d '{"page_size": 3}' $RECOMMENDER_ADDR recommender.v1.RecommenderService/ListProducts
  $G -plaintext -d '{"asin": "$(sample_asin)", "max_results": 3}' $RECOMMENDER_ADDR recommender.v1.RecommenderService/ListRecommendations
  $G -plaintext -d '{"context_keys": ["pens"]}' $RECOMMENDER_ADDR recommender.v1.RecommenderService/GetAds
  $G -plaintext $RECOMMENDER_ADDR breaker.v1.BreakerAdminService/ListBreakers
  $G -plaintext -H 'authorization: Bearer $ADMIN_TOKEN' -d '{"name": "adprovider/adprovider.v1.AdProviderService/GetAds", "mode": "BREAKER_MODE_FORCED_OPEN"}' $RECOMMENDER_ADDR breaker.v1.BreakerAdminService/SetBreakerMode

Breakers, live:  http://$RECOMMENDER_ADMIN_ADDR/breakers   http://$ADPROVIDER_ADMIN_ADDR/breakers
Metrics:         http://$RECOMMENDER_ADMIN_ADDR/metrics    http://$ADPROVIDER_ADMIN_ADDR/metrics
Logs:            ${LOG_DIR#"$PWD"/}/
Admin token:     $ADMIN_TOKEN   (set ADMIN_TOKEN to choose your own)

Ctrl-C stops everything.
MSG

# Wait for Ctrl-C, or for a service to die on its own.
while :; do
  for name in adprovider recommender; do
    if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
      say "$name exited unexpectedly; last lines of its log:"
      tail -n 20 "$LOG_DIR/$name.log" >&2
      exit 1
    fi
  done
  sleep 1 &
  wait $! || true
done
