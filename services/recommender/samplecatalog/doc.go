// Package samplecatalog ships the Recommender's sample catalog: a few hundred
// office products and a few thousand reviews from a few hundred reviewers, in
// the originals' CSV shapes (meta_office.csv, office_both_set.csv), gzipped
// and embedded in the binary.
//
// # Sections
//
//   - Where it comes from
//   - Loading it
//
// # Where it comes from
//
// The files are written by services/recommender/internal/samplegen from a
// fixed seed (`go generate ./services/recommender/samplecatalog`), so they are
// the same on every run. Reviewers favour a couple of categories and products
// have a hidden quality, so the reviews carry co-review signal. Four products
// have fixed ASINs: they are the service's house ads.
//
// # Loading it
//
// [LoadIfEmpty] imports the files through catalogcsv when the catalog has no
// products, which is what the service does at start-up, after migrations.
package samplecatalog
