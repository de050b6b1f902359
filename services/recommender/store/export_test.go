package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
)

// RecommendExact is the ranking computed from the reviews at request time,
// as Recommend did before the precomputed tables: the reference the tests
// compare Recommend with.
func (s *Store) RecommendExact(ctx context.Context, p RecommendParams) ([]*recommenderv1.Recommendation, error) {
	limit := int(p.MaxResults)
	switch {
	case limit <= 0:
		limit = 10
	case limit > 100:
		limit = 100
	}
	var (
		seeds    []string
		weights  []int32 // (s−1) for reviews, 4 for the requested product: w × 4
		excluded []string
		leafCats []string
		seedCats []string // the reviewer's products, for their categories
	)
	if p.ASIN != "" {
		var cats []string
		err := s.db.QueryRow(ctx, `SELECT leaf_categories FROM products WHERE asin = $1`, p.ASIN).Scan(&cats)
		if err != nil {
			return nil, translate(err, "recommend")
		}
		seeds, weights, excluded = append(seeds, p.ASIN), append(weights, 4), append(excluded, p.ASIN)
		leafCats = append(leafCats, cats...)
	}
	if p.ReviewerID != "" {
		rows, err := s.db.Query(ctx, `SELECT asin, overall - 1 FROM reviews WHERE reviewer_id = $1 ORDER BY asin`, p.ReviewerID)
		if err != nil {
			return nil, translate(err, "recommend")
		}
		type seed struct {
			ASIN   string
			Weight int32
		}
		own, err := pgx.CollectRows(rows, pgx.RowToStructByPos[seed])
		if err != nil {
			return nil, translate(err, "recommend")
		}
		for _, o := range own {
			if o.ASIN == p.ASIN {
				continue // already a seed, with the full weight
			}
			seeds, weights = append(seeds, o.ASIN), append(weights, o.Weight)
			excluded = append(excluded, o.ASIN)
			seedCats = append(seedCats, o.ASIN)
		}
	}

	var tiers [3][]scored
	if len(seeds) > 0 {
		// The co-review join: seed → its reviewers (reviews_asin_time_idx) →
		// their other reviews (reviews_reviewer_idx), both index-only.
		got, err := s.rankedExact(ctx, `
			SELECT b.asin, sum(s.weight * (a.overall - 1) * (b.overall - 1))::bigint
			FROM unnest($1::text[], $2::integer[]) AS s(asin, weight)
			JOIN reviews a ON a.asin = s.asin AND a.reviewer_id <> $3
			JOIN reviews b ON b.reviewer_id = a.reviewer_id
			WHERE b.asin <> ALL($4::text[])
			GROUP BY b.asin
			HAVING sum(s.weight * (a.overall - 1) * (b.overall - 1)) > 0
			ORDER BY 2 DESC, 1 LIMIT $5`, seeds, weights, p.ReviewerID, excluded, limit)
		if err != nil {
			return nil, err
		}
		tiers[0] = got
	}
	taken := func() []string {
		// Never nil: pgx sends a nil slice as NULL, and "<> ALL(NULL)" is
		// never true.
		out := append(make([]string, 0, limit+len(excluded)), excluded...)
		for _, t := range tiers {
			for _, c := range t {
				out = append(out, c.asin)
			}
		}
		return out
	}
	left := func() int { return limit - len(tiers[0]) - len(tiers[1]) - len(tiers[2]) }

	if left() > 0 && (len(leafCats) > 0 || len(seedCats) > 0) {
		got, err := s.rankedExact(ctx, `
			WITH cats AS (
				SELECT unnest($1::text[]) AS c
				UNION SELECT unnest(leaf_categories) FROM products WHERE asin = ANY($2::text[])
			)
			SELECT p.asin, COALESCE(sum(r.overall - 1), 0)::bigint
			FROM products p LEFT JOIN reviews r ON r.asin = p.asin
			WHERE p.leaf_categories && ARRAY(SELECT c FROM cats) AND p.asin <> ALL($3::text[])
			GROUP BY p.asin
			ORDER BY 2 DESC, 1 LIMIT $4`, leafCats, seedCats, taken(), left())
		if err != nil {
			return nil, err
		}
		tiers[1] = got
	}
	if left() > 0 {
		got, err := s.rankedExact(ctx, `
			SELECT p.asin, COALESCE(r.score, 0)::bigint
			FROM products p
			LEFT JOIN (SELECT asin, sum(overall - 1) AS score FROM reviews GROUP BY asin) r ON r.asin = p.asin
			WHERE p.asin <> ALL($1::text[])
			ORDER BY 2 DESC, 1 LIMIT $2`, taken(), left())
		if err != nil {
			return nil, err
		}
		tiers[2] = got
	}

	chosen := taken()[len(excluded):]
	products, err := s.productsByASIN(ctx, s.db, chosen)
	if err != nil {
		return nil, translate(err, "recommend")
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

func (s *Store) rankedExact(ctx context.Context, sql string, args ...any) ([]scored, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, translate(err, "recommend")
	}
	got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (scored, error) {
		var s scored
		err := row.Scan(&s.asin, &s.score)
		return s, err
	})
	return got, translate(err, "recommend")
}

// SetNeighboursPerSeed changes how many neighbours of each seed a
// reviewer's ranking merges, until the returned function restores it.
func SetNeighboursPerSeed(n int) (restore func()) {
	old := neighboursPerSeed
	neighboursPerSeed = n
	return func() { neighboursPerSeed = old }
}
