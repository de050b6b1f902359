package catalogcsv

import "time"

// An Option configures [Import].
type Option func(*options)

type options struct {
	batch         int
	onSkip        func(file string, err *RowError)
	progress      func(Progress)
	progressEvery time.Duration
	now           func() time.Time
}

func evaluateOptions(opts []Option) *options {
	o := &options{batch: 1000, progressEvery: 2 * time.Second, now: time.Now}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithBatchSize sets how many rows go into one statement (default 1000).
func WithBatchSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.batch = n
		}
	}
}

// WithOnSkip is called for every row left out, with the file's name
// ("products" or "reviews") and the row's line and reason.
func WithOnSkip(f func(file string, err *RowError)) Option {
	return func(o *options) { o.onSkip = f }
}

// WithProgress is called after a batch once every interval has passed, and
// once at the end of each file, so a long import shows it is moving.
func WithProgress(f func(Progress), every time.Duration) Option {
	return func(o *options) { o.progress, o.progressEvery = f, every }
}
