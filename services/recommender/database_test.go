package recommender_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/internal/toxitest"
	"github.com/breakwater/breakwater/services/recommender"
)

// TestDatabaseDown: with its database killed, the Recommender serves the last
// good recommendations marked degraded, UNAVAILABLE where it has none, and
// fails writes with UNAVAILABLE; once the database is back, fresh answers
// return without a restart.
func TestDatabaseDown(t *testing.T) {
	pg := pgtest.Start(t, durable)
	e := newEnv(t, pg.NewDatabase(t), true)
	ctx := testContext(t)
	req := &recommenderv1.ListRecommendationsRequest{Asin: "B0010T3QT2", MaxResults: 5}
	good, err := e.client.ListRecommendations(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(good.Recommendations) != 5 || good.Degraded != nil || len(good.Ads) != 1 {
		t.Fatalf("healthy answer = %v", good)
	}

	pg.Kill(t)
	write := &recommenderv1.CreateReviewRequest{RequestId: "down-1", Review: &recommenderv1.Review{
		Asin: "B0010T3QT2", ReviewerId: "A1", Overall: 5}}
	reasons := map[string]bool{}
	// Recommendations have a breaker of their own (a bulkhead); it is the
	// one their failures open.
	for i := 0; e.breaker(t, rankBreaker).State != breaker.StateOpen; i++ {
		if i == 10 {
			t.Fatalf("recommendations' database breaker still %v", e.breaker(t, rankBreaker).State)
		}
		resp, err := e.client.ListRecommendations(ctx, req)
		if err != nil {
			t.Fatalf("ListRecommendations with the database down: %v", err)
		}
		reasons[degradedOnly(t, resp.Degraded, recommender.DependencyDatabase, "unavailable", "deadline_exceeded")] = true
		if !sameRecommendations(resp.Recommendations, good.Recommendations) || len(resp.Ads) != 1 {
			t.Errorf("degraded answer = %v, want the last good one with the real ads", resp)
		}
	}
	// Open: answers come from the cache without asking the database.
	resp, err := e.client.ListRecommendations(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	degradedOnly(t, resp.Degraded, recommender.DependencyDatabase, recommender.ReasonCircuitOpen)
	if !sameRecommendations(resp.Recommendations, good.Recommendations) {
		t.Errorf("open-breaker answer differs from the last good one")
	}
	_, err = e.client.ListRecommendations(ctx, &recommenderv1.ListRecommendationsRequest{Asin: "B00006IE7F"})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("uncached recommendations: %v, want UNAVAILABLE", err)
	}
	_, err = e.client.CreateReview(ctx, write)
	if status.Code(err) != codes.Unavailable {
		t.Errorf("CreateReview with the database down: %v, want UNAVAILABLE", err)
	}
	_, err = e.client.GetProduct(ctx, &recommenderv1.GetProductRequest{Asin: "B0010T3QT2"})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("GetProduct with the database down: %v, want UNAVAILABLE", err)
	}

	// Back: the breaker's probe finds the database, and the answer is fresh.
	pg.Restart(t)
	var fresh *recommenderv1.ListRecommendationsResponse
	for i := 0; fresh == nil || fresh.Degraded != nil; i++ {
		if i == 10 {
			t.Fatalf("still degraded after the database came back: %v", fresh.GetDegraded())
		}
		e.clock.Add(openFor + 1)
		fresh, err = e.client.ListRecommendations(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
	}
	if !sameRecommendations(fresh.Recommendations, good.Recommendations) {
		t.Errorf("fresh answer differs from before the outage on the same data")
	}
	if _, err := e.client.CreateReview(ctx, write); err != nil {
		t.Errorf("CreateReview after recovery: %v", err)
	}
}

// TestLastGoodExpires: an answer older than the cache's age limit is not
// served; the call is UNAVAILABLE instead.
func TestLastGoodExpires(t *testing.T) {
	e := newEnv(t, pgtest.Shared(t).NewDatabase(t), true)
	ctx := testContext(t)
	req := &recommenderv1.ListRecommendationsRequest{ReviewerId: "A1"}
	if _, err := e.client.ListRecommendations(ctx, req); err != nil {
		t.Fatal(err)
	}
	e.set.Breakers()                  // the database breakers exist now
	b, _ := e.set.Get(rankBreaker)    // the recommendations' bulkhead
	b.SetMode(breaker.ModeForcedOpen) // as an operator would: no kill needed
	resp, err := e.client.ListRecommendations(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	degradedOnly(t, resp.Degraded, recommender.DependencyDatabase, recommender.ReasonCircuitOpen)
	e.clock.Add(10*time.Minute + time.Second)
	if _, err := e.client.ListRecommendations(ctx, req); status.Code(err) != codes.Unavailable {
		t.Errorf("after the age limit: %v, want UNAVAILABLE", err)
	}
}

// durable turns pgtest's synchronous_commit=off back on: with it off, a kill
// loses commits that were already acknowledged (the WAL writer had not
// written them yet), which is not the database a service promises on.
var durable = pgtest.WithSetting("synchronous_commit", "on")

func sameRecommendations(a, b []*recommenderv1.Recommendation) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestCreateReviewRetriedUnderFaults: a client retrying CreateReview with one
// request id while the database's answers are lost never makes two reviews,
// and the review it was told about survives a crash of the database.
func TestCreateReviewRetriedUnderFaults(t *testing.T) {
	pg := pgtest.Start(t, durable)
	url := pg.NewDatabase(t)
	proxy := toxitest.New(t, fmt.Sprintf("127.0.0.1:%d", pg.Port()))
	e := newEnv(t, replaceHost(t, url, proxy.Addr()), false)
	ctx := testContext(t)
	if _, err := e.client.CreateProduct(asAdmin(ctx), &recommenderv1.CreateProductRequest{
		Product: &recommenderv1.Product{Asin: "B000000001", Title: "Pen"}}); err != nil {
		t.Fatal(err)
	}
	req := &recommenderv1.CreateReviewRequest{RequestId: "retry-1", Review: &recommenderv1.Review{
		Asin: "B000000001", ReviewerId: "A1", Overall: 4, Summary: "Nice"}}

	// The database runs the INSERT but its answer arrives after the client
	// gave up: the client cannot know whether the review exists.
	proxy.Latency(500 * time.Millisecond)
	for range 3 {
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, err := e.client.CreateReview(cctx, req)
		cancel()
		if err == nil {
			t.Fatal("CreateReview succeeded through a 500ms latency with a 100ms deadline")
		}
	}
	proxy.RemoveToxics()
	e.clock.Add(openFor + 1) // in case the lost answers opened the breaker
	var acked *recommenderv1.Review
	for i := 0; acked == nil; i++ {
		resp, err := e.client.CreateReview(ctx, req)
		switch {
		case err == nil:
			acked = resp.Review
		case i == 10:
			t.Fatalf("CreateReview never succeeded: %v", err)
		default:
			e.clock.Add(openFor + 1)
		}
	}
	again, err := e.client.CreateReview(ctx, req)
	if err != nil || !proto.Equal(again.Review, acked) {
		t.Errorf("replay = %v, %v; want the acknowledged review %v", again.GetReview(), err, acked)
	}

	pg.Kill(t)
	pg.Restart(t)
	var n int
	var id string
	for i := 0; ; i++ {
		err := e.pool.QueryRow(ctx, `SELECT count(*), min(review_id)::text FROM reviews WHERE request_id = 'retry-1'`).Scan(&n, &id)
		if err == nil {
			break
		}
		if i == 10 {
			t.Fatal(err) // connections from before the crash fail once each
		}
	}
	if n != 1 || id != acked.ReviewId {
		t.Errorf("after the crash: %d reviews for the request, first id %s; want 1 with id %s", n, id, acked.ReviewId)
	}
}

// replaceHost points a postgres URL at another host:port.
func replaceHost(t *testing.T, rawURL, hostPort string) string {
	t.Helper()
	u, err := urlParse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = hostPort
	return u.String()
}

// TestCreateProductRetriedUnderFaults: a client retrying CreateProduct with
// one request id across a frozen database (SIGSTOP) and a crash (kill -9)
// gets one product and one request record, every success it is told of is
// true after the crash, and the same id with another product is
// ALREADY_EXISTS saying why.
func TestCreateProductRetriedUnderFaults(t *testing.T) {
	pg := pgtest.Start(t, durable)
	e := newEnv(t, pg.NewDatabase(t), false)
	ctx := asAdmin(testContext(t))
	req := &recommenderv1.CreateProductRequest{RequestId: "p-retry-1", Product: &recommenderv1.Product{
		Asin: "B000000001", Title: "Pen", Brand: "Pilot"}}

	// Frozen: the request reaches a database that does not answer, and the
	// client gives up without knowing whether the product exists.
	pg.Pause(t)
	for range 2 {
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, err := e.client.CreateProduct(cctx, req)
		cancel()
		if err == nil {
			t.Fatal("CreateProduct succeeded against a frozen database")
		}
	}
	pg.Resume(t)
	var acks []*recommenderv1.Product
	retry := func() {
		t.Helper()
		for i := 0; ; i++ {
			resp, err := e.client.CreateProduct(ctx, req)
			if err == nil {
				acks = append(acks, resp.GetProduct())
				return
			}
			if i == 20 {
				t.Fatalf("CreateProduct never succeeded: %v", err)
			}
			e.clock.Add(openFor + 1) // in case the failures opened the breaker
		}
	}
	retry()
	pg.Kill(t)
	pg.Restart(t)
	retry()

	other := proto.CloneOf(req)
	other.Product.Title = "Pencil"
	_, err := e.client.CreateProduct(ctx, other)
	if status.Code(err) != codes.AlreadyExists || !strings.Contains(status.Convert(err).Message(), "request_id") {
		t.Errorf("same request_id, other product: %v; want ALREADY_EXISTS naming request_id", err)
	}
	var products, requests int
	for i := 0; ; i++ {
		err := e.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM product_requests)`).Scan(&products, &requests)
		if err == nil {
			break
		}
		if i == 10 {
			t.Fatal(err) // connections from before the crash fail once each
		}
	}
	if products != 1 || requests != 1 {
		t.Errorf("after retries and a crash: %d products, %d request records; want 1 and 1", products, requests)
	}
	got, err := e.client.GetProduct(ctx, &recommenderv1.GetProductRequest{Asin: "B000000001"})
	if err != nil {
		t.Fatal(err)
	}
	for i, ack := range acks {
		if !proto.Equal(ack, got.GetProduct()) || !proto.Equal(ack, req.GetProduct()) {
			t.Errorf("acknowledgement %d = %v; stored %v, sent %v", i, ack, got.GetProduct(), req.GetProduct())
		}
	}
}
