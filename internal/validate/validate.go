package validate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// NewValidator returns a validator with the rules of every request and
// response message of the given services compiled up front.
func NewValidator(services ...protoreflect.ServiceDescriptor) (protovalidate.Validator, error) {
	v, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}
	if err := Precompile(v, services...); err != nil {
		return nil, err
	}
	return v, nil
}

// Precompile makes v compile the rules of every request and response message
// of the given services now, returning the first rule that does not compile.
// protovalidate compiles lazily and caches, so afterwards no request pays for
// compilation and none can fail on a broken rule.
func Precompile(v protovalidate.Validator, services ...protoreflect.ServiceDescriptor) error {
	for _, sd := range services {
		methods := sd.Methods()
		for i := range methods.Len() {
			for _, d := range []protoreflect.MessageDescriptor{methods.Get(i).Input(), methods.Get(i).Output()} {
				// An empty message exercises every rule's compilation; a
				// ValidationError only means the empty message breaks one.
				err := v.Validate(dynamicpb.NewMessage(d))
				var verr *protovalidate.ValidationError
				if err != nil && !errors.As(err, &verr) {
					return fmt.Errorf("compile validation rules of %s: %w", d.FullName(), err)
				}
			}
		}
	}
	return nil
}

// UnaryServerInterceptor rejects requests that break their message's rules.
func UnaryServerInterceptor(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if msg, ok := req.(proto.Message); ok {
			if err := check(v, msg); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor rejects stream messages that break their rules.
func StreamServerInterceptor(v protovalidate.Validator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &validatingStream{ServerStream: ss, v: v})
	}
}

type validatingStream struct {
	grpc.ServerStream
	v protovalidate.Validator
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if msg, ok := m.(proto.Message); ok {
		return check(s.v, msg)
	}
	return nil
}

// check applies msg's rules, then the one protovalidate cannot express: a
// google.protobuf.Timestamp's nanos must be 0 to 999,999,999 (its own
// documented invariant; protovalidate's timestamp rules see only the instant,
// so {seconds: 1, nanos: -1} would pass them).
func check(v protovalidate.Validator, msg proto.Message) error {
	if err := v.Validate(msg); err != nil {
		return Status(err).Err()
	}
	var fv []*errdetails.BadRequest_FieldViolation
	invalidTimestamps(msg.ProtoReflect(), "", &fv)
	if len(fv) == 0 {
		return nil
	}
	msgs := make([]string, len(fv))
	for i, f := range fv {
		msgs[i] = f.GetField() + ": " + f.GetDescription()
	}
	st := status.New(codes.InvalidArgument, "invalid request: "+strings.Join(msgs, "; "))
	if withDetails, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: fv}); err == nil {
		st = withDetails
	}
	return st.Err()
}

const timestampName = "google.protobuf.Timestamp"

// invalidTimestamps appends a violation for every Timestamp set in m, at any
// depth, that timestamppb's CheckValid rejects, with protovalidate's field
// path spelling (a.b[2].c).
func invalidTimestamps(m protoreflect.Message, prefix string, out *[]*errdetails.BadRequest_FieldViolation) {
	if m.Descriptor().FullName() == timestampName {
		secs := m.Get(m.Descriptor().Fields().ByName("seconds")).Int()
		nanos := m.Get(m.Descriptor().Fields().ByName("nanos")).Int()
		if err := (&timestamppb.Timestamp{Seconds: secs, Nanos: int32(nanos)}).CheckValid(); err != nil {
			*out = append(*out, &errdetails.BadRequest_FieldViolation{
				Field:       prefix,
				Description: "not a valid timestamp: nanos must be 0 to 999,999,999, from 0001-01-01 to 9999-12-31",
				Reason:      "timestamp.valid",
			})
		}
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return true
		}
		path := string(fd.Name())
		if prefix != "" {
			path = prefix + "." + path
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				invalidTimestamps(l.Get(i).Message(), fmt.Sprintf("%s[%d]", path, i), out)
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapValue().Message() != nil {
					invalidTimestamps(mv.Message(), fmt.Sprintf("%s[%q]", path, k.String()), out)
				}
				return true
			})
		default:
			invalidTimestamps(v.Message(), path, out)
		}
		return true
	})
}

// Status turns a validation error into the status a client gets:
// INVALID_ARGUMENT with a BadRequest detail naming each field, or INTERNAL
// when the rules themselves could not be evaluated.
func Status(err error) *status.Status {
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) {
		return status.New(codes.Internal, "request validation failed")
	}
	br := &errdetails.BadRequest{FieldViolations: make([]*errdetails.BadRequest_FieldViolation, 0, len(verr.Violations))}
	msgs := make([]string, 0, len(verr.Violations))
	for _, v := range verr.Violations {
		field := protovalidate.FieldPathString(v.Proto.GetField())
		desc := v.Proto.GetMessage()
		if desc == "" {
			desc = v.Proto.GetRuleId()
		}
		desc += expectedEnum(v)
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field:       field,
			Description: desc,
			Reason:      v.Proto.GetRuleId(),
		})
		if field != "" {
			desc = field + ": " + desc
		}
		msgs = append(msgs, desc)
	}
	st := status.New(codes.InvalidArgument, "invalid request: "+strings.Join(msgs, "; "))
	if withDetails, derr := st.WithDetails(br); derr == nil {
		return withDetails
	}
	return st
}

// expectedEnum completes the description of a violated enum rule with the
// values the field accepts, as clients spell them ("must not be in list [0]"
// alone does not tell a grpcurl user that the field is required, nor what
// to send). It returns "" for every other violation.
func expectedEnum(v *protovalidate.Violation) string {
	fd := v.FieldDescriptor
	if fd == nil || fd.Kind() != protoreflect.EnumKind || fd.IsList() || fd.IsMap() {
		return ""
	}
	var in, notIn map[protoreflect.EnumNumber]bool
	set := func() map[protoreflect.EnumNumber]bool {
		m := map[protoreflect.EnumNumber]bool{}
		if v.RuleValue.IsValid() {
			if l, ok := v.RuleValue.Interface().(protoreflect.List); ok {
				for i := range l.Len() {
					m[protoreflect.EnumNumber(l.Get(i).Int())] = true
				}
			}
		}
		return m
	}
	switch v.Proto.GetRuleId() {
	case "enum.in":
		in = set()
	case "enum.not_in":
		notIn = set()
	case "enum.defined_only", "enum.const":
	default:
		return ""
	}
	var names []string
	values := fd.Enum().Values()
	for i := range values.Len() {
		ev := values.Get(i)
		if ev.Number() == 0 || (in != nil && !in[ev.Number()]) || notIn[ev.Number()] {
			continue // 0 is the unset value: never what a rule asks for
		}
		names = append(names, string(ev.Name()))
	}
	if len(names) == 0 {
		return ""
	}
	prefix := "; want one of "
	if !v.FieldValue.IsValid() || v.FieldValue.Enum() == 0 {
		prefix = " (the field is required): want one of "
	}
	return prefix + strings.Join(names, ", ")
}
