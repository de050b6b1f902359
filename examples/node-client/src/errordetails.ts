// The three google.rpc error details breakwater's services send, as message
// schemas that ConnectError.findDetails() can decode:
//
//   ErrorInfo   reason "CIRCUIT_OPEN", domain "breakwater", metadata {breaker}
//   RetryInfo   how long to wait before retrying
//   BadRequest  one field violation per broken request rule
//
// Why not generated: breakwater builds without googleapis (the BSR is not
// reachable from its build machines), so gen/ts has no google/rpc code. Rather
// than vendor a copy of error_details.proto and run a second code generator,
// this file describes the three messages once, as a FileDescriptorProto
// literal, and lets @bufbuild/protobuf build the schemas from it at start-up
// (its codegen-free, reflection API). The field numbers and types are those
// of google/rpc/error_details.proto; fields this client does not read (such as
// FieldViolation.localized_message) are left out and kept as unknown fields.
//
// A project that has googleapis can generate these instead: add
// buf.build/googleapis/googleapis to buf.yaml's deps and import
// "google/rpc/error_details_pb" from the generated code.

import { create, createFileRegistry, type Message } from "@bufbuild/protobuf";
import { messageDesc, type GenMessage } from "@bufbuild/protobuf/codegenv2";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_duration,
  type Duration,
} from "@bufbuild/protobuf/wkt";

const optional = Label.OPTIONAL;
const repeated = Label.REPEATED;

const errorDetailsFile = create(FileDescriptorProtoSchema, {
  name: "google/rpc/error_details.proto",
  package: "google.rpc",
  dependency: ["google/protobuf/duration.proto"],
  syntax: "proto3",
  messageType: [
    {
      name: "ErrorInfo",
      field: [
        { name: "reason", number: 1, label: optional, type: Type.STRING, jsonName: "reason" },
        { name: "domain", number: 2, label: optional, type: Type.STRING, jsonName: "domain" },
        {
          name: "metadata",
          number: 3,
          label: repeated,
          type: Type.MESSAGE,
          typeName: ".google.rpc.ErrorInfo.MetadataEntry",
          jsonName: "metadata",
        },
      ],
      nestedType: [
        {
          name: "MetadataEntry",
          field: [
            { name: "key", number: 1, label: optional, type: Type.STRING, jsonName: "key" },
            { name: "value", number: 2, label: optional, type: Type.STRING, jsonName: "value" },
          ],
          options: { mapEntry: true },
        },
      ],
    },
    {
      name: "RetryInfo",
      field: [
        {
          name: "retry_delay",
          number: 1,
          label: optional,
          type: Type.MESSAGE,
          typeName: ".google.protobuf.Duration",
          jsonName: "retryDelay",
        },
      ],
    },
    {
      name: "BadRequest",
      field: [
        {
          name: "field_violations",
          number: 1,
          label: repeated,
          type: Type.MESSAGE,
          typeName: ".google.rpc.BadRequest.FieldViolation",
          jsonName: "fieldViolations",
        },
      ],
      nestedType: [
        {
          name: "FieldViolation",
          field: [
            { name: "field", number: 1, label: optional, type: Type.STRING, jsonName: "field" },
            { name: "description", number: 2, label: optional, type: Type.STRING, jsonName: "description" },
            { name: "reason", number: 3, label: optional, type: Type.STRING, jsonName: "reason" },
          ],
        },
      ],
    },
  ],
});

const registry = createFileRegistry(errorDetailsFile, (name) =>
  name === "google/protobuf/duration.proto" ? file_google_protobuf_duration : undefined,
);
const file = registry.getFile(errorDetailsFile.name)!;

/** Why a call failed, as a stable reason within a domain. */
export type ErrorInfo = Message<"google.rpc.ErrorInfo"> & {
  reason: string;
  domain: string;
  metadata: { [key: string]: string };
};

/** When a client may retry. */
export type RetryInfo = Message<"google.rpc.RetryInfo"> & {
  retryDelay?: Duration;
};

/** One broken rule of a request. */
export type BadRequest_FieldViolation = Message<"google.rpc.BadRequest.FieldViolation"> & {
  field: string;
  description: string;
  reason: string;
};

/** The broken rules of a request, one violation per field and rule. */
export type BadRequest = Message<"google.rpc.BadRequest"> & {
  fieldViolations: BadRequest_FieldViolation[];
};

export const ErrorInfoSchema: GenMessage<ErrorInfo> = messageDesc(file, 0);
export const RetryInfoSchema: GenMessage<RetryInfo> = messageDesc(file, 1);
export const BadRequestSchema: GenMessage<BadRequest> = messageDesc(file, 2);
