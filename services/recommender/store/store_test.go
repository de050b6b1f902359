package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/services/recommender/store"
)

func product(asin string, categories ...[]string) *recommenderv1.Product {
	p := &recommenderv1.Product{Asin: asin, Title: "Product " + asin}
	for _, c := range categories {
		p.Categories = append(p.Categories, &recommenderv1.CategoryPath{Path: c})
	}
	return p
}

func TestProductRoundTrip(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	want := &recommenderv1.Product{
		Asin:        "B00004Z5M1",
		Title:       "Avery's \"Heavy Duty\" Binder",
		Description: "A binder.",
		ImageUrl:    "http://ecx.images-amazon.com/images/I/41abc.jpg",
		Related: &recommenderv1.RelatedProducts{
			AlsoBought:     []string{"B000000001", "B000000002"},
			BoughtTogether: []string{"B000000003"},
		},
		SalesRank: map[string]int64{"Office Products": 1234},
		Categories: []*recommenderv1.CategoryPath{
			{Path: []string{"Office Products", "Office & School Supplies", "Binders"}},
			{Path: []string{"Office Products"}},
		},
		Brand: "Avery",
		Price: &moneyv1.Money{CurrencyCode: "USD", Units: 12, Nanos: 990000000},
	}
	got, err := s.CreateProduct(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(want, got) {
		t.Errorf("CreateProduct returned %v, want %v", got, want)
	}
	got, err = s.GetProduct(ctx, want.Asin)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(want, got) {
		t.Errorf("GetProduct = %v, want %v", got, want)
	}
	if _, err := s.CreateProduct(ctx, want); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("CreateProduct of a taken ASIN: %v, want ErrAlreadyExists", err)
	}
	if _, err := s.GetProduct(ctx, "B999999999"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetProduct of an unknown ASIN: %v, want ErrNotFound", err)
	}
	// No price and no related products stay unset.
	bare, err := s.CreateProduct(ctx, &recommenderv1.Product{Asin: "B000000009"})
	if err != nil {
		t.Fatal(err)
	}
	if bare.Price != nil || bare.Related != nil || bare.SalesRank != nil {
		t.Errorf("bare product = %v, want no price, related or sales rank", bare)
	}
}

func TestListProductsPages(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	for i := range 7 {
		cat := []string{"Office Products", "Paper"}
		if i%2 == 0 {
			cat = []string{"Office Products", "Writing", "Pens"}
		}
		if _, err := s.CreateProduct(ctx, product(fmt.Sprintf("B%09d", i*2), cat)); err != nil {
			t.Fatal(err)
		}
	}
	list := func(category, token string) ([]string, string) {
		t.Helper()
		ps, next, err := s.ListProducts(ctx, store.ListProductsParams{PageSize: 3, PageToken: token, Category: category})
		if err != nil {
			t.Fatal(err)
		}
		var asins []string
		for _, p := range ps {
			asins = append(asins, p.Asin)
		}
		return asins, next
	}
	page1, next := list("", "")
	if want := []string{"B000000000", "B000000002", "B000000004"}; !slices.Equal(page1, want) {
		t.Errorf("page 1 = %v, want %v", page1, want)
	}
	// An insert before the cursor must not shift the next page.
	if _, err := s.CreateProduct(ctx, product("B000000001")); err != nil {
		t.Fatal(err)
	}
	page2, next := list("", next)
	if want := []string{"B000000006", "B000000008", "B000000010"}; !slices.Equal(page2, want) {
		t.Errorf("page 2 = %v, want %v", page2, want)
	}
	page3, next := list("", next)
	if want := []string{"B000000012"}; !slices.Equal(page3, want) || next != "" {
		t.Errorf("page 3 = %v, next %q; want %v and no next page", page3, next, want)
	}

	// The filter matches any level of a path.
	pens, next := list("Writing", "")
	if want := []string{"B000000000", "B000000004", "B000000008"}; !slices.Equal(pens, want) {
		t.Errorf("Writing page 1 = %v, want %v", pens, want)
	}
	if _, _, err := s.ListProducts(ctx, store.ListProductsParams{PageToken: next, Category: "Paper"}); !errors.Is(err, store.ErrInvalidPageToken) {
		t.Errorf("token with another category: %v, want ErrInvalidPageToken", err)
	}
	if _, _, err := s.ListProducts(ctx, store.ListProductsParams{PageToken: "garbage!"}); !errors.Is(err, store.ErrInvalidPageToken) {
		t.Errorf("malformed token: %v, want ErrInvalidPageToken", err)
	}
	pens, _ = list("Writing", next)
	if want := []string{"B000000012"}; !slices.Equal(pens, want) {
		t.Errorf("Writing page 2 = %v, want %v", pens, want)
	}
}

