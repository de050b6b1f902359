// Package pgtest starts private, throw-away PostgreSQL servers for tests.
//
// A test that touches a store gets a real PostgreSQL: [Start] runs initdb
// and postgres on a free port of 127.0.0.1 in a temporary directory and
// removes both when the test ends. Because the test holds the postmaster
// process, it can stop, kill (-9), pause and restart the server on the same
// port and data directory, which is how outage and start-up tests are real
// rather than mocked.
//
// # Sections
//
//   - Binaries and users
//   - External server
//   - Sharing one server
//   - Faults
//   - Replication
//   - Clean-up and logs
//   - The private server of make run-all
//
// # Binaries and users
//
// initdb and postgres are looked up in PG_BINDIR, then `pg_config --bindir`,
// then the usual install places (/usr/lib/postgresql/<version>/bin, newest
// first; /usr/local/pgsql/bin; Homebrew's postgresql@<version>), then $PATH. They refuse to run as root, so
// when the test runs as root they run as the "postgres" user, in a directory
// under [os.TempDir] owned by that user (not t.TempDir, whose parents are
// private to root). The server runs with fsync off and no Unix socket.
//
// # External server
//
// When TEST_DATABASE_URL is set (a postgres:// URL), [Start] and [Shared]
// return that server instead of starting one. [Server.NewDatabase] still
// works (the role needs CREATEDB); [Server.Stop], [Server.Kill],
// [Server.Restart], [Server.Pause] and [Server.HoldInStartup] skip the test,
// since nobody should kill a server they do not own.
//
// # Sharing one server
//
// Most tests only need an empty database, not their own server. [Shared]
// starts one server per test binary, lazily, and [Server.NewDatabase] gives
// each test its own database on it. The shared server is stopped by the
// TestMain wrapper [Wrap], which also keeps one initdb'd template directory
// per process so that further servers from [Start] are copied rather than
// initialised:
//
//	func TestMain(m *testing.M) {
//		goleak.VerifyTestMain(pgtest.Wrap(m))
//	}
//
// Without [Wrap], [Start] still works (each server runs initdb) and [Shared]
// fails the test.
//
// # Faults
//
// [Server.Kill] sends SIGKILL to the postmaster and every one of its
// children. PostgreSQL's children call setsid(2), so killing the process
// group is not enough; the children are found through /proc while the
// postmaster is frozen. [Server.Pause] stops them all with SIGSTOP: the port
// still accepts TCP connections but nothing answers, like a hung host.
// [Server.HoldInStartup] restarts the server as a standby with hot_standby
// off, so the postmaster answers every connection with SQLSTATE 57P03
// (cannot_connect_now), the code a database that is starting up answers
// with, until [Server.Restart].
//
// # Replication
//
// [StartReplicated] starts a primary and a hot standby made from it with
// pg_basebackup, streaming synchronously: the primary runs with
// synchronous_commit = remote_apply and synchronous_standby_names naming the
// standby's application_name ([StandbyName]), so a commit a client saw
// acknowledged is on both, and visible on the standby. [Replicated.NewDatabase] returns a URL naming both
// servers with target_session_attrs=read-write. A fail-over test kills the
// primary ([Server.Kill]) and promotes the standby ([Server.Promote], which
// runs pg_promote and waits until it is done). Making the pair takes a
// second or two on a 2-core machine; it needs private servers, so with
// TEST_DATABASE_URL set it skips the test.
//
// # Clean-up and logs
//
// No postgres process, goroutine or temporary directory outlives the test
// (or, for [Shared], the test binary). If the test binary dies anyway, the
// kernel kills the postmaster (parent-death signal), its children follow,
// and the next run removes directories of test processes that no longer
// exist. postgres logs to [Server.LogPath], next to the data directory; when
// the server fails to start, the tail of that log is in the failure message.
//
// # The private server of make run-all
//
// [RunLocal] runs the same server logic without the tests' tuning, for a
// developer: a data directory that outlives it (initialised on first use),
// fsync on, a fixed port, a database created when missing, a fast shutdown
// when its context ends. Its command, cmd/pglocal, is what deploy/local's
// run-all and demo start, so the knowledge of how to run PostgreSQL here
// lives in one place, in Go.
package pgtest
