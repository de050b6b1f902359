// Package catalogcsv reads the original services' CSV files, meta_office.csv
// (products) and office_both_set.csv (reviews), and imports them into the
// Recommender's store.
//
// # Sections
//
//   - The files
//   - Malformed rows
//   - Importing
//
// # The files
//
// Columns are found by their header names, so extra columns (a pandas index)
// and another order are fine. related, salesRank and categories hold Python
// literals as Python's repr writes them ("{'also_bought': ['B001']}",
// "[['Office Products', \"Kids' Crafts\"]]"); a small parser reads dicts,
// lists, tuples, both quote styles with escapes, numbers, True, False and
// None, and refuses anything nested deeper than 32 levels. Prices are
// decimals read exactly into US dollars; helpful is "[helpful, total]";
// overall is a whole number of stars written as a float ("5.0");
// unixReviewTime wins over reviewTime ("07 17, 2014"). pandas' "nan" means
// empty.
//
// # Malformed rows
//
// A row that cannot be read whole (bad CSV, an ASIN that is not ten
// upper-case letters or digits, a broken literal, overall outside 1 to 5,
// helpful above total) is a [RowError] with its line; the readers carry on
// with the next row. [Import] skips such rows, and reviews of products that
// do not exist, and reports each through [WithOnSkip]: one bad line never
// stops a long import, and none is half-imported.
//
// # Importing
//
// [Import] writes products, then reviews, in batches of one statement each
// (an upsert: products by ASIN, reviews by the key "csv:<reviewerID>:<asin>"),
// so a re-run replaces instead of duplicating, and reports progress through
// [WithProgress] at most every interval.
package catalogcsv
