package benchcatalog_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"testing"

	"github.com/breakwater/breakwater/services/recommender/catalogcsv"
	"github.com/breakwater/breakwater/services/recommender/internal/benchcatalog"
)

// TestWrite: the same size gives the same bytes, in shapes catalogcsv reads
// without a skipped row, with about 3,460 reviews and 320 products per 1×.
func TestWrite(t *testing.T) {
	var p1, r1, p2, r2 bytes.Buffer
	if err := benchcatalog.Write(&p1, &r1, 2); err != nil {
		t.Fatal(err)
	}
	if err := benchcatalog.Write(&p2, &r2, 2); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(p1.Bytes()) != sha256.Sum256(p2.Bytes()) || sha256.Sum256(r1.Bytes()) != sha256.Sum256(r2.Bytes()) {
		t.Error("two runs of the same size differ")
	}
	products := 0
	pr, err := catalogcsv.NewProductReader(&p1)
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, _, err := pr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		products++
	}
	reviews := 0
	rr, err := catalogcsv.NewReviewReader(&r1)
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, _, _, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		reviews++
	}
	if products != 640 || reviews < 6900 || reviews > 6920 {
		t.Errorf("size 2: %d products, %d reviews; want 640 and about 6,920", products, reviews)
	}
}

func ExampleParseSize() {
	n, _ := benchcatalog.ParseSize("100x")
	fmt.Println(n)
	// Output: 100
}
