// Package recommender is the Recommender gRPC service: the product catalog,
// its reviews, recommendations ranked from those reviews, and sponsored ads
// from AdProvider, answering usefully while its dependencies fail.
//
// # Sections
//
//   - Layout
//   - Ads and the AdProvider breaker
//   - The database and the last good answer
//   - Errors at the boundary
//
// # Layout
//
// [Server] implements recommender.v1.RecommenderService over a store.Store
// (package store: SQL, pages, idempotent reviews, the ranking) and an
// [AdsClient]. Package migrations holds the schema, catalogcsv the import of
// the originals' CSV files, samplecatalog the embedded sample data, and
// cmd/recommender the binary, which wires them as follows (in outline;
// cmd/recommender/serve.go has the whole):
//
//	set := breaker.NewSet(recommender.AdProviderBreakers()) // GetAds: 300 ms cap, house ads
//	db := pgbreaker.New(pool, set, pgbreaker.WithName("recommender/postgres"))
//	conn, err := recommender.DialAdProvider("dns:///adprovider:8001", set,
//		grpc.WithTransportCredentials(insecure.NewCredentials()))
//	srv := recommender.NewServer(store.New(db, store.WithWriter(db.Writer())),
//		adproviderv1.NewAdProviderServiceClient(conn), recommender.WithAdminToken(token))
//	recommenderv1.RegisterRecommenderServiceServer(grpcServer, srv)
//
// # Ads and the AdProvider breaker
//
// [DialAdProvider] makes the one AdProvider connection of the process, with
// breaker.UnaryClientInterceptor (a breaker per method) and a gRPC retry
// policy for UNAVAILABLE that runs inside the breaker, so the breaker counts
// one outcome per logical call and never retries a rejection. The
// connection spreads calls round-robin over every AdProvider replica the
// target resolves to, with a breaker per replica that takes a failing one
// out of rotation, retries and hedges on another replica
// (package breakerlb), so the per-method breakers see only what the
// service as a whole answered. [AdProviderBreakers] gives GetAds its own deadline ([GetAdsTimeout]) and
// tripping rule.
//
// When the breaker rejects a call or the call fails, GetAds and the ads of
// ListRecommendations are the house ads ([HouseAds]: real products of the
// sample catalog, never the product being viewed), and the answer's
// `degraded` names the dependency "adprovider", the reason ("circuit_open",
// "unavailable", "deadline_exceeded", …) and the fallback "house_ads".
//
// INVALID_ARGUMENT from AdProvider means the request was wrong, not that
// AdProvider is unwell: the breaker counts it as a success. GetAds returns it
// to the caller, whose context keys it was; ListRecommendations, whose
// recommendations are still good, serves house ads marked "invalid_argument".
//
// The handlers set no timeouts: the breakers own each call's deadline.
// GetAds' timeout ([GetAdsTimeout], or BREAKER_CONFIG's) caps every call to
// AdProvider whatever the caller's deadline, so a caller prepared to wait long
// for recommendations still gets house ads quickly from a hanging
// AdProvider; the database breakers' timeouts cap its queries likewise.
//
// # The database and the last good answer
//
// The store runs over pgbreaker.DB, so while the database is down its breaker
// opens and calls fail at once. The ranking queries run over a pool and a
// breaker of their own (store.WithRecommendationDB; the command names it
// recommender/postgres-recommendations), a bulkhead: when they run slow,
// only that breaker opens, and catalog reads and writes go on.
// ListRecommendations then serves the last good
// answer for the same (asin, reviewer_id, max_results), from an LRU bounded
// by bytes ([WithLastGoodBytes], default [DefaultLastGoodBytes]: answers are
// kept encoded, so each is charged exactly), by entries and by age
// ([WithLastGood]), marked {database, …,
// last_good_answer}; without one it is UNAVAILABLE. Writes are never served
// from memory: they fail fast with UNAVAILABLE, and are single statements, so
// none is half-done. Ads are fetched while the database ranks, so a slow
// AdProvider does not add its deadline to the query.
//
// # Errors at the boundary
//
// Store errors become codes in one place shared with AdProvider
// (internal/storeerr): not found → NOT_FOUND, already exists (an ASIN taken,
// a request_id reused for other content) → ALREADY_EXISTS, a bad page token →
// INVALID_ARGUMENT with a field violation on page_token, a value PostgreSQL
// refuses (SQLSTATE class 22) → INVALID_ARGUMENT logged at WARN, the
// breaker's rejection → its own UNAVAILABLE status with ErrorInfo and
// RetryInfo, a lost database → UNAVAILABLE, anything else → INTERNAL, without
// their text, which is logged instead.
//
// # Writes
//
// CreateProduct needs the admin token ([WithAdminToken], package
// admintoken): a missing or wrong token is UNAUTHENTICATED, and a server
// without one refuses with PERMISSION_DENIED. CreateReview is open. Both
// take a request_id (AIP-155): the same id and content returns the first
// result and writes nothing; the same id with other content is
// ALREADY_EXISTS.
package recommender
