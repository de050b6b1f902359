package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedSampleIsGenerated: the shipped files are exactly what the
// generator writes, so nobody edits them by hand and the seed reproduces them.
func TestCommittedSampleIsGenerated(t *testing.T) {
	dir := t.TempDir()
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"meta_office.csv.gz", "office_both_set.csv.gz"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("..", "..", "samplecatalog", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output: run go generate ./services/recommender/samplecatalog", name)
		}
	}
}
