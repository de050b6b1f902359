package recommender_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/recommender/catalogcsv"
	"github.com/breakwater/breakwater/services/recommender/internal/benchcatalog"
	"github.com/breakwater/breakwater/services/recommender/migrations"
	"github.com/breakwater/breakwater/services/recommender/store"
)

// benchCallers is how many callers the scale benchmark runs at once.
const benchCallers = 8

// benchDataDir caches generated catalogs between runs (ignored by git).
const benchDataDir = "../../.build/bench-data"

// BenchmarkListRecommendations ranks for products and for reviewers, and
// lists products, through the gRPC server, with benchCallers concurrent
// callers, on generated catalogs of each size in BENCH_SIZES (default
// "1x,100x"; add 1000x by hand: it loads 3.5M reviews). At the end it prints
// each size's p50 and p99 against 1×: the cost of an answer should not grow
// with the catalog (goal ≤ 1.5). With -count, the ratios are of the
// medians over the runs.
func BenchmarkListRecommendations(b *testing.B) {
	sizes := strings.Split(or(os.Getenv("BENCH_SIZES"), "1x,100x"), ",")
	type key struct{ size, kind string }
	results := map[key][]measured{}
	kinds := []string{"product", "reviewer", "ListProducts"}
	type catalog struct {
		size                int
		e                   *env
		products, reviewers []string
	}
	var catalogs []catalog
	for _, sz := range sizes {
		n, err := benchcatalog.ParseSize(sz)
		if err != nil {
			b.Fatal(err)
		}
		dbURL := benchDatabase(b, n)
		e := newEnv(b, dbURL, false)
		products, reviewers := benchKeys(b, e)
		catalogs = append(catalogs, catalog{n, e, products, reviewers})
		if os.Getenv("BENCH_EXPLAIN") != "" {
			explainRecommend(b, dbURL, store.RecommendParams{ASIN: products[0]})
			explainRecommend(b, dbURL, store.RecommendParams{ReviewerID: reviewers[0]})
			// No co-review signal: the category and popular tiers.
			var cold string
			if err := e.pool.QueryRow(context.Background(), `SELECT min(asin) FROM products p
				WHERE NOT EXISTS (SELECT 1 FROM co_reviews c WHERE c.asin = p.asin)`).Scan(&cold); err != nil {
				b.Fatal(err)
			}
			explainRecommend(b, dbURL, store.RecommendParams{ASIN: cold})
		}
	}
	// Each kind at every size, one after the other, so that the sizes
	// compared share the machine's state as closely as possible.
	for _, kind := range kinds {
		for _, c := range catalogs {
			n, e, products, reviewers := c.size, c.e, c.products, c.reviewers
			b.Run(fmt.Sprintf("size=%dx/%s", n, kind), func(b *testing.B) {
				var call func(ctx context.Context, i int) error
				switch kind {
				case "product":
					call = func(ctx context.Context, i int) error {
						_, err := e.client.ListRecommendations(ctx, &recommenderv1.ListRecommendationsRequest{Asin: products[i%len(products)]})
						return err
					}
				case "reviewer":
					call = func(ctx context.Context, i int) error {
						_, err := e.client.ListRecommendations(ctx, &recommenderv1.ListRecommendationsRequest{ReviewerId: reviewers[i%len(reviewers)]})
						return err
					}
				default:
					call = func(ctx context.Context, i int) error {
						_, err := e.client.ListProducts(ctx, &recommenderv1.ListProductsRequest{PageSize: 20,
							Category: []string{"", "Leaf 3"}[i%2]})
						return err
					}
				}
				p50, p99 := runConcurrent(b, call)
				k := key{fmt.Sprintf("%dx", n), kind}
				results[k] = append(results[k], measured{b.N, p50, p99})
			})
		}
	}
	for _, sz := range sizes {
		n, _ := benchcatalog.ParseSize(sz)
		if n == 1 {
			continue
		}
		for _, kind := range kinds {
			base, ok1 := medians(results[key{"1x", kind}])
			big, ok2 := medians(results[key{fmt.Sprintf("%dx", n), kind}])
			if ok1 && ok2 {
				fmt.Printf("ratio %dx/1x %-12s at %d callers: p50 %.2f (%v / %v), p99 %.2f (%v / %v)\n", n, kind, benchCallers,
					float64(big[0])/float64(base[0]), big[0], base[0], float64(big[1])/float64(base[1]), big[1], base[1])
			}
		}
	}
}

// measured is one run of a sub-benchmark: calibration runs (small n) and
// the runs -count asks for all call it.
type measured struct {
	n        int
	p50, p99 time.Duration
}

// medians returns the median p50 and the median p99 of the measured runs,
// leaving out calibration runs (under half the largest b.N).
func medians(runs []measured) ([2]time.Duration, bool) {
	maxN := 0
	for _, r := range runs {
		maxN = max(maxN, r.n)
	}
	var p50s, p99s []time.Duration
	for _, r := range runs {
		if r.n*2 >= maxN {
			p50s, p99s = append(p50s, r.p50), append(p99s, r.p99)
		}
	}
	if len(p50s) == 0 {
		return [2]time.Duration{}, false
	}
	slices.Sort(p50s)
	slices.Sort(p99s)
	return [2]time.Duration{p50s[len(p50s)/2], p99s[len(p99s)/2]}, true
}

