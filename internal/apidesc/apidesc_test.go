package apidesc_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	"github.com/breakwater/breakwater/internal/apidesc"
)

func TestResolverHasComments(t *testing.T) {
	r, err := apidesc.NewResolver()
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.FindDescriptorByName("adprovider.v1.AdProviderService")
	if err != nil {
		t.Fatal(err)
	}
	sd := d.(protoreflect.ServiceDescriptor)
	m := sd.Methods().ByName("GetAds")
	if c := sd.ParentFile().SourceLocations().ByDescriptor(m).LeadingComments; !strings.Contains(c, "GetAds returns the ads for a context") {
		t.Fatalf("GetAds comment = %q", c)
	}
	// The image and the generated code describe the same API.
	gen := adproviderv1.File_adprovider_v1_adprovider_proto
	if got, want := sd.ParentFile().Messages().Len(), gen.Messages().Len(); got != want {
		t.Fatalf("image has %d messages, generated code %d: run make generate", got, want)
	}
	// Imports and other files come from the global registry.
	for _, name := range []protoreflect.FullName{"buf.validate.FieldRules", "google.protobuf.Timestamp"} {
		if _, err := r.FindDescriptorByName(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := r.FindFileByPath("no/such.proto"); err == nil {
		t.Error("found a file that does not exist")
	}
}
