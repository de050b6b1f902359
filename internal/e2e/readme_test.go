package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	breakerv1 "github.com/breakwater/breakwater/gen/go/breaker/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
)

// answer is what one README grpcurl line must get.
type answer struct {
	// key is a part of the line that no other README grpcurl line has.
	key string
	// code is the status the call ends with: OK (grpcurl exits 0) or the
	// error grpcurl reports (it exits with 64 + the code).
	code codes.Code
	// want must all be in the output (stdout for OK, stderr for an error).
	want []string
}

// readmeAnswers has one entry per README grpcurl line, in README order. The
// lines run in that order and change the system (writes, forced breakers),
// so an answer may depend on the lines before it. Nothing here depends on
// timing: a full answer is not required to be undegraded, since on a loaded
// machine AdProvider may miss the Recommender's deadline for ads.
var readmeAnswers = []answer{
	// What is there.
	{key: "localhost:8000 list", want: []string{"recommender.v1.RecommenderService", "breaker.v1.BreakerAdminService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"}},
	{key: "localhost:8001 list", want: []string{"adprovider.v1.AdProviderService", "breaker.v1.BreakerAdminService", "grpc.health.v1.Health"}},
	{key: "describe recommender.v1.RecommenderService", want: []string{
		"recommender.v1.RecommenderService is a service", "rpc GetProduct", "rpc ListProducts", "rpc CreateProduct",
		"rpc ListReviews", "rpc CreateReview", "rpc ListRecommendations", "rpc GetAds",
	}},
	{key: "describe recommender.v1.Review", want: []string{"recommender.v1.Review is a message", "string reviewer_id = 3", "int32 overall = 7"}},
	{key: "-plaintext localhost:8000 grpc.health.v1.Health/Check", want: []string{`"status": "SERVING"`}},
	{key: `{"service": "recommender.v1.RecommenderService"}`, want: []string{`"status": "SERVING"`}},
	{key: `{"service": "adprovider.v1.AdProviderService"}`, want: []string{`"status": "SERVING"`}},

	// Recommender reads.
	{key: `"category": "Pens"`, want: []string{`"products"`, `"Pens"`, `"nextPageToken"`}},
	{key: `-d '{"asin": "B00006IE7F"}' localhost:8000`, want: []string{`"asin": "B00006IE7F"`, `"title": "Swingline`}},
	{key: `{"asin": "B00006IE7F", "page_size": 2}`, want: []string{`"reviews"`, `"asin": "B00006IE7F"`, `"reviewerId"`}},
	{key: `"max_results": 5`, want: []string{`"recommendations"`, `"reason": "co_reviewed"`, `"ads"`}},
	{key: `"reviewer_id": "ANMKXQY8T94OMC"`, want: []string{`"recommendations"`, `"reason"`}},
	{key: `"context_keys": ["staplers"]`, want: []string{`"ads"`, `"adId"`}},

	// Recommender writes and errors.
	{key: `"B0README02", "title": "Unsigned"`, code: codes.Unauthenticated, want: []string{"admin token required"}},
	{key: `"request_id": "readme-product-1"`, want: []string{`"asin": "B0README01"`, `"title": "Breakwater Fountain Pen"`}},
	{key: `"request_id": "readme-review-1"`, want: []string{`"reviewId"`, `"reviewerId": "readme-reader"`, `"overall": 5`}},
	{key: `"overall": 9`, code: codes.InvalidArgument, want: []string{
		"type.googleapis.com/google.rpc.BadRequest", `"field": "review.asin"`, `"field": "review.overall"`,
	}},
	{key: `{"asin": "B000000000"}`, code: codes.NotFound, want: []string{"product not found"}},

	// AdProvider.
	{key: `["pens"], "max_ads": 3`, want: []string{`"ads"`, `"adId"`}},
	{key: "AdProviderService/ListAds", want: []string{`"listings"`, `"nextPageToken"`}},
	{key: `-plaintext -d '{"listing"`, code: codes.Unauthenticated, want: []string{"admin token required"}},
	{key: `Bearer $ADMIN_TOKEN" -d '{"listing"`, want: []string{`"adId"`, `"asin": "B0README01"`, `"createTime"`}},

	// Breakers: reads.
	{key: "-plaintext localhost:8000 breaker.v1.BreakerAdminService/ListBreakers", want: []string{
		`"name": "recommender/postgres"`, `/adprovider.v1.AdProviderService/GetAds"`, `"kind": "BREAKER_KIND_GRPC_METHOD"`,
	}},
	{key: "-plaintext localhost:8001 breaker.v1.BreakerAdminService/ListBreakers", want: []string{`"name": "adprovider/postgres"`}},
	{key: `{"name": "recommender/postgres"}' localhost:8000 breaker.v1.BreakerAdminService/GetBreaker`, want: []string{
		`"name": "recommender/postgres"`, `"kind": "BREAKER_KIND_DATABASE"`, `"state": "BREAKER_STATE_CLOSED"`,
	}},
	{key: `{"name": "adprovider/postgres"}' localhost:8001 breaker.v1.BreakerAdminService/GetBreaker`, want: []string{
		`"name": "adprovider/postgres"`, `"state": "BREAKER_STATE_CLOSED"`, `"mode": "BREAKER_MODE_AUTO"`,
	}},
	{key: "no-such-breaker", code: codes.NotFound, want: []string{"no breaker named"}},

	// Breakers: AdProvider's database breaker forced open, and back.
	{key: `-plaintext -d '{"name": "adprovider/postgres", "mode": "BREAKER_MODE_FORCED_OPEN"}'`, code: codes.Unauthenticated, want: []string{"admin token required"}},
	{key: `Bearer $ADMIN_TOKEN" -d '{"name": "adprovider/postgres", "mode": "BREAKER_MODE_FORCED_OPEN"}'`, want: []string{
		`"mode": "BREAKER_MODE_FORCED_OPEN"`, `"state": "BREAKER_STATE_OPEN"`,
	}},
	{key: `["binders"]}' localhost:8001`, code: codes.Unavailable, want: []string{
		"type.googleapis.com/google.rpc.ErrorInfo", `"reason": "CIRCUIT_OPEN"`, `"domain": "breakwater"`, `"breaker": "adprovider/postgres"`,
	}},
	{key: `["binders"]}' localhost:8000`, want: []string{`"ads"`, `"dependency": "adprovider"`, `"fallback": "house_ads"`}},
	{key: `{"name": "adprovider/postgres", "mode": "BREAKER_MODE_AUTO"}`, want: []string{`"mode": "BREAKER_MODE_AUTO"`}},
	{key: `{"name": "adprovider/postgres"}' localhost:8001 breaker.v1.BreakerAdminService/ResetBreaker`, want: []string{
		`"state": "BREAKER_STATE_CLOSED"`, `"mode": "BREAKER_MODE_AUTO"`,
	}},

	// Breakers: the Recommender's breaker for AdProvider's GetAds.
	{key: `GetAds", "mode": "BREAKER_MODE_FORCED_OPEN"}' localhost:8000`, want: []string{`"mode": "BREAKER_MODE_FORCED_OPEN"`, `"state": "BREAKER_STATE_OPEN"`}},
	{key: `{"asin": "B00006IE7F", "max_results": 3}`, want: []string{
		`"recommendations"`, `"dependency": "adprovider"`, `"reason": "circuit_open"`, `"fallback": "house_ads"`,
	}},
	{key: `GetAds", "mode": "BREAKER_MODE_AUTO"}' localhost:8000`, want: []string{`"mode": "BREAKER_MODE_AUTO"`}},
	{key: `GetAds"}' localhost:8000 breaker.v1.BreakerAdminService/ResetBreaker`, want: []string{`"state": "BREAKER_STATE_CLOSED"`}},
}

