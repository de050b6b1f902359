package pgbreaker_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/pgtest"
)

func readOnlyReason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// TestWritesJudgedApart: on a database whose sessions are read-only, writes
// through the writes view fail as *ReadOnlyError (UNAVAILABLE,
// DATABASE_READ_ONLY) and open the write breaker alone; its rejections say
// read-only too; reads go on. A write sent through the reads view is
// refused the same way but does not count against reads. While the
// database stays read-only the write breaker's recovery probe keeps it
// open; once the database takes writes again, the probe resumes them
// before the breaker's open timeout.
func TestWritesJudgedApart(t *testing.T) {
	t.Parallel()
	url := pgtest.Shared(t).NewDatabase(t)
	admin := connect(t, url)
	mustExec(t, admin, "CREATE TABLE t (id int)")
	name := strings.TrimPrefix(url[strings.LastIndex(url, "/"):], "/")
	name = name[:strings.IndexByte(name+"?", '?')]
	mustExec(t, admin, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" SET default_transaction_read_only = on")
	pool := newPool(t, url) // connects after the ALTER: every session is read-only
	reads, mock := newDB(t, pool)
	writes := reads.Writer()
	ctx := context.Background()

	if writes.Reader() != reads || !writes.IsWriter() || reads.IsWriter() {
		t.Fatal("views do not link")
	}
	if writes.Breaker().Name() != reads.Breaker().Name()+pgbreaker.WriteSuffix {
		t.Fatalf("write breaker %q", writes.Breaker().Name())
	}
	// Unmarked, a write is refused but reads do not pay for it.
	_, err := reads.Exec(ctx, "INSERT INTO t VALUES (1)")
	if !pgbreaker.IsReadOnly(err) || reads.Breaker().Snapshot().Neutral != 1 {
		t.Fatalf("write through the reads view: %v, %+v", err, reads.Breaker().Snapshot())
	}
	for i := range tripAfter {
		_, err := writes.Exec(ctx, "INSERT INTO t VALUES (1)")
		var ro *pgbreaker.ReadOnlyError
		if !errors.As(err, &ro) || status.Code(err) != codes.Unavailable || readOnlyReason(err) != pgbreaker.ReasonReadOnly {
			t.Fatalf("write %d: %v (%v, %q), want a *ReadOnlyError as UNAVAILABLE", i, err, status.Code(err), readOnlyReason(err))
		}
	}
	if s := writes.Breaker().State(); s != breaker.StateOpen {
		t.Fatalf("write breaker %v after %d refusals, want open", s, tripAfter)
	}
	_, err = writes.Exec(ctx, "INSERT INTO t VALUES (1)")
	if !errors.Is(err, breaker.ErrOpen) || readOnlyReason(err) != pgbreaker.ReasonReadOnly {
		t.Fatalf("rejected write: %v (%q), want the rejection as read-only", err, readOnlyReason(err))
	}
	var n int
	if err := reads.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatalf("read while writes are refused: %v", err)
	}
	if s := reads.Breaker().State(); s != breaker.StateClosed {
		t.Fatalf("reads breaker %v, want closed", s)
	}

	// The probe, on the mock clock, finds the server still read-only.
	probed := writes.Breaker().Snapshot().Transitions
	for range 3 {
		mock.Add(breaker.DefaultProbeInterval * 2)
	}
	if s := writes.Breaker().Snapshot(); s.State != breaker.StateOpen || len(s.Transitions) != len(probed) {
		t.Fatalf("write breaker %v after probes of a read-only server; want it still open", s.State)
	}

	// Back to read-write; the pool's sessions are replaced to see it.
	mustExec(t, admin, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" RESET default_transaction_read_only")
	pool.Reset()
	deadline := time.Now().Add(10 * time.Second)
	for writes.Breaker().State() != breaker.StateClosed {
		if time.Now().After(deadline) {
			t.Fatalf("write breaker %v after the switch back; want closed by its probes", writes.Breaker().State())
		}
		mock.Add(breaker.DefaultProbeInterval * 2) // well inside the open timeout
		time.Sleep(5 * time.Millisecond)           // the probe runs on its own goroutine
	}
	if _, err := writes.Exec(ctx, "INSERT INTO t VALUES (2)"); err != nil {
		t.Errorf("write after the switch back: %v", err)
	}
}

