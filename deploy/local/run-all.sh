#!/usr/bin/env bash
# make run-all: PostgreSQL (private, or yours with DATABASE_URL), AdProvider
# and Recommender with sample data, until Ctrl-C (or SIGTERM, or SIGHUP).
# See README.md, Quick start, and lib.sh for how it stops and fails.
source "$(dirname "$0")/lib.sh"

install_traps
start_all
need_grpcurl

G="$(rel "$BIN_DIR")/grpcurl"
GETADS='adprovider/adprovider.v1.AdProviderService/GetAds'
REPLICAS_MSG=""
if ((ADPROVIDER_REPLICAS > 1)); then
  REPLICAS_MSG="$ADPROVIDER_REPLICAS AdProvider replicas: Recommender balances its calls over them, with a breaker
per replica (adprovider@<address>). A breaker on every replica at once, side by side:

  $(rel "$BIN_DIR")/breakerctl -targets $ADPROVIDER_TARGET list
  $(rel "$BIN_DIR")/breakerctl -targets $ADPROVIDER_TARGET force-open adprovider/postgres"
fi
cat <<MSG

breakwater is up. Try:

  $G -plaintext $RECOMMENDER_ADDR list
  $G -plaintext -d '{"page_size": 3}' $RECOMMENDER_ADDR recommender.v1.RecommenderService/ListProducts
  $G -plaintext -d '{"asin": "$(sample_asin)", "max_results": 3}' $RECOMMENDER_ADDR recommender.v1.RecommenderService/ListRecommendations
  $G -plaintext -d '{"context_keys": ["pens"]}' $RECOMMENDER_ADDR recommender.v1.RecommenderService/GetAds
  $G -plaintext $RECOMMENDER_ADDR breaker.v1.BreakerAdminService/ListBreakers

Force Recommender's GetAds breaker open (GetAds then answers with house ads), then back to AUTO:

  $G -plaintext -H 'authorization: Bearer $ADMIN_TOKEN' -d '{"name": "$GETADS", "mode": "BREAKER_MODE_FORCED_OPEN"}' $RECOMMENDER_ADDR breaker.v1.BreakerAdminService/SetBreakerMode
  $G -plaintext -H 'authorization: Bearer $ADMIN_TOKEN' -d '{"name": "$GETADS", "mode": "BREAKER_MODE_AUTO"}' $RECOMMENDER_ADDR breaker.v1.BreakerAdminService/SetBreakerMode

${REPLICAS_MSG:+$REPLICAS_MSG

}Breakers, live:  http://$RECOMMENDER_ADMIN_ADDR/breakers   http://$ADPROVIDER_ADMIN_ADDR/breakers
Metrics:         http://$RECOMMENDER_ADMIN_ADDR/metrics    http://$ADPROVIDER_ADMIN_ADDR/metrics
Logs:            $(rel "$LOG_DIR")/
Admin token:     $ADMIN_TOKEN   (set ADMIN_TOKEN to choose your own)

Ctrl-C stops everything: Recommender, then AdProvider, then PostgreSQL.
MSG

# Wait for a signal, or for a child to end on its own. A service that exits
# ends the run (the system is no longer whole); PostgreSQL exiting is
# reported, and the services go on degraded, as they would in production.
while :; do
  for name in "${ADPROVIDERS[@]}" recommender; do
    kill -0 "${PIDS[$name]}" 2>/dev/null || exited "$name"
  done
  if [ -n "${PIDS[postgres]:-}" ] && ! kill -0 "${PIDS[postgres]}" 2>/dev/null; then
    rc=0
    wait "${PIDS[postgres]}" 2>/dev/null || rc=$?
    unset 'PIDS[postgres]'
    say "PostgreSQL exited on its own (exit status $rc): $(cause postgres)"
    say "  the services go on degraded (their database breakers open); Ctrl-C stops them"
  fi
  sleep 1 &
  wait $! 2>/dev/null || true # a child that died is reported above, not by bash
done
