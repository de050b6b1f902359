// Command benchdata writes a generated catalog for the Recommender's
// benchmarks (package benchcatalog) under a directory, unless it is there:
//
//	go run ./services/recommender/internal/benchcatalog/benchdata -size 100x -dir .build/bench-data
//
// `make bench-data SIZE=100x` runs it; the benchmarks find the files there.
package main

import (
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/breakwater/breakwater/services/recommender/internal/benchcatalog"
)

func main() {
	size := flag.String("size", "10x", "catalog size: 1x is the sample's 320 products and 3,460 reviews")
	dir := flag.String("dir", ".build/bench-data", "directory to write <size>/meta_office.csv.gz and office_both_set.csv.gz under")
	flag.Parse()
	n, err := benchcatalog.ParseSize(*size)
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	products, reviews, err := benchcatalog.Files(*dir, n)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n%s\n(%v)\n", products, reviews, time.Since(start).Round(time.Millisecond))
}