// TestREADMEGrpcurl runs every grpcurl line of README.md against the
// running system, in order, and checks each answer.
func TestREADMEGrpcurl(t *testing.T) {
	lines := readmeGrpcurlLines(t)
	matched := matchAnswers(t, lines)
	if t.Failed() {
		return // the table and the README disagree: say so before running anything
	}
	s := systemFor(t)
	s.restoreBreakersAtEnd(t)

	// The README's addresses are make run-all's; the system's are its own.
	addrs := strings.NewReplacer("localhost:8000", s.recAddr, "localhost:8001", s.adAddr)
	env := append(os.Environ(),
		"PATH="+s.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"ADMIN_TOKEN="+adminToken,
	)
	outputs := make([]grpcurlOutput, len(lines))
	for i, line := range lines {
		a := matched[i]
		t.Run(fmt.Sprintf("%02d", i+1), func(t *testing.T) {
			outputs[i] = runGrpcurlLine(t, addrs.Replace(line), env, a)
		})
	}
	// The output blocks of the README are what those lines really print.
	t.Run("output blocks", func(t *testing.T) {
		checkOutputBlocks(t, readmeBlocks(t), lines, outputs)
	})
}

// grpcurlOutput is what a README line printed.
type grpcurlOutput struct {
	ran            bool
	stdout, stderr string
}