func TestCreateReviewIdempotent(t *testing.T) {
	s, pool := newStore(t)
	ctx := context.Background()
	if _, err := s.CreateProduct(ctx, product("B000000001")); err != nil {
		t.Fatal(err)
	}
	review := &recommenderv1.Review{
		Asin: "B000000001", ReviewerId: "A1", ReviewerName: "Ann", Overall: 4, Summary: "Good",
		Helpful: &recommenderv1.Helpfulness{HelpfulVotes: 1, TotalVotes: 2},
	}
	first, err := s.CreateReview(ctx, review, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	if first.ReviewId == "" || first.ReviewTime == nil {
		t.Fatalf("created review %v has no id or time", first)
	}
	again, err := s.CreateReview(ctx, review, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(first, again) {
		t.Errorf("replay returned %v, want the first review %v", again, first)
	}
	other := proto.Clone(review).(*recommenderv1.Review)
	other.Overall = 1
	if _, err := s.CreateReview(ctx, other, "req-1"); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("same request id, other review: %v, want ErrAlreadyExists", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM reviews`).Scan(&n); err != nil || n != 1 {
		t.Errorf("reviews = %d (%v), want 1", n, err)
	}
	unknown := proto.Clone(review).(*recommenderv1.Review)
	unknown.Asin = "B999999999"
	if _, err := s.CreateReview(ctx, unknown, "req-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("review of unknown product: %v, want ErrNotFound", err)
	}
	// Without a request id every call creates a review.
	for range 2 {
		if _, err := s.CreateReview(ctx, review, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM reviews`).Scan(&n); err != nil || n != 3 {
		t.Errorf("reviews = %d (%v), want 3", n, err)
	}
}

func TestListReviewsNewestFirst(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	for _, a := range []string{"B000000001", "B000000002"} {
		if _, err := s.CreateProduct(ctx, product(a)); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Date(2014, 7, 17, 0, 0, 0, 0, time.UTC)
	// Two reviews share a time: the id breaks the tie.
	times := []int{0, 1, 1, 2, 3}
	for i, d := range times {
		asin := "B000000001"
		if i == 3 {
			asin = "B000000002"
		}
		r := &recommenderv1.Review{Asin: asin, ReviewerId: fmt.Sprintf("R%d", i), Overall: 3,
			ReviewTime: timestamppb.New(base.AddDate(0, 0, d))}
		if _, err := s.CreateReview(ctx, r, ""); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	token := ""
	for {
		rs, next, err := s.ListReviews(ctx, store.ListReviewsParams{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			got = append(got, r.ReviewerId)
		}
		if next == "" {
			break
		}
		token = next
	}
	if want := []string{"R4", "R3", "R2", "R1", "R0"}; !slices.Equal(got, want) {
		t.Errorf("all reviews = %v, want %v", got, want)
	}
	rs, next, err := s.ListReviews(ctx, store.ListReviewsParams{ASIN: "B000000001", PageSize: 10})
	if err != nil || next != "" || len(rs) != 4 {
		t.Errorf("reviews of B000000001: %d, next %q, %v; want 4 on one page", len(rs), next, err)
	}
	if _, _, err := s.ListReviews(ctx, store.ListReviewsParams{ASIN: "B000000002", PageToken: token}); !errors.Is(err, store.ErrInvalidPageToken) {
		t.Errorf("token of another filter: %v, want ErrInvalidPageToken", err)
	}
}

func TestUpsertIdempotent(t *testing.T) {
	s, pool := newStore(t)
	ctx := context.Background()
	ps := []*recommenderv1.Product{product("B000000001", []string{"Office Products", "Pens"}), product("B000000002")}
	rs := []store.ImportedReview{
		{RequestID: "csv:A1:B000000001", Review: &recommenderv1.Review{Asin: "B000000001", ReviewerId: "A1", Overall: 5, ReviewTime: timestamppb.Now()}},
		{RequestID: "csv:A1:B000000404", Review: &recommenderv1.Review{Asin: "B000000404", ReviewerId: "A1", Overall: 5, ReviewTime: timestamppb.Now()}},
	}
	for range 2 {
		if err := s.UpsertProducts(ctx, ps); err != nil {
			t.Fatal(err)
		}
		skipped, err := s.UpsertReviews(ctx, rs)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"csv:A1:B000000404"}; !slices.Equal(skipped, want) {
			t.Errorf("skipped = %v, want %v", skipped, want)
		}
	}
	var np, nr int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM reviews)`).Scan(&np, &nr); err != nil {
		t.Fatal(err)
	}
	if np != 2 || nr != 1 {
		t.Errorf("after two runs: %d products, %d reviews; want 2 and 1", np, nr)
	}
	if n, err := s.CountProducts(ctx); err != nil || n != 2 {
		t.Errorf("CountProducts = %d, %v; want 2", n, err)
	}
}
