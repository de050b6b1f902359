package secrettest_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/breakwater/breakwater/internal/secrettest"
)

func TestFormsCarryThePassword(t *testing.T) {
	for name, s := range secrettest.Forms(t, "postgres://postgres@127.0.0.1:5432/db?sslmode=disable") {
		cfg, err := pgconn.ParseConfig(s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.HasPrefix(cfg.Password, secrettest.Password) || cfg.Database != "db" || cfg.Port != 5432 {
			t.Errorf("%s: %q reads as password %q db %q port %d", name, s, cfg.Password, cfg.Database, cfg.Port)
		}
	}
}

func TestCheckFindsSecrets(t *testing.T) {
	_, _, key := secrettest.TLS(t)
	keyLine := strings.Split(string(key), "\n")[1]
	for _, log := range []string{"a\nmsg password=" + secrettest.Password + "\n", "x " + keyLine[:40] + "\n"} {
		ft := &fakeT{TB: t}
		secrettest.Check(ft, log, secrettest.Password, string(key))
		if !ft.failed {
			t.Errorf("Check missed the secret in %q", log)
		}
	}
	ft := &fakeT{TB: t}
	secrettest.Check(ft, "level=INFO msg=fine\n", secrettest.Password, string(key))
	if ft.failed {
		t.Error("Check failed a clean log")
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Helper()               {}
