package store

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"time"
)

// adIDPattern is the API's ad_id rule; the bounds are the first and last
// microsecond of years 1 to 9999.
var (
	adIDPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	minTokenMicros = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	maxTokenMicros = time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC).UnixMicro()
)

// pageCursor is what a page token carries: where the previous page ended
// and the filter it was taken with.
type pageCursor struct {
	CreateMicros    int64  `json:"t"`
	AdID            string `json:"id"`
	IncludeInactive bool   `json:"i,omitempty"`
}

func encodePageToken(c pageCursor) string {
	b, _ := json.Marshal(c) // cannot fail: plain struct
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(tok string) (pageCursor, error) {
	var c pageCursor
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, err
	}
	// A token is the client's input: nothing in it may reach PostgreSQL
	// unchecked (a NUL in the id, a time outside timestamptz's range).
	if !adIDPattern.MatchString(c.AdID) || c.CreateMicros < minTokenMicros || c.CreateMicros > maxTokenMicros {
		return c, errors.New("page token out of range")
	}
	if c.AdID == "" {
		return c, errors.New("no ad id")
	}
	return c, nil
}
