package deploy_test

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// loadCompose loads compose.yaml as `docker compose` does (schema
// validation, interpolation, normalization, consistency checks), with env as
// the whole environment, so the developer's shell cannot change the result.
func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "compose.yaml")}},
		Environment: env,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestComposeServices(t *testing.T) {
	p := loadCompose(t, nil)
	if p.Name != "breakwater" {
		t.Errorf("project name %q, want breakwater", p.Name)
	}
	if got, want := slices.Sorted(func(yield func(string) bool) {
		for name := range p.Services {
			if !yield(name) {
				return
			}
		}
	}), []string{"adprovider", "postgres", "recommender"}; !slices.Equal(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
}

func TestComposePostgres(t *testing.T) {
	pg := loadCompose(t, nil).Services["postgres"]
	if pg.Image != "postgres:15" {
		t.Errorf("image %q, want postgres:15", pg.Image)
	}
	hc := pg.HealthCheck
	if hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Test[0] != "CMD" || hc.Test[1] != "pg_isready" {
		t.Fatalf("healthcheck %+v: want CMD pg_isready ...", hc)
	}
	// Over TCP: during initdb the image's entrypoint runs a server on the
	// socket only, which pg_isready would call ready too early.
	if !slices.Contains(hc.Test, "--host=127.0.0.1") {
		t.Errorf("healthcheck %v: want --host=127.0.0.1", hc.Test)
	}
	if hc.Interval == nil || hc.Retries == nil || time.Duration(*hc.Interval)*time.Duration(*hc.Retries) < 30*time.Second {
		t.Errorf("healthcheck interval × retries under 30s: a slow first start would be called unhealthy")
	}
	if !slices.ContainsFunc(pg.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == types.VolumeTypeVolume && v.Target == "/var/lib/postgresql/data"
	}) {
		t.Error("no named volume for the data directory")
	}
}

func TestComposeBreakwaterServices(t *testing.T) {
	p := loadCompose(t, nil)
	for _, svc := range services {
		t.Run(svc.name, func(t *testing.T) {
			s := p.Services[svc.name]
			if s.Build == nil || s.Build.Dockerfile != "deploy/Dockerfile" ||
				s.Build.Context != filepath.Dir(p.WorkingDir) {
				t.Errorf("build %+v: want the repository root as context and deploy/Dockerfile", s.Build)
			} else if arg := s.Build.Args["SERVICE"]; arg == nil || *arg != svc.name {
				t.Errorf("build arg SERVICE=%v, want %s", arg, svc.name)
			}

			var ports []string
			for _, pc := range s.Ports {
				ports = append(ports, pc.HostIP+":"+pc.Published+"->"+strconv.Itoa(int(pc.Target))+"/"+pc.Protocol)
			}
			want := []string{
				"127.0.0.1:" + strconv.Itoa(int(svc.grpcPort)) + "->" + strconv.Itoa(int(svc.grpcPort)) + "/tcp",
				"127.0.0.1:" + strconv.Itoa(int(svc.adminPort)) + "->" + strconv.Itoa(int(svc.adminPort)) + "/tcp",
			}
			if !slices.Equal(ports, want) {
				t.Errorf("ports %v, want %v", ports, want)
			}

			dep, ok := s.DependsOn["postgres"]
			if !ok || dep.Condition != types.ServiceConditionHealthy {
				t.Errorf("depends_on postgres %+v: want condition service_healthy", dep)
			}
			if s.HealthCheck != nil && !s.HealthCheck.Disable {
				// distroless has neither a shell nor a probe binary to run.
				t.Errorf("healthcheck %v: the image has nothing to run it with", s.HealthCheck.Test)
			}
			if !s.ReadOnly || !slices.Equal(s.CapDrop, []string{"ALL"}) || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
				t.Errorf("read_only %v, cap_drop %v, security_opt %v: want read-only, ALL dropped, no-new-privileges",
					s.ReadOnly, s.CapDrop, s.SecurityOpt)
			}
			if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= drainTimeout*time.Second {
				t.Errorf("stop_grace_period %v: want more than the %ds drain", s.StopGracePeriod, drainTimeout)
			}

			// breakers.json, read-only where BREAKER_CONFIG says; it loads.
			i := slices.IndexFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == breakerConfigPath })
			if i < 0 {
				t.Fatalf("breakers.json is not mounted at %s", breakerConfigPath)
			}
			v := s.Volumes[i]
			if v.Type != types.VolumeTypeBind || !v.ReadOnly || v.Source != filepath.Join(p.WorkingDir, "breakers.json") {
				t.Errorf("breaker config volume %+v: want deploy/breakers.json bound read-only", v)
			}
			if _, err := breaker.LoadConfig(v.Source); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestComposeEnvironment(t *testing.T) {
	const dbURL = "postgres://breakwater:breakwater@postgres:5432/breakwater?sslmode=disable"
	want := map[string]map[string]string{
		"adprovider": {
			"DATABASE_URL":          dbURL,
			"ADPROVIDER_ADDR":       ":8001",
			"ADPROVIDER_ADMIN_ADDR": ":9001",
			"BREAKER_CONFIG":        breakerConfigPath,
			"ADMIN_TOKEN":           "dev-admin-token",
			"LOG_LEVEL":             "info",
			"LOG_FORMAT":            "json",
		},
		"recommender": {
			"DATABASE_URL":           dbURL,
			"RECOMMENDER_ADDR":       ":8000",
			"RECOMMENDER_ADMIN_ADDR": ":9000",
			"ADPROVIDER_TARGET":      "adprovider:8001",
			"BREAKER_CONFIG":         breakerConfigPath,
			"ADMIN_TOKEN":            "dev-admin-token",
			"LOG_LEVEL":              "info",
			"LOG_FORMAT":             "json",
		},
	}
	p := loadCompose(t, nil)
	pg := p.Services["postgres"].Environment
	if u, pw := *pg["POSTGRES_USER"], *pg["POSTGRES_PASSWORD"]; !strings.HasPrefix(dbURL, "postgres://"+u+":"+pw+"@postgres:5432/"+*pg["POSTGRES_DB"]+"?") {
		t.Errorf("DATABASE_URL %s does not match the postgres service's user, password and database", dbURL)
	}
	for name, env := range want {
		got := map[string]string{}
		for k, v := range p.Services[name].Environment {
			if v == nil {
				t.Errorf("%s: %s has no value", name, k)
				continue
			}
			got[k] = *v
		}
		for k, v := range env {
			if got[k] != v {
				t.Errorf("%s: %s=%q, want %q", name, k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := env[k]; !ok {
				t.Errorf("%s: unexpected %s", name, k)
			}
		}
	}

	// The dev defaults give way to the environment compose runs in.
	p = loadCompose(t, map[string]string{"ADMIN_TOKEN": "s3cret", "POSTGRES_PASSWORD": "pw", "LOG_LEVEL": "debug"})
	for name := range want {
		env := p.Services[name].Environment
		if *env["ADMIN_TOKEN"] != "s3cret" || *env["LOG_LEVEL"] != "debug" ||
			*env["DATABASE_URL"] != "postgres://breakwater:pw@postgres:5432/breakwater?sslmode=disable" {
			t.Errorf("%s: ADMIN_TOKEN, LOG_LEVEL or POSTGRES_PASSWORD from the environment not used", name)
		}
	}
	if pw := p.Services["postgres"].Environment["POSTGRES_PASSWORD"]; pw == nil || *pw != "pw" {
		t.Errorf("postgres: POSTGRES_PASSWORD from the environment not used")
	}
}
