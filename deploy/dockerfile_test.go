package deploy_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// dockerfile is deploy/Dockerfile as BuildKit reads it.
type dockerfile struct {
	stages   []instructions.Stage
	metaArgs map[string]string // global ARGs and their defaults
}

func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(readFile(t, "Dockerfile")))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range res.Warnings {
		t.Errorf("parser warning: %s (line %d)", w.Short, w.Location.Start.Line)
	}
	// The rules `docker build` checks as it parses (FromAsCasing,
	// StageNameCasing, JSONArgsRecommended, ...): a warning fails the test.
	lint := linter.New(&linter.Config{Warn: func(rule, desc, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		t.Errorf("lint %s: %s (line %d)", rule, msg, line)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatal(err)
	}
	d := dockerfile{stages: stages, metaArgs: map[string]string{}}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value == nil {
				// An ARG used in FROM without a default makes an empty image
				// name when the build does not pass it.
				t.Errorf("global ARG %s has no default", kv.Key)
				continue
			}
			d.metaArgs[kv.Key] = *kv.Value
		}
	}
	return d
}

func (d dockerfile) stage(t *testing.T, name string) instructions.Stage {
	t.Helper()
	for _, s := range d.stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stage %q", name)
	return instructions.Stage{}
}

// expand substitutes the global ARGs' defaults and the platform ARGs
// BuildKit sets, as a build without --build-arg does.
func (d dockerfile) expand(s string) string {
	return os.Expand(s, func(k string) string {
		if v, ok := d.metaArgs[k]; ok {
			return v
		}
		switch k {
		case "BUILDPLATFORM", "TARGETPLATFORM":
			return "linux/amd64"
		case "TARGETOS":
			return "linux"
		case "TARGETARCH":
			return "amd64"
		}
		return "${" + k + "}"
	})
}

func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if v, ok := c.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// TestDockerfileStages: the default target is the image SERVICE names, and
// SERVICE's default is one of the two services.
func TestDockerfileStages(t *testing.T) {
	d := parseDockerfile(t)
	var names []string
	for _, s := range d.stages {
		names = append(names, s.Name)
	}
	want := []string{"source", "build-adprovider", "build-recommender", "adprovider", "recommender", ""}
	if !slices.Equal(names, want) {
		t.Fatalf("stages %q, want %q", names, want)
	}
	final := d.stages[len(d.stages)-1]
	if final.BaseName != "${SERVICE}" || len(final.Commands) != 0 {
		t.Errorf("final stage: FROM %s with %d commands; want a bare FROM ${SERVICE}", final.BaseName, len(final.Commands))
	}
	if def := d.metaArgs["SERVICE"]; def != "adprovider" && def != "recommender" {
		t.Errorf("ARG SERVICE=%q: want adprovider or recommender", def)
	}
	for _, c := range commands[*instructions.AddCommand](final) {
		t.Errorf("ADD %v: use COPY", c.SourcePaths)
	}
}

// TestDockerfileBuilder: golang at the go directive's version, on the build
// platform, with the module cache mounted and downloads in their own layer.
func TestDockerfileBuilder(t *testing.T) {
	d := parseDockerfile(t)
	src := d.stage(t, "source")
	if got, want := d.expand(src.BaseName), "golang:"+goDirective(t); got != want {
		t.Errorf("builder FROM %s, want %s (go.mod's go directive, major.minor)", got, want)
	}
	if src.Platform != "$BUILDPLATFORM" {
		t.Errorf("builder --platform=%q: want $BUILDPLATFORM (cross-compile, never emulate)", src.Platform)
	}
	env := map[string]string{}
	for _, c := range commands[*instructions.EnvCommand](src) {
		for _, kv := range c.Env {
			env[kv.Key] = kv.Value
		}
	}
	for k, v := range map[string]string{"CGO_ENABLED": "0", "GOTOOLCHAIN": "local"} {
		if env[k] != v {
			t.Errorf("builder ENV %s=%q, want %q", k, env[k], v)
		}
	}
	runs := commands[*instructions.RunCommand](src)
	if len(runs) != 1 || !strings.Contains(strings.Join(runs[0].CmdLine, " "), "go mod download") {
		t.Fatalf("source stage: want one RUN go mod download, got %d RUNs", len(runs))
	}
	checkCacheMounts(t, d, runs[0], "/go/pkg/mod")
	copies := commands[*instructions.CopyCommand](src)
	if len(copies) != 2 || !slices.Equal(copies[0].SourcePaths, []string{"go.mod", "go.sum"}) {
		t.Errorf("source stage: want COPY go.mod go.sum before the download, then COPY . .")
	}
}