// TestTransactionIsOneCall: BeginTx … Commit is one success, however many
// statements; a statement that loses the connection (57P01, the server
// terminating the session) makes the transaction one failure, though
// Rollback itself has nothing to report, and the connection is not reused.
func TestTransactionIsOneCall(t *testing.T) {
	t.Parallel()
	pool := newPool(t, pgtest.Shared(t).NewDatabase(t))
	db, _ := newDB(t, pool)
	ctx := context.Background()

	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := tx.Exec(ctx, "SELECT 1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); !errors.Is(err, pgx.ErrTxClosed) {
		t.Errorf("rollback after commit: %v, want ErrTxClosed", err)
	}
	if s := db.Breaker().Snapshot(); s.Successes != 1 || s.Failures != 0 {
		t.Fatalf("after one transaction: %d successes, %d failures; want 1, 0", s.Successes, s.Failures)
	}

	tx, err = db.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
	if err == nil {
		t.Fatal("terminated session answered")
	}
	_ = tx.Rollback(ctx)
	if s := db.Breaker().Snapshot(); s.Successes != 1 || s.Failures != 1 {
		t.Fatalf("after a terminated transaction: %d successes, %d failures; want 1, 1", s.Successes, s.Failures)
	}
	var again int
	if err := db.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&again); err != nil || again == pid {
		t.Errorf("next call on backend %d (%v); want a new connection, not %d", again, err, pid)
	}
}

// TestBatchAndCopyAreOneCallEach: SendBatch is recorded at Close, CopyFrom
// when it returns; a rejection reaches the batch's every method.
func TestBatchAndCopyAreOneCallEach(t *testing.T) {
	t.Parallel()
	url := pgtest.Shared(t).NewDatabase(t)
	mustExec(t, connect(t, url), "CREATE TABLE t (id int PRIMARY KEY)")
	db, _ := newDB(t, newPool(t, url))
	w := db.Writer()
	ctx := context.Background()

	n, err := w.CopyFrom(ctx, pgx.Identifier{"t"}, []string{"id"}, pgx.CopyFromRows([][]any{{1}, {2}, {3}}))
	if err != nil || n != 3 {
		t.Fatalf("copy: %d, %v", n, err)
	}
	b := &pgx.Batch{}
	b.Queue("INSERT INTO t VALUES (4)")
	var count int
	b.Queue("SELECT count(*) FROM t").QueryRow(func(r pgx.Row) error { return r.Scan(&count) })
	br := w.SendBatch(ctx, b)
	if s := w.Breaker().Snapshot(); s.Successes != 1 {
		t.Fatalf("batch recorded before Close: %+v", s)
	}
	if err := br.Close(); err != nil || count != 4 {
		t.Fatalf("batch: %v, count %d", err, count)
	}
	if s := w.Breaker().Snapshot(); s.Successes != 2 || s.Failures != 0 {
		t.Fatalf("after copy and batch: %d successes, %d failures; want 2, 0", s.Successes, s.Failures)
	}

	w.Breaker().SetMode(breaker.ModeForcedOpen)
	br = w.SendBatch(ctx, b)
	_, execErr := br.Exec()
	if !errors.Is(execErr, breaker.ErrOpen) || !errors.Is(br.Close(), breaker.ErrOpen) {
		t.Errorf("batch while open: %v", execErr)
	}
	if _, err := w.CopyFrom(ctx, pgx.Identifier{"t"}, []string{"id"}, pgx.CopyFromRows(nil)); !errors.Is(err, breaker.ErrOpen) {
		t.Errorf("copy while open: %v", err)
	}
	if _, err := w.Begin(ctx); !errors.Is(err, breaker.ErrOpen) {
		t.Errorf("begin while open: %v", err)
	}
	if db.Stat().AcquireCount() != 2 {
		t.Errorf("acquires = %d; want 2 (copy, batch, and none for rejections)", db.Stat().AcquireCount())
	}
}

// TestPoolCollector: the pool's figures reach a registry.
func TestPoolCollector(t *testing.T) {
	t.Parallel()
	db, _ := newDB(t, newPool(t, pgtest.Shared(t).NewDatabase(t)))
	if err := ping(db); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(pgbreaker.NewPoolCollector(db))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "state" || l.GetName() == "reason" {
					key += "/" + l.GetValue()
				}
			}
			got[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	for key, want := range map[string]float64{
		"breakwater_db_pool_acquires_total":          1,
		"breakwater_db_pool_connections/idle":        1,
		"breakwater_db_pool_connections/acquired":    0,
		"breakwater_db_pool_max_connections":         2,
		"breakwater_db_pool_new_connections_total":   1,
		"breakwater_db_admission_limit":              2,
		"breakwater_db_admission_calls/waiting":      0,
		"breakwater_db_admission_shed_total":         0,
		"breakwater_db_pool_empty_acquires_total":    1,
		"breakwater_db_pool_canceled_acquires_total": 0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
	if got["breakwater_db_pool_acquire_duration_seconds_total"] <= 0 {
		t.Error("no acquire time")
	}
}

// TestTransactionHasTheBreakersDeadline: a statement of a BeginTx
// transaction, given a context without a deadline, is still cut at the
// breaker's timeout, and the transaction is one failure: a database that
// hangs inside a transaction trips the breaker like one that hangs on a
// single statement.
func TestTransactionHasTheBreakersDeadline(t *testing.T) {
	t.Parallel()
	db, _ := newDB(t, newPool(t, pgtest.Shared(t).NewDatabase(t)), pgbreaker.WithTimeout(200*time.Millisecond))
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, "SELECT pg_sleep(30)")
	if err == nil {
		t.Fatal("a 30 s statement finished inside a 200 ms transaction")
	}
	_ = tx.Rollback(ctx)
	if s := db.Breaker().Snapshot(); s.Failures != 1 || s.Successes != 0 {
		t.Errorf("hung transaction: %d failures, %d successes; want 1, 0 (%v)", s.Failures, s.Successes, err)
	}
}

