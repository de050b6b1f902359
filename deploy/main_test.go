package deploy_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// repoRoot is the repository's root: tests run in deploy/.
const repoRoot = ".."

// service is what the deployment files say about one service; the tests
// hold each file to it.
type service struct {
	name      string // adprovider, recommender
	env       string // prefix of its own variables: ADPROVIDER, RECOMMENDER
	grpcPort  int32
	adminPort int32
	// healthName is its grpc.health.v1 service name: NOT_SERVING until its
	// schema is migrated ("" is SERVING while the process is up).
	healthName string
}

var services = []service{
	{"adprovider", "ADPROVIDER", 8001, 9001, "adprovider.v1.AdProviderService"},
	{"recommender", "RECOMMENDER", 8000, 9000, "recommender.v1.RecommenderService"},
}

// drainTimeout is the services' bound on the graceful drain after SIGTERM
// (internal/serve: Config.ShutdownTimeout's default).
const drainTimeout = 10

// breakerConfigPath is where both compose and Kubernetes mount breakers.json.
const breakerConfigPath = "/etc/breakwater/breakers.json"

func readFile(t *testing.T, path ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(path...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
