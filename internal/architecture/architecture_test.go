package architecture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/breakwater/breakwater"

// rule: packages under from (module-relative; "x/..." is x and below) may
// not import packages under any of deny, unless under allow.
type rule struct {
	from  string
	deny  []string
	allow []string
	why   string
}

// rules are the repository's dependency rules; doc.go says why in prose.
var rules = []rule{
	{
		from: "interceptors/...", deny: []string{"services/...", "internal/...", "gen/..."},
		allow: []string{"gen/go/breaker/v1"},
		why:   "interceptors is a library for other people's services",
	},
	{from: "services/adprovider/...", deny: []string{"services/recommender/..."}, why: "services meet only through the contract"},
	{from: "services/recommender/...", deny: []string{"services/adprovider/..."}, why: "services meet only through the contract"},
	{from: "internal/...", deny: []string{"services/..."}, why: "internal is what the services share"},
	{from: "gen/...", deny: []string{"interceptors/...", "internal/...", "services/...", "examples/..."}, why: "generated code depends on nothing of ours"},
}

func under(pkg, pattern string) bool {
	if p, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == p || strings.HasPrefix(pkg, p+"/")
	}
	return pkg == pattern
}

func matchesAny(pkg string, patterns []string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return under(pkg, p) })
}

// violations checks a graph of module-relative package → imports.
func violations(graph map[string][]string) []string {
	var out []string
	for pkg, imports := range graph {
		for _, r := range rules {
			if !under(pkg, r.from) {
				continue
			}
			for _, imp := range imports {
				if matchesAny(imp, r.deny) && !matchesAny(imp, r.allow) {
					out = append(out, fmt.Sprintf("%s imports %s: %s", pkg, imp, r.why))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// moduleGraph lists every package of the module with its non-test imports
// inside the module, module-relative.
func moduleGraph(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	graph := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		var imports []string
		for _, imp := range p.Imports {
			if r, ok := strings.CutPrefix(imp, module+"/"); ok {
				imports = append(imports, r)
			}
		}
		graph[rel] = imports
	}
	return graph
}

// TestDependencyRules fails when a package of the module breaks a rule.
func TestDependencyRules(t *testing.T) {
	graph := moduleGraph(t)
	for _, must := range []string{"interceptors/breaker", "services/adprovider", "services/recommender", "internal/serve", "gen/go/breaker/v1"} {
		if _, ok := graph[must]; !ok {
			t.Fatalf("go list did not list %s: the rules would check nothing", must)
		}
	}
	for _, v := range violations(graph) {
		t.Error(v)
	}
}

// TestRulesCatchViolations: the checker reports each kind of violation
// and lets the allowed import through.
func TestRulesCatchViolations(t *testing.T) {
	got := violations(map[string][]string{
		"interceptors/breaker":                 {"gen/go/breaker/v1"},              // allowed
		"interceptors/pgbreaker":               {"internal/database"},              // denied
		"services/adprovider/store":            {"services/recommender/store"},     // denied
		"services/recommender":                 {"gen/go/adprovider/v1"},           // fine
		"internal/serve":                       {"services/adprovider"},            // denied
		"gen/go/recommender/v1":                {"gen/go/money/v1"},                // fine
		"gen/go/adprovider/v1":                 {"interceptors/breaker"},           // denied
		"services/recommender/cmd/recommender": {"services/adprovider/migrations"}, // denied
	})
	want := []string{"gen/go/adprovider/v1 imports", "interceptors/pgbreaker imports", "internal/serve imports",
		"services/adprovider/store imports", "services/recommender/cmd/recommender imports"}
	if len(got) != len(want) {
		t.Fatalf("violations:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("violation %d: %s, want %s…", i, got[i], want[i])
		}
	}
}
