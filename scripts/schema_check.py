#!/usr/bin/env python3
"""Validate rollguard's JSON reports against docs/schemas/<kind>.json.

Usage: schema_check.py SCHEMA_DIR FILE...

Each FILE holds one JSON document, or several one after the other (the
CanaryEvent lines and final CanaryStatus of `kubectl canary run -o json`).
Every document with `apiVersion: rollguard.io/v1` is validated against the
schema of its `kind`; other documents and files that are not JSON are
ignored. Prints one line per kind (`KIND N`) and every violation; exits 1
when a document is invalid or has a kind without a schema.

The validator covers the subset of JSON Schema (draft 2020-12) the schemas
use: type (string or list), required, properties, additionalProperties
(false or a schema), items, enum, const, minimum, pattern, $ref to
#/$defs/NAME, and $defs. A keyword outside it makes the schema itself an
error, so a schema cannot silently check less than it says. Only the
standard library.
"""
import json
import os
import re
import sys

KNOWN = {"$schema", "$id", "$defs", "$ref", "$comment", "title", "description", "type", "required",
         "properties", "additionalProperties", "items", "enum", "const", "minimum", "pattern", "examples"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class SchemaError(Exception):
    pass


def validate(value, schema, root, path, errors):
    if schema is True:
        return
    if schema is False:
        errors.append(f"{path}: not allowed")
        return
    unknown = set(schema) - KNOWN
    if unknown:
        raise SchemaError(f"unsupported keywords {sorted(unknown)} at {path}")
    if "$ref" in schema:
        m = re.fullmatch(r"#/\$defs/(.+)", schema["$ref"])
        if not m or m.group(1) not in root.get("$defs", {}):
            raise SchemaError(f"unresolvable $ref {schema['$ref']}")
        validate(value, root["$defs"][m.group(1)], root, path, errors)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](value) for t in types):
            errors.append(f"{path}: {json.dumps(value)[:60]} is not of type {'/'.join(types)}")
            return
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: {json.dumps(value)[:60]} is not {json.dumps(schema['const'])}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {json.dumps(value)[:60]} is not one of {schema['enum']}")
    if "minimum" in schema and TYPES["number"](value) and value < schema["minimum"]:
        errors.append(f"{path}: {value} is below {schema['minimum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}: required field {key!r} is missing")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                validate(item, props[key], root, f"{path}.{key}", errors)
            elif extra is False:
                errors.append(f"{path}: field {key!r} is not in the schema")
            elif isinstance(extra, dict):
                validate(item, extra, root, f"{path}.{key}", errors)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], root, f"{path}[{i}]", errors)


def documents(text):
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except ValueError:
            return
        yield doc


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    schema_dir = argv[1]
    counts = {}
    bad = 0
    for path in argv[2:]:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError):
            continue
        for n, doc in enumerate(documents(text)):
            if not isinstance(doc, dict) or doc.get("apiVersion") != "rollguard.io/v1":
                continue
            kind = str(doc.get("kind"))
            schema_path = os.path.join(schema_dir, kind + ".json")
            if not os.path.exists(schema_path):
                print(f"{path}: document {n}: no schema for kind {kind!r}")
                bad += 1
                continue
            with open(schema_path, encoding="utf-8") as f:
                schema = json.load(f)
            errors = []
            try:
                validate(doc, schema, schema, kind, errors)
            except SchemaError as e:
                print(f"{schema_path}: {e}")
                return 1
            counts[kind] = counts.get(kind, 0) + 1
            for e in errors:
                print(f"{path}: document {n}: {e}")
            bad += bool(errors)
    for kind in sorted(counts):
        print(f"{kind} {counts[kind]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
