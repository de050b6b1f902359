package pgtest

import "time"

// An Option configures a server started by [Start].
type Option func(*config)

type config struct {
	binDir       string
	settings     [][2]string
	startTimeout time.Duration
}

func newConfig(opts []Option) config {
	c := config{startTimeout: time.Minute}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithBinDir sets the directory holding initdb and postgres, overriding
// PG_BINDIR and pg_config.
func WithBinDir(dir string) Option {
	return func(c *config) { c.binDir = dir }
}

// WithSetting passes `-c name=value` to postgres, after the defaults, so it
// can override them (for example statement_timeout or max_connections).
func WithSetting(name, value string) Option {
	return func(c *config) { c.settings = append(c.settings, [2]string{name, value}) }
}

// WithStartTimeout bounds how long a start or restart may take before the
// test fails. The default is one minute: generous, because machines running
// many tests at once are slow, and a healthy start takes well under a second.
func WithStartTimeout(d time.Duration) Option {
	return func(c *config) { c.startTimeout = d }
}