// TestDockerfileBuilds: each service's binary is static, trimmed and
// stripped, built from its command's package.
func TestDockerfileBuilds(t *testing.T) {
	d := parseDockerfile(t)
	for _, svc := range services {
		t.Run(svc.name, func(t *testing.T) {
			s := d.stage(t, "build-"+svc.name)
			if s.BaseName != "source" {
				t.Errorf("FROM %s, want source", s.BaseName)
			}
			runs := commands[*instructions.RunCommand](s)
			if len(runs) != 1 {
				t.Fatalf("%d RUNs, want 1", len(runs))
			}
			line := strings.Join(runs[0].CmdLine, " ")
			pkg := "./services/" + svc.name + "/cmd/" + svc.name
			for _, want := range []string{
				"go build ", " -trimpath ", ` -ldflags="-s -w" `,
				" -o /out/" + svc.name + " " + pkg,
				"GOOS=$TARGETOS GOARCH=$TARGETARCH",
			} {
				if !strings.Contains(line+" ", want) {
					t.Errorf("RUN %s\nlacks %q", line, want)
				}
			}
			if _, err := os.Stat(filepath.Join(repoRoot, pkg, "main.go")); err != nil {
				t.Errorf("the package built does not exist: %v", err)
			}
			checkCacheMounts(t, d, runs[0], "/go/pkg/mod", "/root/.cache/go-build")
		})
	}
}

// TestDockerfileRuntime: distroless/static, the binary and nothing else,
// a numeric non-root user (Kubernetes' runAsNonRoot can verify only a
// number), the service's ports, and an exec-form entrypoint (no shell).
func TestDockerfileRuntime(t *testing.T) {
	d := parseDockerfile(t)
	for _, svc := range services {
		t.Run(svc.name, func(t *testing.T) {
			s := d.stage(t, svc.name)
			if got := d.expand(s.BaseName); got != "gcr.io/distroless/static-debian12:nonroot" {
				t.Errorf("FROM %s, want gcr.io/distroless/static-debian12:nonroot", got)
			}
			bin := "/usr/local/bin/" + svc.name
			copies := commands[*instructions.CopyCommand](s)
			if len(copies) != 1 || copies[0].From != "build-"+svc.name ||
				!slices.Equal(copies[0].SourcePaths, []string{"/out/" + svc.name}) || copies[0].DestPath != bin {
				t.Errorf("want exactly COPY --from=build-%s /out/%[1]s %s", svc.name, bin)
			}
			users := commands[*instructions.UserCommand](s)
			if len(users) != 1 || users[0].User != "65532:65532" {
				t.Errorf("USER: want exactly one, 65532:65532 (distroless nonroot:nonroot)")
			}
			var ports []string
			for _, e := range commands[*instructions.ExposeCommand](s) {
				ports = append(ports, e.Ports...)
			}
			want := []string{strconv.Itoa(int(svc.grpcPort)), strconv.Itoa(int(svc.adminPort))}
			if !slices.Equal(ports, want) {
				t.Errorf("EXPOSE %v, want %v (gRPC, admin)", ports, want)
			}
			eps := commands[*instructions.EntrypointCommand](s)
			if len(eps) != 1 || eps[0].PrependShell || !slices.Equal(eps[0].CmdLine, []string{bin}) {
				t.Errorf("want ENTRYPOINT [%q] in exec form", bin)
			}
			for _, c := range s.Commands {
				switch c.(type) {
				case *instructions.CopyCommand, *instructions.UserCommand, *instructions.ExposeCommand, *instructions.EntrypointCommand:
				default:
					// A RUN would need a shell, which distroless lacks.
					t.Errorf("unexpected %s in the runtime stage", c.Name())
				}
			}
		})
	}
}

func checkCacheMounts(t *testing.T, d dockerfile, run *instructions.RunCommand, targets ...string) {
	t.Helper()
	if err := run.Expand(func(w string) (string, error) { return d.expand(w), nil }); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range instructions.GetMounts(run) {
		if m.Type == instructions.MountTypeCache {
			got[m.Target] = true
		}
	}
	for _, target := range targets {
		if !got[target] {
			t.Errorf("RUN %s: no cache mount at %s", strings.Join(run.CmdLine, " "), target)
		}
	}
}

// goDirective is go.mod's go version as an image tag: "1.26".
func goDirective(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindSubmatch(readFile(t, repoRoot, "go.mod"))
	if m == nil {
		t.Fatal("no go directive in go.mod")
	}
	return fmt.Sprintf("%s.%s", m[1], m[2])
}
