package store

import (
	"encoding/base64"
	"encoding/json"
	"time"
)

// pageToken is the decoded form of a next_page_token: the last key of the
// page (keyset pagination, so inserts never shift later pages) and the filter
// of the request that made it, so a token is refused with another filter.
type pageToken struct {
	Version int       `json:"v"`
	Filter  string    `json:"f,omitempty"`
	ASIN    string    `json:"a,omitempty"`
	Time    time.Time `json:"t,omitzero"`
	ID      int64     `json:"i,omitempty"`
}

const pageTokenVersion = 1

// encode returns the token as opaque text: base64 so clients do not build or
// parse tokens, which leaves the store free to change what is inside.
func (t pageToken) encode() string {
	t.Version = pageTokenVersion
	b, _ := json.Marshal(t) // a struct of strings, numbers and a time cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken parses s and checks it was made for filter. The empty
// token is the first page.
func decodePageToken(s, filter string) (pageToken, bool, error) {
	if s == "" {
		return pageToken{}, false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return pageToken{}, false, ErrInvalidPageToken
	}
	var t pageToken
	if err := json.Unmarshal(b, &t); err != nil || t.Version != pageTokenVersion || t.Filter != filter || !t.valid() {
		return pageToken{}, false, ErrInvalidPageToken
	}
	return t, true, nil
}

// valid reports whether the token's keys are values the store could have
// written: a token is the client's input, so nothing in it may reach
// PostgreSQL unchecked (a NUL in a string, a time out of range).
func (t pageToken) valid() bool {
	if t.ASIN != "" && !isASIN(t.ASIN) {
		return false
	}
	if !t.Time.IsZero() && (t.Time.Year() < 1 || t.Time.Year() > 9999) {
		return false
	}
	return t.ID >= 0
}

func isASIN(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// MaxPageSize is the most products or reviews a page holds; a larger
// page_size is read as this (AIP-158), so that a page of maximal items fits
// a default client's 4 MiB limit (the arithmetic is in the proto comments).
const MaxPageSize = 100

// pageSize applies the API's default and maximum.
func pageSize(n int32) int {
	switch {
	case n <= 0:
		return 50
	case n > MaxPageSize:
		return MaxPageSize
	}
	return int(n)
}
