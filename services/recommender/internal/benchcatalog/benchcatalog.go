// Package benchcatalog generates catalogs of any size for the Recommender's
// benchmarks, in the shapes of the originals' meta_office.csv and
// office_both_set.csv (which catalogcsv imports).
//
// A catalog of size N× has N times the shipped sample's 320 products and
// about N times its 3,460 reviews. Popularity is Zipf-like, as in real
// stores: a few products collect most reviews, and most reviewers write a
// handful of reviews while a few write hundreds. Reviewers favour two
// categories and products have a hidden quality, so the reviews carry
// co-review signal. The output depends only on the size: the seed is fixed,
// so the same size gives the same bytes, and benchmarks can cache the files
// (see [Files]).
package benchcatalog

import (
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	seed = 20261130
	// Per 1×: the shipped sample's numbers of products and reviews.
	productsPer1x = 320
	reviewsPer1x  = 3460
	// meanReviews is a reviewer's mean number of reviews; with a Pareto
	// tail (shape paretoShape) a few reviewers write hundreds.
	meanReviews = 5.0
	paretoShape = 2.5
	maxReviews  = 2000
	// zipfS is the exponent of product popularity, within a category and
	// over the catalog.
	zipfS = 1.1
)

// ParseSize reads "10x" (or "10") as 10.
func ParseSize(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(s), "x"))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("catalog size %q: want a positive multiple like 1x, 100x", s)
	}
	return n, nil
}

// Files returns the gzipped products and reviews files of a catalog of the
// given size under dir/<size>x/, writing them first when they are missing.
func Files(dir string, size int) (products, reviews string, err error) {
	d := filepath.Join(dir, fmt.Sprintf("%dx", size))
	products, reviews = filepath.Join(d, "meta_office.csv.gz"), filepath.Join(d, "office_both_set.csv.gz")
	if _, err := os.Stat(reviews); err == nil {
		return products, reviews, nil
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", "", err
	}
	// Written beside, then renamed: a file that exists is whole.
	tmpP, tmpR := products+".tmp", reviews+".tmp"
	if err := writeGzipFiles(tmpP, tmpR, size); err != nil {
		return "", "", err
	}
	if err := os.Rename(tmpP, products); err != nil {
		return "", "", err
	}
	return products, reviews, os.Rename(tmpR, reviews)
}

func writeGzipFiles(productsPath, reviewsPath string, size int) error {
	pf, err := os.Create(productsPath)
	if err != nil {
		return err
	}
	defer pf.Close()
	rf, err := os.Create(reviewsPath)
	if err != nil {
		return err
	}
	defer rf.Close()
	pz, rz := gzip.NewWriter(pf), gzip.NewWriter(rf)
	if err := Write(pz, rz, size); err != nil {
		return err
	}
	if err := pz.Close(); err != nil {
		return err
	}
	if err := rz.Close(); err != nil {
		return err
	}
	if err := pf.Close(); err != nil {
		return err
	}
	return rf.Close()
}

type product struct {
	asin    string
	leaf    int
	quality float64
}

// Write writes a catalog of the given size: products as meta_office.csv,
// reviews as office_both_set.csv.
func Write(products, reviews io.Writer, size int) error {
	rng := rand.New(rand.NewPCG(seed, uint64(size)))
	nProducts := productsPer1x * size
	// Leaf categories grow with the catalog, more slowly: 12 at 1×, 120 at
	// 100×.
	nLeaves := int(12 * math.Sqrt(float64(size)))
	ps := make([]product, nProducts)
	byLeaf := make([][]int, nLeaves)
	for i := range ps {
		// Distinct, sortable, ASIN-shaped: B + 9 digits.
		ps[i] = product{asin: fmt.Sprintf("B%09d", i*7919%1_000_000_000), leaf: rng.IntN(nLeaves), quality: 2.2 + 2.8*rng.Float64()}
		byLeaf[ps[i].leaf] = append(byLeaf[ps[i].leaf], i)
	}
	if err := writeProducts(products, ps); err != nil {
		return err
	}
	global := rand.NewZipf(rng, zipfS, 1, uint64(nProducts-1))
	leafZipf := make([]*rand.Zipf, nLeaves)
	for l, list := range byLeaf {
		if len(list) > 1 {
			leafZipf[l] = rand.NewZipf(rng, zipfS, 1, uint64(len(list)-1))
		}
	}
	// The popular products of a Zipf draw are the first indexes: shuffle
	// which products those are, so popularity is not ASIN order.
	perm := rng.Perm(nProducts)

	cw := csv.NewWriter(reviews)
	if err := cw.Write([]string{"reviewerID", "asin", "reviewerName", "helpful", "reviewText", "overall", "summary", "unixReviewTime", "reviewTime"}); err != nil {
		return err
	}
	start := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	span := time.Date(2014, 7, 1, 0, 0, 0, 0, time.UTC).Unix() - start
	xm := meanReviews * (paretoShape - 1) / paretoShape
	target := reviewsPer1x * size
	done := map[int]bool{}
	for written, reviewer := 0, 0; written < target; reviewer++ {
		id := fmt.Sprintf("A%013d", reviewer)
		n := min(maxReviews, int(xm/math.Pow(1-rng.Float64(), 1/paretoShape)))
		n = max(1, min(n, target-written))
		favs := [2]int{rng.IntN(nLeaves), rng.IntN(nLeaves)}
		clear(done)
		for range n {
			var p int
			if f := favs[rng.IntN(2)]; rng.IntN(5) < 4 && leafZipf[f] != nil {
				p = byLeaf[f][leafZipf[f].Uint64()]
			} else {
				p = perm[global.Uint64()]
			}
			if done[p] {
				continue
			}
			done[p] = true
			rating := max(1, min(5, int(ps[p].quality+rng.NormFloat64()*0.9+0.5)))
			at := time.Unix(start+rng.Int64N(span), 0).UTC()
			if err := cw.Write([]string{id, ps[p].asin, "Reviewer " + strconv.Itoa(reviewer), "[0, 0]", "Generated.",
				strconv.Itoa(rating) + ".0", "Generated", strconv.FormatInt(at.Unix(), 10), at.Format("01 2, 2006")}); err != nil {
				return err
			}
			written++
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeProducts(w io.Writer, ps []product) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"asin", "title", "description", "imUrl", "related", "salesRank", "categories", "brand", "price"}); err != nil {
		return err
	}
	for i, p := range ps {
		cats := fmt.Sprintf("[['Office Products', 'Group %d', 'Leaf %d']]", p.leaf%12, p.leaf)
		if err := cw.Write([]string{p.asin, fmt.Sprintf("Generated product %d", i), "A generated product.",
			"", fmt.Sprintf("{'also_bought': ['%s']}", ps[(i+1)%len(ps)].asin),
			fmt.Sprintf("{'Office Products': %d}", i+1), cats, "Generic", fmt.Sprintf("%d.%02d", 1+i%50, i%100)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
