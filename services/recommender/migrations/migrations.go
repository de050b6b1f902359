package migrations

import "embed"

// FS holds the goose SQL migrations of the recommender schema at its root,
// for internal/database.Migrate.
//
//go:embed *.sql
var FS embed.FS
