package adprovider_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	"github.com/breakwater/breakwater/internal/validate"
)

// startServer serves srv on a real listener with the validation interceptor
// the service runs with, and returns a client.
func startServer(tb testing.TB, srv adproviderv1.AdProviderServiceServer) adproviderv1.AdProviderServiceClient {
	tb.Helper()
	v, err := validate.NewValidator(adproviderv1.File_adprovider_v1_adprovider_proto.Services().Get(0))
	if err != nil {
		tb.Fatal(err)
	}
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(validate.UnaryServerInterceptor(v)))
	adproviderv1.RegisterAdProviderServiceServer(gs, srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	tb.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return adproviderv1.NewAdProviderServiceClient(conn)
}

func withToken(ctx context.Context, tok string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// fieldViolations returns "field reason" for each violation in err's
// BadRequest detail.
func fieldViolations(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField()+" "+v.GetReason())
			}
		}
	}
	return out
}
