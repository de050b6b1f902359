package store

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
)

// Reasons of a recommendation, in the order the tiers are filled.
const (
	ReasonCoReviewed        = "co_reviewed"
	ReasonPopularInCategory = "popular_in_category"
	ReasonPopular           = "popular"
)

// Bounds of one answer: what keeps the rows a recommendation reads the same
// whatever the catalog size.
const (
	// SeedsPerReviewer is how many of a reviewer's reviewed products, most
	// recently reviewed first, seed their recommendations.
	SeedsPerReviewer = 20
	// NeighboursPerSeed is how many of a seed's best co-reviewed neighbours
	// a reviewer's ranking merges (a product's own ranking reads just the
	// answer's length).
	NeighboursPerSeed = 100
)

// neighboursPerSeed is NeighboursPerSeed, changed by tests only.
var neighboursPerSeed = NeighboursPerSeed

// RecommendParams says for whom to recommend.
type RecommendParams struct {
	// ASIN recommends products related to this one; it must exist.
	ASIN string
	// ReviewerID recommends for this reviewer, without what they reviewed.
	ReviewerID string
	// MaxResults: 0 means 10; at most 100.
	MaxResults int32
}

type scored struct {
	asin  string
	score int64
}

// seedSet is what a request ranks from.
type seedSet struct {
	asins    []string // co-review seeds
	weights  []int32  // their weights, w × 4: (s − 1), or 4 for the requested product
	excluded []string // never recommended: the product and everything the reviewer reviewed
	cats     []string // leaf categories of the product and the reviewer's seeds
}

// Recommend ranks products for a product, a reviewer, or both, best first.
//
// # Ranking
//
// A rating s becomes a weight w(s) = (s−1)/4: one star is 0, five stars 1, so
// a co-review by someone who disliked either product adds nothing.
//
// The seeds are the requested product, with weight 1 (as if the shopper liked
// it), and the reviewer's [SeedsPerReviewer] most recently reviewed products,
// with the weight of their rating. A candidate Y scores
//
//	co(Y) = Σ over seeds X: w(seed X) · S(X, Y)
//	S(X, Y) = Σ over reviewers r of X and Y: w(r's X) · w(r's Y)
//
// and candidates with co(Y) > 0 come first ("co_reviewed"). S is kept in the
// co_reviews table (see package migrations), updated in the transaction that
// writes a review, so a product's ranking reads its first rows; a reviewer's
// merges the [NeighboursPerSeed] best of each seed. The seeds and everything
// the reviewer reviewed are never candidates. Remaining places go to the
// products in the seeds' most specific categories ("popular_in_category"),
// then to the whole catalog ("popular"), both by pop(Y) = Σ w(s) over Y's
// reviews, a rating-weighted review count kept in the popularity table. Ties
// go to the smaller ASIN, and the sums are integers, so the same data always
// gives the same answer.
//
// The reported score keeps tiers apart and orders within one:
// tier + x/(1+x), with tier 2, 1, 0 for co_reviewed, popular_in_category,
// popular and x the tier's sum.
//
// An unknown ASIN is ErrNotFound; an unknown reviewer has no signal.
func (s *Store) Recommend(ctx context.Context, p RecommendParams) ([]*recommenderv1.Recommendation, error) {
	limit := int(p.MaxResults)
	switch {
	case limit <= 0:
		limit = 10
	case limit > 100:
		limit = 100
	}
	seeds, err := s.seeds(ctx, p)
	if err != nil {
		return nil, translate(err, "recommend")
	}
	var tiers [3][]scored
	taken := func() []string {
		// Never nil: pgx sends a nil slice as NULL, and "<> ALL(NULL)" is
		// never true.
		out := append(make([]string, 0, limit+len(seeds.excluded)), seeds.excluded...)
		for _, t := range tiers {
			for _, c := range t {
				out = append(out, c.asin)
			}
		}
		return out
	}
	left := func() int { return limit - len(tiers[0]) - len(tiers[1]) - len(tiers[2]) }

	if tiers[0], err = s.coReviewed(ctx, seeds, limit); err != nil {
		return nil, translate(err, "recommend")
	}
	if left() > 0 && len(seeds.cats) > 0 {
		if tiers[1], err = s.popularInCategories(ctx, seeds.cats, taken(), left()); err != nil {
			return nil, translate(err, "recommend")
		}
	}
	if left() > 0 {
		if tiers[2], err = s.popular(ctx, taken(), left()); err != nil {
			return nil, translate(err, "recommend")
		}
	}
	recs, err := s.recommendations(ctx, tiers)
	return recs, translate(err, "recommend")
}

