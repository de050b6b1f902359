package database

// SetBeforePrepare installs a hook that runs once Prepare holds the
// start-up lock; tests use it to force an order between replicas.
func SetBeforePrepare(f func(schema string)) func() {
	beforePrepare = f
	return func() { beforePrepare = nil }
}
