package dsn

import (
	"net/url"
	"strings"
)

// Mask replaces a secret value in [Redact]'s output.
const Mask = "xxxxx"

// Unparsable is what [Redact] returns for a string it cannot read with
// certainty: nothing of the input, so nothing of a password.
const Unparsable = "(unparsable database url)"

// secretKeys are the keywords whose values pgx uses as secrets
// (pgconn.ParseConfig: password for authentication, sslpassword to decrypt
// the client key). A key is compared after lower-casing, and any key that
// merely contains "password" is masked too: over-masking is harmless.
func secret(key string) bool {
	return strings.Contains(strings.ToLower(key), "password")
}

// Redact returns connString with every password replaced by [Mask], in the
// same form (URL or keyword/value), or [Unparsable]. The empty string stays
// empty (pgx then reads only the environment).
func Redact(connString string) string {
	if connString == "" {
		return ""
	}
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		return redactURL(connString)
	}
	return redactKeywordValue(connString)
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return Unparsable
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), Mask)
		}
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return Unparsable
		}
		for k, vs := range q {
			if secret(k) || !plainKey(k) {
				for i := range vs {
					vs[i] = Mask
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

const space = " \t\n\r\v\f"

// redactKeywordValue tokenises s exactly as pgconn's
// parseKeywordValueSettings does (same whitespace set, same quoting and
// backslash rules) and writes it back with secret values masked.
func redactKeywordValue(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		return Unparsable
	}
	var b strings.Builder
	s = strings.TrimLeft(s, space)
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return Unparsable
		}
		key := strings.Trim(s[:eq], space)
		if !plainKey(key) {
			return Unparsable
		}
		s = strings.TrimLeft(s[eq+1:], space)
		var val string
		switch {
		case len(s) == 0:
		case s[0] != '\'':
			end := 0
			for ; end < len(s); end++ {
				if strings.IndexByte(space, s[end]) >= 0 {
					break
				}
				if s[end] == '\\' {
					end++
					if end == len(s) {
						break
					}
				}
			}
			end = min(end, len(s))
			val = unescape(s[:end])
			s = strings.TrimLeft(s[end:], space)
		default:
			s = s[1:]
			end := 0
			for ; end < len(s); end++ {
				if s[end] == '\'' {
					break
				}
				if s[end] == '\\' {
					end++
					if end == len(s) {
						return Unparsable
					}
				}
			}
			if end == len(s) {
				return Unparsable
			}
			val = unescape(s[:end])
			s = strings.TrimLeft(s[end+1:], space)
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(key)
		b.WriteByte('=')
		if secret(key) {
			val = Mask
		}
		b.WriteString(quote(val))
	}
	return b.String()
}

// plainKey reports whether k looks like a libpq keyword (or a runtime
// parameter name): letters, digits, '_' and '.', nothing else.
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			if i == len(s) {
				break
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// quote writes v so that pgx would read it back unchanged.
func quote(v string) string {
	if v != "" && !strings.ContainsAny(v, space+`'\`) {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}

// Var is a flag.Value for a connection string whose String is redacted, so
// that `-h`, which prints each flag's default (often taken from
// DATABASE_URL), shows no password. Use it as
// fs.Var(dsn.Var{P: &cfg.DatabaseURL}, "database-url", "…").
type Var struct{ P *string }

// String returns the redacted value.
func (v Var) String() string {
	if v.P == nil {
		return ""
	}
	return Redact(*v.P)
}

// Set stores s unchanged.
func (v Var) Set(s string) error {
	*v.P = s
	return nil
}
