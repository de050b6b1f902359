package storeerr_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/internal/storeerr"
)

var (
	errNotFound = storeerr.New(storeerr.NotFound, "product not found")
	errExists   = storeerr.New(storeerr.AlreadyExists, "already exists")
	errToken    = storeerr.Invalid(nil, "page_token", "not a token of ours", "INVALID_PAGE_TOKEN")
)

// TestStatus: each kind of store error gets its code, detail and log level.
func TestStatus(t *testing.T) {
	open := &breaker.OpenError{Breaker: "x/postgres", RetryAfter: time.Second}
	for _, tt := range []struct {
		name   string
		err    error
		code   codes.Code
		msg    string
		detail string // a detail type that must be present
		level  string // the level logged, or "" for none
	}{
		{"not found", fmt.Errorf("get: %w", errNotFound), codes.NotFound, "product not found", "", ""},
		{"already exists, precise", storeerr.Wrap(errExists, "request_id was used"), codes.AlreadyExists, "request_id was used", "", ""},
		{"page token", errToken, codes.InvalidArgument, "invalid page_token", "BadRequest", ""},
		{"data exception", storeerr.Translate(&pgconn.PgError{Code: "22021", Message: "invalid byte sequence"}, "list"),
			codes.InvalidArgument, "cannot be stored", "", "WARN"},
		{"connection lost", storeerr.Translate(&pgconn.PgError{Code: "57P01"}, "list"), codes.Unavailable, "database unavailable", "", "WARN"},
		{"breaker open", storeerr.Translate(fmt.Errorf("query: %w", open), "list"), codes.Unavailable, "", "ErrorInfo", ""},
		{"shed call", storeerr.Translate(fmt.Errorf("query: %w", status.Error(codes.ResourceExhausted, "database busy")), "list"),
			codes.ResourceExhausted, "database busy", "", ""},
		{"anything else", storeerr.Translate(errors.New("scan: boom"), "list"), codes.Internal, "internal error", "", "ERROR"},
	} {
		var logged strings.Builder
		log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
		st := status.Convert(storeerr.Status(context.Background(), log, tt.err))
		if st.Code() != tt.code || !strings.Contains(st.Message(), tt.msg) {
			t.Errorf("%s: %v %q, want %v containing %q", tt.name, st.Code(), st.Message(), tt.code, tt.msg)
		}
		if strings.Contains(st.Message(), "boom") || strings.Contains(st.Message(), "invalid byte sequence") {
			t.Errorf("%s: the cause reached the caller: %q", tt.name, st.Message())
		}
		if tt.detail != "" {
			found := false
			for _, d := range st.Details() {
				switch d.(type) {
				case *errdetails.BadRequest:
					found = found || tt.detail == "BadRequest"
				case *errdetails.ErrorInfo:
					found = found || tt.detail == "ErrorInfo"
				}
			}
			if !found {
				t.Errorf("%s: no %s detail in %v", tt.name, tt.detail, st.Details())
			}
		}
		switch {
		case tt.level == "" && logged.Len() > 0:
			t.Errorf("%s: logged %s", tt.name, logged.String())
		case tt.level != "" && !strings.Contains(logged.String(), "level="+tt.level):
			t.Errorf("%s: logged %q, want level %s", tt.name, logged.String(), tt.level)
		}
	}
	// The caller's own deadline wins over whatever the database did.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := status.Code(storeerr.Status(ctx, slog.New(slog.DiscardHandler), errors.New("x"))); got != codes.Canceled {
		t.Errorf("cancelled caller: %v", got)
	}
	if !errors.Is(storeerr.Wrap(errExists, "x"), errExists) || storeerr.KindOf(fmt.Errorf("w: %w", errToken)) != storeerr.InvalidArgument {
		t.Error("Wrap or KindOf lost the sentinel")
	}
}

func ExampleStatus() {
	errNotFound := storeerr.New(storeerr.NotFound, "product not found")
	// A store returns its own error; the handler maps it in one call.
	err := storeerr.Status(context.Background(), slog.New(slog.DiscardHandler), fmt.Errorf("get product: %w", errNotFound))
	fmt.Println(status.Code(err), status.Convert(err).Message())
	// Output: NotFound product not found
}
