package adprovider_test

import (
	"strings"

	"google.golang.org/protobuf/proto"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
)

func protoEqual(a, b proto.Message) bool { return proto.Equal(a, b) }

func cloneLowerKeywords(l *adproviderv1.AdListing) *adproviderv1.AdListing {
	l = proto.CloneOf(l)
	for i, k := range l.Keywords {
		l.Keywords[i] = strings.ToLower(k)
	}
	return l
}