// TestReadPool: with WithReadPool, reads run on their own pool and
// admission, writes on the main one, and the collector reports both pools.
func TestReadPool(t *testing.T) {
	t.Parallel()
	url := pgtest.Shared(t).NewDatabase(t)
	main, reads := newPool(t, url), newPool(t, url, 3)
	db, _ := newDB(t, main, pgbreaker.WithReadPool(reads))
	if db.Pool() != reads || db.Writer().Pool() != main || db.Admission() == db.Writer().Admission() || db.Admission().Limit() != 3 {
		t.Fatal("reads view not on the read pool with its own admission")
	}
	if err := ping(db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Writer().Exec(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if reads.Stat().AcquireCount() != 1 || main.Stat().AcquireCount() != 1 {
		t.Errorf("acquires: reads %d, main %d; want 1 each", reads.Stat().AcquireCount(), main.Stat().AcquireCount())
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(pgbreaker.NewPoolCollector(db))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	pools := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "pool" {
					pools[l.GetValue()] = true
				}
			}
		}
	}
	if r, w := db.Breaker().Name(), db.Writer().Breaker().Name(); len(pools) != 2 || !pools[r] || !pools[w] {
		t.Errorf("pools in metrics: %v; want %s and %s", pools, r, w)
	}
}

// TestForcedOpen: forcing the reads breaker open cuts writes too, rejected
// under the reads breaker's name; forcing the write breaker open cuts
// writes alone.
func TestForcedOpen(t *testing.T) {
	t.Parallel()
	db, _ := newDB(t, newPool(t, pgtest.Shared(t).NewDatabase(t)))
	w := db.Writer()
	ctx := context.Background()

	db.Breaker().SetMode(breaker.ModeForcedOpen)
	_, err := w.Exec(ctx, "SELECT 1")
	var open *breaker.OpenError
	if !errors.As(err, &open) || open.Breaker != db.Breaker().Name() {
		t.Errorf("write with the reads breaker forced open: %v; want its rejection", err)
	}
	db.Breaker().SetMode(breaker.ModeAuto)
	db.Breaker().Reset()

	w.Breaker().SetMode(breaker.ModeForcedOpen)
	if _, err := w.Exec(ctx, "SELECT 1"); !errors.As(err, &open) || open.Breaker != w.Breaker().Name() {
		t.Errorf("write with the write breaker forced open: %v; want its rejection", err)
	}
	if err := ping(db); err != nil {
		t.Errorf("read with the write breaker forced open: %v", err)
	}
}

// TestStandbyConnectionsDropped: a connection whose write was refused by a
// standby is closed, not reused (the pool would otherwise keep writing to a
// demoted server); one refused by a primary that is read-only for
// maintenance is kept, for the reads that go on over it.
func TestStandbyConnectionsDropped(t *testing.T) {
	t.Parallel()
	r := pgtest.StartReplicated(t)
	primaryURL := r.Primary.NewDatabase(t)
	mustExec(t, connect(t, primaryURL), "CREATE TABLE t (id int)")
	standbyURL := strings.Replace(primaryURL, ":"+itoa(r.Primary.Port())+"/", ":"+itoa(r.Standby.Port())+"/", 1)
	ctx := context.Background()

	// backend is the server process of the pool's one connection.
	backend := func(db *pgbreaker.DB) int {
		t.Helper()
		var pid int
		if err := db.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}

	db, _ := newDB(t, newPool(t, standbyURL, 1))
	before := backend(db)
	if _, err := db.Writer().Exec(ctx, "INSERT INTO t VALUES (1)"); !pgbreaker.IsReadOnly(err) {
		t.Fatalf("write to the standby: %v, want a read-only refusal", err)
	}
	if after := backend(db); after == before {
		t.Errorf("the standby's connection (backend %d) was reused after it refused a write; want it closed", before)
	}

	ro, _ := newDB(t, newPool(t, primaryURL+"&options=-c%20default_transaction_read_only%3Don", 1))
	before = backend(ro)
	if _, err := ro.Writer().Exec(ctx, "INSERT INTO t VALUES (1)"); !pgbreaker.IsReadOnly(err) {
		t.Fatalf("write to the read-only primary: %v, want a read-only refusal", err)
	}
	if after := backend(ro); after != before {
		t.Errorf("the read-only primary's connection was replaced (%d → %d); want it kept", before, after)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
