// Package adprovider is AdProvider: sponsored products ("ads") shown beside
// what a shopper is looking at, served over gRPC from a PostgreSQL inventory
// that sits behind the database breaker.
//
// # Sections
//
//   - Layout
//   - Errors
//   - Admin token
//   - Health under failure
//
// # Layout
//
// [Server] (server.go) implements adproviderv1.AdProviderServiceServer over
// a store.Store; [Health] (health.go) turns migrations and the database
// breaker's state into the gRPC health of "adprovider.v1.AdProviderService".
// Package store holds the SQL: targeting, the inventory and its page
// tokens, idempotent creation, and the sample inventory it loads into an
// empty schema. Package migrations holds the schema; cmd/adprovider puts it
// all together, as the Recommender's layout does. The service gives the
// store a pgbreaker.DB, so every query passes the database breaker and runs
// under a deadline. In outline (cmd/adprovider/main.go has the whole):
//
//	db := pgbreaker.New(pool, set, pgbreaker.WithName("adprovider/postgres"))
//	st := store.New(db, store.WithWriter(db.Writer())) // reads and writes judged apart
//	health := adprovider.NewHealth(healthServer, db.Breaker())
//	set.AddListener(health, breaker.EventStateChange)
//	adproviderv1.RegisterAdProviderServiceServer(grpcServer,
//		adprovider.NewServer(st, adprovider.WithAdminToken(token)))
//
// # Errors
//
// The store translates what callers act on at its edge (store.ErrAlreadyExists,
// store.ErrInvalidPageToken, store.ErrInvalid, and through internal/storeerr a
// data exception or a lost database) and returns other failures wrapped. One
// mapping shared with Recommender (internal/storeerr.Status) answers with
// canonical codes: ALREADY_EXISTS, INVALID_ARGUMENT with a
// google.rpc.BadRequest naming the field (a value PostgreSQL still refuses,
// SQLSTATE class 22, is INVALID_ARGUMENT too, logged at WARN), UNAVAILABLE
// for a lost database, and INTERNAL for anything else, without details,
// which go to the log. A call the breaker rejected is passed through as the
// breaker made it: UNAVAILABLE with an ErrorInfo (reason CIRCUIT_OPEN, the
// breaker's name) and a RetryInfo. CreateAd takes a request_id
// (store.Store.CreateAdOnce): a retry with the same id and listing returns
// the ad the first call created.
//
// # Admin token
//
// CreateAd needs `authorization: Bearer <token>` with the token of
// [WithAdminToken], compared in constant time; a missing or wrong token is
// UNAUTHENTICATED. A server without a token refuses every write with
// PERMISSION_DENIED: no configuration must never mean an open inventory.
// Reads need no token.
//
// # Health under failure
//
// [Health] reports NOT_SERVING until the schema is migrated and while
// shutting down, and SERVING otherwise: the database is shared by every
// replica, so its breaker being open is no reason to leave a load balancer's
// rotation; callers get a fast CIRCUIT_OPEN with a RetryInfo instead.
// [FollowBreaker] (ADPROVIDER_HEALTH_FOLLOWS_DATABASE) makes it NOT_SERVING
// while the database breaker is open, for replicas with databases of their
// own. Either way the breaker recovers without traffic: pgbreaker's recovery
// prober pings the database while the breaker is open and half-open.
package adprovider
