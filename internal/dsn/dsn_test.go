package dsn_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/breakwater/breakwater/internal/dsn"
)

const pw = "s3cr3t-Pa55"

// forms are the connection strings pgx accepts with a password in them, one
// per place pgconn.ParseConfig reads a secret from.
var forms = map[string]string{
	"url userinfo":          "postgres://app:" + pw + "@db.example:5432/shop?sslmode=disable",
	"postgresql scheme":     "postgresql://app:" + pw + "@db.example/shop",
	"url query password":    "postgres://db.example/shop?user=app&password=" + pw + "&sslmode=disable",
	"url encoded query key": "postgres://db.example/shop?pass%77ord=" + pw,
	"url sslpassword":       "postgres://app@db.example/shop?sslpassword=" + pw,
	"url both":              "postgres://app:" + pw + "@db.example/shop?password=" + pw + "x",
	"url multi-host":        "postgres://app:" + pw + "@h1:5432,h2:5433/shop",
	"keyword/value":         "host=db.example user=app password=" + pw + " dbname=shop",
	"keyword/value spaced":  "host = db.example password = " + pw + " dbname=shop",
	"keyword/value quoted":  "host=db.example password='" + pw + " with space\\' quote' dbname=shop",
	"keyword/value escaped": `host=db.example password=` + pw + `\ more dbname=shop`,
	"keyword/value last":    "host=db.example dbname=shop password=" + pw,
	"keyword/value ssl":     "host=db.example sslpassword=" + pw + " dbname=shop",
	"keyword/value tabs":    "host=db.example\tpassword=" + pw + "\ndbname=shop",
}

func TestRedactEveryForm(t *testing.T) {
	for name, s := range forms {
		got := dsn.Redact(s)
		if strings.Contains(got, pw) || strings.Contains(got, "5ecr3t") {
			t.Errorf("%s: Redact(%q) = %q keeps the password", name, s, got)
		}
		if got == dsn.Unparsable {
			t.Errorf("%s: Redact(%q) gave up on a string pgx accepts", name, s)
			continue
		}
		// What is left still reads as the same connection, minus the secret.
		want, err := pgconn.ParseConfig(s)
		if err != nil {
			t.Fatalf("%s: pgx rejects the test's own string: %v", name, err)
		}
		cfg, err := pgconn.ParseConfig(got)
		if err != nil {
			t.Errorf("%s: redacted %q no longer parses: %v", name, got, err)
			continue
		}
		if cfg.Host != want.Host || cfg.Port != want.Port || cfg.User != want.User || cfg.Database != want.Database {
			t.Errorf("%s: redacted %q reads as %s@%s:%d/%s, want %s@%s:%d/%s", name, got,
				cfg.User, cfg.Host, cfg.Port, cfg.Database, want.User, want.Host, want.Port, want.Database)
		}
		if cfg.Password != "" && cfg.Password != dsn.Mask {
			t.Errorf("%s: redacted %q still carries password %q", name, got, cfg.Password)
		}
	}
}

func TestRedactKeepsTheRest(t *testing.T) {
	for in, want := range map[string]string{
		"":                                       "",
		"postgres://app@db/shop?sslmode=disable": "postgres://app@db/shop?sslmode=disable",
		"postgres://app:x@db/shop":               "postgres://app:xxxxx@db/shop",
		"host=db user=app password=x":            "host=db user=app password=xxxxx",
		"host=db application_name='my app'":      "host=db application_name='my app'",
	} {
		if got := dsn.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRedactMalformed: strings whose structure is ambiguous give nothing
// away, password included.
func TestRedactMalformed(t *testing.T) {
	for _, s := range []string{
		"postgres://app:" + pw + "@db/%zz",
		"host=db password='" + pw,
		"host=db " + pw,
		"pgx://app:" + pw + "@db/shop?sslmode=disable",
		"host=db\x00password=" + pw,
	} {
		if got := dsn.Redact(s); got != dsn.Unparsable {
			t.Errorf("Redact(%q) = %q, want %q", s, got, dsn.Unparsable)
		}
	}
	// Two '@': Go's URL parser takes the last as the end of the userinfo,
	// so everything before it is masked as the password.
	if got := dsn.Redact("postgres://app:" + pw + "@db:notaport@x/shop"); strings.Contains(got, pw) {
		t.Errorf("two '@': %q", got)
	}
}

// FuzzRedact: whatever pgx would read as a password from Redact's output is
// the mask, never the input's password.
func FuzzRedact(f *testing.F) {
	for _, s := range forms {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := dsn.Redact(s)
		if got == dsn.Unparsable || got == "" {
			return
		}
		cfg, err := pgconn.ParseConfig(got)
		if err != nil {
			return
		}
		orig, err := pgconn.ParseConfig(s)
		if err != nil || orig.Password == "" {
			return
		}
		if cfg.Password != "" && cfg.Password != dsn.Mask {
			t.Errorf("Redact(%q) = %q: pgx reads password %q from it", s, got, cfg.Password)
		}
	})
}

func ExampleRedact() {
	for _, s := range []string{
		"postgres://app:hunter2@db:5432/shop?sslmode=disable",
		"host=db user=app password='hunter 2' dbname=shop",
	} {
		fmt.Println(dsn.Redact(s))
	}
	// Output:
	// postgres://app:xxxxx@db:5432/shop?sslmode=disable
	// host=db user=app password=xxxxx dbname=shop
}
