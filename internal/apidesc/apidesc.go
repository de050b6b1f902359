// Package apidesc holds breakwater's API descriptors with their comments, so
// that server reflection can show them: `grpcurl describe` prints the
// documentation written in proto/.
//
// Go's generated code embeds descriptors without source information, so a
// reflection server built on it alone answers without a single comment.
// `make generate` therefore also writes api.binpb here: a buf image of
// proto/ (our files only, with source information). [Resolver] serves
// those files, and everything else (imports such as validate.proto and the
// well-known types, grpc.health.v1) from the global registry.
// `make check-generate` keeps api.binpb in step with proto/.
package apidesc

import (
	_ "embed"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

//go:embed api.binpb
var image []byte

// Resolver finds files and descriptors: breakwater's own with comments,
// anything else from protoregistry.GlobalFiles.
type Resolver struct {
	own *protoregistry.Files
}

var (
	once   sync.Once
	shared *Resolver
	errOn  error
)

// NewResolver returns the resolver over the embedded image. It is built once
// per process.
func NewResolver() (*Resolver, error) {
	once.Do(func() { shared, errOn = build(image) })
	return shared, errOn
}

func build(b []byte) (*Resolver, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("decode api image: %w", err)
	}
	r := &Resolver{own: new(protoregistry.Files)}
	// buf writes files dependencies first, so each file's imports resolve
	// from what came before it or from the global registry.
	for _, fdp := range set.GetFile() {
		fd, err := protodesc.NewFile(fdp, r)
		if err != nil {
			return nil, fmt.Errorf("api image file %s: %w", fdp.GetName(), err)
		}
		if err := r.own.RegisterFile(fd); err != nil {
			return nil, fmt.Errorf("api image file %s: %w", fdp.GetName(), err)
		}
	}
	return r, nil
}

// FindFileByPath implements protodesc.Resolver.
func (r *Resolver) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if fd, err := r.own.FindFileByPath(path); err == nil {
		return fd, nil
	} else if !errors.Is(err, protoregistry.NotFound) {
		return nil, err
	}
	return protoregistry.GlobalFiles.FindFileByPath(path)
}

// FindDescriptorByName implements protodesc.Resolver.
func (r *Resolver) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := r.own.FindDescriptorByName(name); err == nil {
		return d, nil
	} else if !errors.Is(err, protoregistry.NotFound) {
		return nil, err
	}
	return protoregistry.GlobalFiles.FindDescriptorByName(name)
}