func runGrpcurlLine(t *testing.T, line string, env []string, a answer) grpcurlOutput {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Through the shell, as a reader would paste it: quotes, $ADMIN_TOKEN.
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	exit := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		exit = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s\nrun: %v", line, err)
	}
	got := grpcurlOutput{ran: true, stdout: stdout.String(), stderr: stderr.String()}

	out := stdout.String()
	wantExit := 0
	if a.code != codes.OK {
		out = stderr.String()
		wantExit = 64 + int(a.code)
	}
	report := func(format string, args ...any) {
		t.Errorf("%s\n%s\nexit status %d\nstdout:\n%s\nstderr:\n%s", line, fmt.Sprintf(format, args...), exit, stdout.String(), stderr.String())
	}
	if exit != wantExit {
		report("want %v (exit status %d)", a.code, wantExit)
		return got
	}
	if a.code != codes.OK && !strings.Contains(out, "Code: "+a.code.String()) {
		report("want Code: %v in the error", a.code)
	}
	for _, w := range a.want {
		if !strings.Contains(out, w) {
			report("want %s in the answer", w)
		}
	}
	return got
}

// matchAnswers finds each line's answer: exactly one key must be in it, and
// every answer must be some line's, so that neither README nor table drifts.
func matchAnswers(t *testing.T, lines []string) []answer {
	t.Helper()
	used := make([]bool, len(readmeAnswers))
	matched := make([]answer, len(lines))
	for i, line := range lines {
		var hits []int
		for j, a := range readmeAnswers {
			if strings.Contains(line, a.key) {
				hits = append(hits, j)
			}
		}
		switch len(hits) {
		case 0:
			t.Errorf("README.md grpcurl line %d has no expected answer in readmeAnswers (internal/e2e/readme_test.go); add one:\n%s", i+1, line)
		case 1:
			matched[i] = readmeAnswers[hits[0]]
			used[hits[0]] = true
		default:
			var keys []string
			for _, j := range hits {
				keys = append(keys, readmeAnswers[j].key)
			}
			t.Errorf("README.md grpcurl line %d matches more than one key %q; make the keys more specific:\n%s", i+1, keys, line)
		}
	}
	for j, u := range used {
		if !u {
			t.Errorf("readmeAnswers key %q matches no README.md grpcurl line: remove it or restore the line", readmeAnswers[j].key)
		}
	}
	return matched
}

// TestREADMECallsEveryRPC checks that the README shows a grpcurl line for
// every RPC of every service, and BreakerAdminService's on both ports.
func TestREADMECallsEveryRPC(t *testing.T) {
	lines := strings.Join(readmeGrpcurlLines(t), "\n")
	check := func(sd protoreflect.ServiceDescriptor, ports ...string) {
		methods := sd.Methods()
		for i := range methods.Len() {
			full := fmt.Sprintf("%s/%s", sd.FullName(), methods.Get(i).Name())
			for _, port := range ports {
				if !regexp.MustCompile(`localhost:` + port + ` ` + regexp.QuoteMeta(full) + `\b`).MatchString(lines) {
					t.Errorf("README.md has no grpcurl line calling %s on localhost:%s", full, port)
				}
			}
		}
	}
	check(recommenderv1.File_recommender_v1_recommender_proto.Services().Get(0), "8000")
	check(adproviderv1.File_adprovider_v1_adprovider_proto.Services().Get(0), "8001")
	check(breakerv1.File_breaker_v1_breaker_proto.Services().Get(0), "8000", "8001")
}

// readmeGrpcurlLines returns the grpcurl command lines of README.md's code
// blocks, with backslash continuations joined.
func readmeGrpcurlLines(t *testing.T) []string {
	t.Helper()
	var lines []string
	for _, b := range readmeBlocks(t) {
		lines = append(lines, b.grpcurl...)
	}
	if len(lines) == 0 {
		t.Fatal("README.md has no grpcurl lines in its code blocks")
	}
	return lines
}

// mdBlock is a fenced code block of a Markdown file.
type mdBlock struct {
	info    string   // the info string: "sh", "ts", "" ...
	text    string   // the contents
	line    int      // the line of the opening fence
	section int      // counts the headings before it
	grpcurl []string // its grpcurl command lines, continuations joined
	first   int      // the index of grpcurl[0] among all the file's grpcurl lines
}

// readmeBlocks returns README.md's fenced code blocks.
func readmeBlocks(t *testing.T) []mdBlock {
	t.Helper()
	return fencedBlocks(t, filepath.Join("..", "..", "README.md"))
}

