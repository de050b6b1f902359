package breakeradmin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/internal/breakeradmin"
)

// chromium finds Debian's chromium (or Google Chrome). In CI (CI set) a
// missing browser fails the test, since .ci/run installs it; elsewhere the
// test is skipped with a hint.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on PATH; .ci/run installs Debian's chromium package")
	}
	t.Skip("no chromium on PATH: apt-get install chromium to run the page test")
	return ""
}

// render loads url in headless Chromium, lets its scripts run for a few
// seconds of virtual time, and returns the DOM; with shot set it also writes
// a screenshot there.
func render(t *testing.T, browser, url, shot string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=3000", "--window-size=1280,800",
	}
	if shot != "" {
		args = append(args, "--screenshot="+shot)
	} else {
		args = append(args, "--dump-dom")
	}
	out, err := exec.CommandContext(ctx, browser, append(args, url)...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("chromium: %v\n%s", err, stderr)
	}
	return string(out)
}

// card returns the opening tag of the card of one breaker in dom.
func card(t *testing.T, dom, name string) string {
	t.Helper()
	re := regexp.MustCompile(`<section [^>]*data-breaker="` + regexp.QuoteMeta(name) + `"[^>]*>`)
	tag := re.FindString(dom)
	if tag == "" {
		t.Fatalf("no card for %s in the page:\n%.3000s", name, dom)
	}
	return tag
}

// TestPageInChromium renders /breakers in a real browser: every breaker has
// a card coloured by its state, and forcing one open shows on the page.
func TestPageInChromium(t *testing.T) {
	browser := chromium(t)
	set := breaker.NewSet()
	defer set.Close()
	const ads = "adprovider/adprovider.v1.AdProviderService/GetAds"
	const db = "recommender/postgres"
	adsBreaker := set.MethodBreaker("adprovider", "/adprovider.v1.AdProviderService/GetAds")
	set.Breaker(db, breaker.WithKind(breaker.KindDatabase))
	_ = adsBreaker.Do(context.Background(), func(context.Context) error { return nil })

	mux := http.NewServeMux()
	mux.Handle("GET /breakers", breakeradmin.PageHandler("recommender"))
	mux.Handle("GET /breakers.json", breakeradmin.JSONHandler(set))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	url := srv.URL + "/breakers"

	dom := render(t, browser, url, "")
	for _, want := range []string{"recommender: circuit breakers", "2 breakers"} {
		if !strings.Contains(dom, want) {
			t.Fatalf("page lacks %q:\n%.3000s", want, dom)
		}
	}
	if tag := card(t, dom, ads); !strings.Contains(tag, `data-state="closed"`) || !strings.Contains(tag, "state-closed") {
		t.Fatalf("GetAds card before forcing: %s", tag)
	}

	adsBreaker.SetMode(breaker.ModeForcedOpen)
	dom = render(t, browser, url, "")
	if tag := card(t, dom, ads); !strings.Contains(tag, `data-state="open"`) || !strings.Contains(tag, "state-open") {
		t.Fatalf("GetAds card after forcing open: %s", tag)
	}
	if tag := card(t, dom, db); !strings.Contains(tag, `data-state="closed"`) {
		t.Fatalf("database card: %s", tag)
	}
	for _, want := range []string{">OPEN<", "forced open", "closed → open"} {
		if !strings.Contains(dom, want) {
			t.Errorf("page after forcing open lacks %q", want)
		}
	}

	shot := filepath.Join(t.ArtifactDir(), "breakers-forced-open.png")
	render(t, browser, url, shot)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 5000 {
		t.Fatalf("screenshot %s: %v (size %v)", shot, err, fi)
	}
	t.Logf("screenshot: %s", shot)
}