// runConcurrent calls call from benchCallers goroutines until b.N calls are
// done, reports p50 and p99, and returns them.
func runConcurrent(b *testing.B, call func(ctx context.Context, i int) error) (p50, p99 time.Duration) {
	ctx := context.Background()
	b.SetParallelism(max(1, benchCallers/runtime.GOMAXPROCS(0)))
	var (
		mu  sync.Mutex
		lat = make([]time.Duration, 0, b.N)
		seq int
	)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mine := make([]time.Duration, 0, 256)
		for pb.Next() {
			mu.Lock()
			i := seq
			seq++
			mu.Unlock()
			start := time.Now()
			if err := call(ctx, i); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	reportPercentiles(b, lat)
	if len(lat) == 0 {
		return 0, 0
	}
	return lat[len(lat)/2], lat[len(lat)*99/100]
}

// benchKeys returns the products and reviewers the benchmark asks for: the
// 16 with the most reviews and 48 spread over the rest, in a fixed order.
func benchKeys(b *testing.B, e *env) (products, reviewers []string) {
	pick := func(sql string) []string {
		rows, err := e.pool.Query(context.Background(), sql)
		if err != nil {
			b.Fatal(err)
		}
		all, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			b.Fatal(err)
		}
		out := slices.Clone(all[:min(16, len(all))])
		for i := 16; i < len(all) && len(out) < 64; i += max(1, (len(all)-16)/48) {
			out = append(out, all[i])
		}
		return out
	}
	products = pick(`SELECT asin FROM reviews GROUP BY asin ORDER BY count(*) DESC, asin`)
	reviewers = pick(`SELECT reviewer_id FROM reviews GROUP BY reviewer_id ORDER BY count(*) DESC, reviewer_id`)
	return products, reviewers
}

var benchDatabases = struct {
	sync.Mutex
	urls map[int]string
}{urls: map[int]string{}}

// benchDatabase returns a database of the shared server holding the
// generated catalog of the given size, imported as `recommender import`
// does (COPY, then a rebuild). It is made once per process and kept for the
// other runs of -count; the shared server goes with the process.
func benchDatabase(b *testing.B, size int) string {
	benchDatabases.Lock()
	defer benchDatabases.Unlock()
	if u, ok := benchDatabases.urls[size]; ok {
		return u
	}
	ctx := context.Background()
	admin := pgtest.Shared(b).NewDatabase(b)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		b.Fatal(err)
	}
	name := fmt.Sprintf("bench_%dx", size)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	conn.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	dbURL := u.String()

	start := time.Now()
	productsPath, reviewsPath, err := benchcatalog.Files(benchDataDir, size)
	if err != nil {
		b.Fatal(err)
	}
	generated := time.Since(start)
	pool, err := database.Open(ctx, dbURL, "recommender")
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if err := database.Migrate(ctx, pool, "recommender", migrations.FS); err != nil {
		b.Fatal(err)
	}
	pf, err := openGzip(productsPath)
	if err != nil {
		b.Fatal(err)
	}
	defer pf.Close()
	rf, err := openGzip(reviewsPath)
	if err != nil {
		b.Fatal(err)
	}
	defer rf.Close()
	st, err := catalogcsv.Import(ctx, store.NewBulk(pool), pf, rf, catalogcsv.WithBatchSize(10000))
	if err != nil {
		b.Fatal(err)
	}
	imported := time.Since(start)
	if err := store.Rebuild(ctx, pool, nil); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("catalog %dx: %d products, %d reviews; files %v, import %v, rebuild %v\n", size, st.Products, st.Reviews,
		generated.Round(time.Millisecond), (imported - generated).Round(time.Millisecond), (time.Since(start) - imported).Round(time.Millisecond))
	benchDatabases.urls[size] = dbURL
	return dbURL
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

type gzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g gzipFile) Close() error {
	g.Reader.Close()
	return g.f.Close()
}

func openGzip(path string) (gzipFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return gzipFile{}, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return gzipFile{}, err
	}
	return gzipFile{zr, f}, nil
}

// queryLog records the statements a pool runs, with their arguments.
type queryLog struct {
	mu   sync.Mutex
	sqls []string
	args [][]any
}

func (l *queryLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	l.sqls, l.args = append(l.sqls, d.SQL), append(l.args, d.Args)
	l.mu.Unlock()
	return ctx
}

func (l *queryLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// explainRecommend prints EXPLAIN (ANALYZE, BUFFERS) of every statement
// Store.Recommend runs for p (BENCH_EXPLAIN=1): the plans and the database
// time of one answer.
func explainRecommend(b *testing.B, dbURL string, p store.RecommendParams) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = "recommender"
	log := &queryLog{}
	cfg.ConnConfig.Tracer = log
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := store.New(pool).Recommend(ctx, p); err != nil {
		b.Fatal(err)
	}
	n := len(log.sqls)
	fmt.Printf("EXPLAIN of Recommend(%+v): %d statements\n", p, n)
	for i := range n {
		rows, err := pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+log.sqls[i], log.args[i]...)
		if err != nil {
			b.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			b.Fatal(err)
		}
		fmt.Printf("-- %s\n%s\n", strings.Join(strings.Fields(log.sqls[i]), " "), strings.Join(lines, "\n"))
	}
}