func fencedBlocks(t *testing.T, path string) []mdBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks  []mdBlock
		cur     *mdBlock
		body    strings.Builder
		cmd     strings.Builder
		section int
		n       int // grpcurl lines so far
		lineNo  int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lineNo++
		text := sc.Text()
		if fence, ok := strings.CutPrefix(strings.TrimSpace(text), "```"); ok {
			if cur == nil {
				cur = &mdBlock{info: strings.TrimSpace(fence), line: lineNo, section: section, first: n}
			} else {
				cur.text = body.String()
				blocks = append(blocks, *cur)
				cur = nil
				body.Reset()
			}
			cmd.Reset()
			continue
		}
		if cur == nil {
			if strings.HasPrefix(text, "#") {
				section++
			}
			continue
		}
		body.WriteString(text + "\n")
		if cmd.Len() > 0 {
			cmd.WriteByte(' ')
			text = strings.TrimSpace(text)
		}
		if rest, ok := strings.CutSuffix(strings.TrimRight(text, " \t"), `\`); ok {
			cmd.WriteString(strings.TrimRight(rest, " \t"))
			continue
		}
		cmd.WriteString(text)
		if line := cmd.String(); strings.HasPrefix(line, "grpcurl ") {
			cur.grpcurl = append(cur.grpcurl, line)
			n++
		}
		cmd.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// checkOutputBlocks checks every block that claims an output: a block
// without an info string that follows, in the same section, a block of
// grpcurl lines is the output of one of those lines, and must be what that
// line printed, compared field by field: the status code, the message and
// each error detail as JSON (or the whole answer as JSON). Layout is free.
func checkOutputBlocks(t *testing.T, blocks []mdBlock, lines []string, outputs []grpcurlOutput) {
	checked := 0
	for i, b := range blocks {
		if b.info != "" || i == 0 {
			continue
		}
		var cmds *mdBlock
		for j := i - 1; j >= 0 && blocks[j].section == b.section; j-- {
			if len(blocks[j].grpcurl) > 0 {
				cmds = &blocks[j]
				break
			}
		}
		if cmds == nil {
			continue // not an output: the layout, say
		}
		want, err := parseGrpcurlOutput(b.text)
		if err != nil {
			t.Errorf("README.md:%d: an output block that cannot be read as grpcurl's: %v\n%s", b.line, err, b.text)
			continue
		}
		var tried []string
		found := false
		for k := range cmds.grpcurl {
			out := outputs[cmds.first+k]
			if !out.ran {
				continue
			}
			text := out.stdout
			if want.code != "" {
				text = out.stderr
			}
			got, err := parseGrpcurlOutput(text)
			if err != nil {
				continue
			}
			if reflect.DeepEqual(got, want) {
				found = true
				break
			}
			if got.code == want.code {
				tried = append(tried, fmt.Sprintf("%s\nprinted:\n%s", lines[cmds.first+k], text))
			}
		}
		checked++
		if !found {
			t.Errorf("README.md:%d: no line of the block at line %d prints this output:\n%s\nthe lines with the same code printed:\n%s",
				b.line, cmds.line, b.text, strings.Join(tried, "\n"))
		}
	}
	if checked == 0 {
		t.Error("README.md has no output block to check: is the parser still right?")
	}
}

// grpcurlAnswer is grpcurl's output, read for comparison: an error's code,
// message and details, or an answer's JSON.
type grpcurlAnswer struct {
	code, message string
	details       []any
}

// parseGrpcurlOutput reads what grpcurl prints: an error as
//
//	ERROR:
//	  Code: Unavailable
//	  Message: ...
//	  Details:
//	  1)	{ ...JSON... }
//
// or an answer's JSON.
func parseGrpcurlOutput(s string) (grpcurlAnswer, error) {
	var a grpcurlAnswer
	if !strings.HasPrefix(strings.TrimSpace(s), "ERROR:") {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return a, fmt.Errorf("not an error and not JSON: %w", err)
		}
		a.details = []any{v}
		return a, nil
	}
	var detail strings.Builder
	flush := func() error {
		if detail.Len() == 0 {
			return nil
		}
		var v any
		if err := json.Unmarshal([]byte(detail.String()), &v); err != nil {
			return fmt.Errorf("detail %d: %w", len(a.details)+1, err)
		}
		a.details = append(a.details, v)
		detail.Reset()
		return nil
	}
	inDetails := false
	numbered := regexp.MustCompile(`^\d+\)\t`)
	for _, line := range strings.Split(s, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case inDetails:
			if loc := numbered.FindStringIndex(trimmed); loc != nil {
				if err := flush(); err != nil {
					return a, err
				}
				trimmed = trimmed[loc[1]:]
			}
			detail.WriteString(strings.TrimPrefix(trimmed, "\t") + "\n")
		case strings.HasPrefix(trimmed, "Code: "):
			a.code = strings.TrimPrefix(trimmed, "Code: ")
		case strings.HasPrefix(trimmed, "Message: "):
			a.message = strings.TrimPrefix(trimmed, "Message: ")
		case trimmed == "Details:":
			inDetails = true
		}
	}
	if err := flush(); err != nil {
		return a, err
	}
	if a.code == "" {
		return a, errors.New("an error without a Code line")
	}
	return a, nil
}
