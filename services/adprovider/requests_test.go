package adprovider_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/adprovider"
	"github.com/breakwater/breakwater/services/adprovider/store"
)

// TestCreateAdRetriedUnderFaults: a client retrying CreateAd with one
// request id (and no ad_id, so the server picks one) across a frozen
// database (SIGSTOP) and a crash (kill -9) gets one ad and one request
// record, every success it is told of names that ad, and the same id with
// another listing is ALREADY_EXISTS saying why.
func TestCreateAdRetriedUnderFaults(t *testing.T) {
	pg := pgtest.Start(t, durable)
	s := newStack(t, pg.NewDatabase(t), queryDeadline)
	s.migrate(t)
	var before int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM ads`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	client := startServer(t, adprovider.NewServer(store.New(s.db), adprovider.WithAdminToken("tok")))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tok")
	req := &adproviderv1.CreateAdRequest{RequestId: "ad-retry-1", Listing: &adproviderv1.AdListing{
		Ad:  &adproviderv1.Ad{Asin: "B0010T3QT2", Title: "Pilot G2", Price: &moneyv1.Money{CurrencyCode: "USD", Units: 10}},
		Bid: &moneyv1.Money{CurrencyCode: "USD", Nanos: 500_000_000}, Active: true, Keywords: []string{"gel"},
	}}

	pg.Pause(t)
	for range 2 {
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, err := client.CreateAd(cctx, req)
		cancel()
		if err == nil {
			t.Fatal("CreateAd succeeded against a frozen database")
		}
	}
	pg.Resume(t)
	var acks []*adproviderv1.AdListing
	retry := func() {
		t.Helper()
		for i := 0; ; i++ {
			resp, err := client.CreateAd(ctx, req)
			if err == nil {
				acks = append(acks, resp.GetListing())
				return
			}
			if i == 20 {
				t.Fatalf("CreateAd never succeeded: %v", err)
			}
			s.clock.Add(4*openPeriod + 1) // in case the failures opened the breaker
		}
	}
	retry()
	pg.Kill(t)
	pg.Restart(t)
	retry()

	other := proto.CloneOf(req)
	other.Listing.Ad.Title = "Pilot G2 (10 pack)"
	_, err := client.CreateAd(ctx, other)
	if status.Code(err) != codes.AlreadyExists || !strings.Contains(status.Convert(err).Message(), "request_id") {
		t.Errorf("same request_id, other listing: %v; want ALREADY_EXISTS naming request_id", err)
	}
	var ads, requests int
	for i := 0; ; i++ {
		err := s.pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM ads), (SELECT count(*) FROM ad_requests)`).Scan(&ads, &requests)
		if err == nil {
			break
		}
		if i == 10 {
			t.Fatal(err) // connections from before the crash fail once each
		}
	}
	if ads != before+1 || requests != 1 {
		t.Errorf("after retries and a crash: %d ads (%d before), %d request records; want one more ad and 1 record", ads, before, requests)
	}
	for i, ack := range acks {
		if !proto.Equal(ack, acks[0]) || !strings.HasPrefix(ack.GetAd().GetAdId(), "ad-") || ack.GetCreateTime() == nil {
			t.Errorf("acknowledgement %d = %v; first %v", i, ack, acks[0])
		}
	}
	var title string
	if err := s.pool.QueryRow(context.Background(), `SELECT title FROM ads WHERE ad_id = $1`, acks[0].GetAd().GetAdId()).Scan(&title); err != nil || title != "Pilot G2" {
		t.Errorf("the acknowledged ad after the crash: %q, %v", title, err)
	}
}
