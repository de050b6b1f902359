package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/services/recommender/store"
)

// Hand-made data where the right answer is worked out by hand (w(s) = (s−1)/4,
// sums shown as multiples of 1/64):
//
//	A, B, C, F: Pens; D, E, G: Paper; H: Staplers
//	r1: A5 B5 C1   r2: A5 B4   r3: A4 C5 D5   r4: A1 E5   r5: B5 D5 G5
//
// For A: co(B) = r1 4·4·4 + r2 4·4·3 = 112; co(C) = r1 4·4·0 + r3 4·3·4 = 48;
// co(D) = r3 4·3·4 = 48; co(E) = r4 4·0·4 = 0, so E is no co-review match.
// Then F (the only other Pen), then popular: E and G (4 each), H (0).
//
// For reviewer r2 (A5, B4): seeds A (weight 4) and B (weight 3), others only:
// D = r3 via A 4·3·4 + r5 via B 3·4·4 = 96; C = r3 via A 48 (r1 gave C one
// star); G = r5 via B 48. Then F (Pens, like A and B), then E, H.
func seedQuality(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	cats := map[string]string{"A": "Pens", "B": "Pens", "C": "Pens", "F": "Pens", "D": "Paper", "E": "Paper", "G": "Paper", "H": "Staplers"}
	for _, l := range "ABCDEFGH" {
		if _, err := s.CreateProduct(ctx, product(asinOf(string(l)), []string{"Office Products", cats[string(l)]})); err != nil {
			t.Fatal(err)
		}
	}
	reviews := map[string]string{"r1": "A5 B5 C1", "r2": "A5 B4", "r3": "A4 C5 D5", "r4": "A1 E5", "r5": "B5 D5 G5"}
	at := time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)
	for reviewer, list := range reviews {
		for i := 0; i < len(list); i += 3 {
			r := &recommenderv1.Review{Asin: asinOf(list[i : i+1]), ReviewerId: reviewer,
				Overall: int32(list[i+1] - '0'), ReviewTime: timestamppb.New(at)}
			if _, err := s.CreateReview(ctx, r, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func asinOf(letter string) string { return "B00000000" + letter }

type rec struct {
	Letter, Reason string
}

func recommend(t *testing.T, s *store.Store, p store.RecommendParams) []rec {
	t.Helper()
	recs, err := s.Recommend(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var out []rec
	for i, r := range recs {
		if i > 0 && r.Score > recs[i-1].Score {
			t.Errorf("score of %s (%v) above the one before (%v)", r.Product.Asin, r.Score, recs[i-1].Score)
		}
		out = append(out, rec{r.Product.Asin[9:], r.Reason})
	}
	return out
}

func TestRecommendQuality(t *testing.T) {
	s, _ := newStore(t)
	seedQuality(t, s)
	co, cat, pop := store.ReasonCoReviewed, store.ReasonPopularInCategory, store.ReasonPopular
	tests := []struct {
		name string
		p    store.RecommendParams
		want []rec
	}{
		{"product", store.RecommendParams{ASIN: asinOf("A")},
			[]rec{{"B", co}, {"C", co}, {"D", co}, {"F", cat}, {"E", pop}, {"G", pop}, {"H", pop}}},
		{"product, top 2", store.RecommendParams{ASIN: asinOf("A"), MaxResults: 2},
			[]rec{{"B", co}, {"C", co}}},
		{"reviewer", store.RecommendParams{ReviewerID: "r2"},
			[]rec{{"D", co}, {"C", co}, {"G", co}, {"F", cat}, {"E", pop}, {"H", pop}}},
		{"product and reviewer", store.RecommendParams{ASIN: asinOf("A"), ReviewerID: "r2"},
			[]rec{{"D", co}, {"C", co}, {"G", co}, {"F", cat}, {"E", pop}, {"H", pop}}},
		// H has no reviews: only its category, then the whole catalog by
		// rating-weighted review count (A 11, B 11, D 8, C/E/G 4, F 0).
		{"no signal", store.RecommendParams{ASIN: asinOf("H"), MaxResults: 5},
			[]rec{{"A", pop}, {"B", pop}, {"D", pop}, {"C", pop}, {"E", pop}}},
		{"nothing asked", store.RecommendParams{MaxResults: 3},
			[]rec{{"A", pop}, {"B", pop}, {"D", pop}}},
		{"unknown reviewer", store.RecommendParams{ReviewerID: "nobody", MaxResults: 2},
			[]rec{{"A", pop}, {"B", pop}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := recommend(t, s, tt.p)
			if !slices.Equal(tt.want, got) {
				t.Errorf("Recommend(%+v)\n got %v\nwant %v", tt.p, got, tt.want)
			}
			// Deterministic: the same data gives the same answer.
			if again := recommend(t, s, tt.p); !slices.Equal(got, again) {
				t.Errorf("second answer %v differs from first %v", again, got)
			}
		})
	}
	if _, err := s.Recommend(context.Background(), store.RecommendParams{ASIN: "B999999999"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown ASIN: %v, want ErrNotFound", err)
	}
}