// seeds reads the requested product's categories (ErrNotFound when it does
// not exist) and the reviewer's reviewed products: a bounded read, one
// reviewer's rows.
func (s *Store) seeds(ctx context.Context, p RecommendParams) (seedSet, error) {
	var ss seedSet
	if p.ASIN != "" {
		var cats []string
		if err := s.rank.QueryRow(ctx, `SELECT leaf_categories FROM products WHERE asin = $1`, p.ASIN).Scan(&cats); err != nil {
			return ss, err
		}
		ss.asins, ss.weights, ss.excluded = []string{p.ASIN}, []int32{4}, []string{p.ASIN}
		ss.cats = cats
	}
	if p.ReviewerID == "" {
		return ss, nil
	}
	// Each reviewed product once, its weights summed (a product reviewed
	// twice seeds twice), most recently reviewed first.
	rows, err := s.rank.Query(ctx, `
		SELECT asin, sum(overall - 1)::integer FROM reviews WHERE reviewer_id = $1
		GROUP BY asin ORDER BY max(review_time) DESC, asin`, p.ReviewerID)
	if err != nil {
		return ss, err
	}
	type own struct {
		ASIN   string
		Weight int32
	}
	reviewed, err := pgx.CollectRows(rows, pgx.RowToStructByPos[own])
	if err != nil {
		return ss, err
	}
	var catSeeds []string
	ownSeeds := 0
	for _, o := range reviewed {
		if o.ASIN == p.ASIN {
			continue // already a seed, with the full weight
		}
		ss.excluded = append(ss.excluded, o.ASIN)
		if len(catSeeds) < SeedsPerReviewer {
			catSeeds = append(catSeeds, o.ASIN)
		}
		// A one-star review adds nothing, so it takes no seed's place.
		if o.Weight > 0 && ownSeeds < SeedsPerReviewer {
			ss.asins, ss.weights = append(ss.asins, o.ASIN), append(ss.weights, o.Weight)
			ownSeeds++
		}
	}
	if len(catSeeds) > 0 {
		rows, err := s.rank.Query(ctx, `
			SELECT DISTINCT c FROM products, unnest(leaf_categories) AS c WHERE asin = ANY($1::text[])`, catSeeds)
		if err != nil {
			return ss, err
		}
		cats, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return ss, err
		}
		for _, c := range cats {
			if !slices.Contains(ss.cats, c) {
				ss.cats = append(ss.cats, c)
			}
		}
	}
	return ss, nil
}

// coReviewed merges the seeds' neighbour rows: each seed's best
// NeighboursPerSeed (just enough for the answer when the product is the only
// seed), index-only from co_reviews_rank_idx.
func (s *Store) coReviewed(ctx context.Context, ss seedSet, limit int) ([]scored, error) {
	if len(ss.asins) == 0 {
		return nil, nil
	}
	perSeed := limit + len(ss.excluded)
	if len(ss.asins) > 1 {
		perSeed = max(neighboursPerSeed, limit)
	}
	return s.ranked(ctx, `
		SELECT n.other, sum(s.weight * n.score)::bigint
		FROM unnest($1::text[], $2::integer[]) AS s(asin, weight)
		CROSS JOIN LATERAL (
			SELECT other, score FROM co_reviews c WHERE c.asin = s.asin
			ORDER BY score DESC, other LIMIT $3
		) n
		-- An anti-join, hashed once, rather than "<> ALL", which would
		-- compare every row with every excluded product.
		WHERE NOT EXISTS (SELECT 1 FROM unnest($4::text[]) AS x(asin) WHERE x.asin = n.other)
		GROUP BY n.other
		HAVING sum(s.weight * n.score) > 0
		ORDER BY 2 DESC, 1 LIMIT $5`, ss.asins, ss.weights, perSeed, ss.excluded, limit)
}

// popularInCategories reads the best of each category's popularity rows,
// skipping what is taken, and merges them.
func (s *Store) popularInCategories(ctx context.Context, cats, taken []string, n int) ([]scored, error) {
	return s.ranked(ctx, `
		SELECT t.asin, max(t.score)
		FROM unnest($1::text[]) AS c(category)
		CROSS JOIN LATERAL (
			SELECT asin, score FROM popularity p
			WHERE p.category = c.category AND p.asin <> ALL($2::text[])
			ORDER BY score DESC, asin LIMIT $3
		) t
		GROUP BY t.asin
		ORDER BY 2 DESC, 1 LIMIT $3`, cats, taken, n)
}

// popular reads the whole catalog's best popularity rows, skipping what is
// taken.
func (s *Store) popular(ctx context.Context, taken []string, n int) ([]scored, error) {
	return s.ranked(ctx, `
		SELECT asin, score FROM popularity
		WHERE category = '' AND asin <> ALL($1::text[])
		ORDER BY score DESC, asin LIMIT $2`, taken, n)
}

// recommendations reads the chosen products and scores them per tier.
func (s *Store) recommendations(ctx context.Context, tiers [3][]scored) ([]*recommenderv1.Recommendation, error) {
	var chosen []string
	for _, t := range tiers {
		for _, c := range t {
			chosen = append(chosen, c.asin)
		}
	}
	if len(chosen) == 0 {
		return []*recommenderv1.Recommendation{}, nil
	}
	products, err := s.productsByASIN(ctx, s.rank, chosen)
	if err != nil {
		return nil, err
	}
	recs := make([]*recommenderv1.Recommendation, 0, len(chosen))
	for i, t := range tiers {
		reason := [...]string{ReasonCoReviewed, ReasonPopularInCategory, ReasonPopular}[i]
		// co sums carry 4×4×4 (three weights times 4), pop sums 4.
		scale := [...]float64{64, 4, 4}[i]
		for _, c := range t {
			prod, ok := products[c.asin]
			if !ok {
				continue // deleted between the queries
			}
			x := float64(c.score) / scale
			recs = append(recs, &recommenderv1.Recommendation{
				Product: prod,
				Score:   float64(2-i) + x/(1+x),
				Reason:  reason,
			})
		}
	}
	return recs, nil
}

func (s *Store) ranked(ctx context.Context, sql string, args ...any) ([]scored, error) {
	rows, err := s.rank.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (scored, error) {
		var s scored
		err := row.Scan(&s.asin, &s.score)
		return s, err
	})
}
