#!/usr/bin/env python3
"""Vendor the botocore service models used by confab-wire.

Usage: tools/extract-models.py [AWS_MODELS_DIR]

AWS_MODELS_DIR defaults to ../shared/aws-models relative to the repository root
(the parent of this script's directory). Writes:

  crates/wire/models/connectparticipant.json  the whole participant model
  crates/wire/models/connect-chat.json        the chat subset of the connect model:
                                              the operations in CONNECT_OPERATIONS and the
                                              transitive closure of their input, output and
                                              error shapes

`documentation` strings are dropped everywhere (top level, operations, shapes,
members); `metadata` and every other key are kept verbatim. Output is minified
JSON with keys in model order, ending in a newline. The script is deterministic:
running it twice yields byte-identical files.
"""

import json
import os
import sys

CONNECT_OPERATIONS = [
    "StartChatContact",
    "CreateParticipant",
    "StopContact",
    "DescribeContact",
    "StartContactStreaming",
    "StopContactStreaming",
    "CreatePersistentContactAssociation",
    "UpdateParticipantRoleConfig",
    "SendChatIntegrationEvent",
    "TransferContact",
    "StartOutboundChatContact",
    # views and customer authentication (the Show view and Authenticate Customer blocks)
    "CreateView",
    "CreateViewVersion",
    "UpdateParticipantAuthentication",
]

DOC_KEYS = ("documentation",)


def strip_docs_shape(shape):
    out = {k: v for k, v in shape.items() if k not in DOC_KEYS}
    if "members" in out:
        out["members"] = {
            name: {k: v for k, v in member.items() if k not in DOC_KEYS}
            for name, member in out["members"].items()
        }
    for ref in ("member", "key", "value"):
        if isinstance(out.get(ref), dict):
            out[ref] = {k: v for k, v in out[ref].items() if k not in DOC_KEYS}
    return out


def strip_docs_operation(op):
    out = {k: v for k, v in op.items() if k not in DOC_KEYS}
    for ref in ("input", "output"):
        if isinstance(out.get(ref), dict):
            out[ref] = {k: v for k, v in out[ref].items() if k not in DOC_KEYS}
    if "errors" in out:
        out["errors"] = [
            {k: v for k, v in e.items() if k not in DOC_KEYS} for e in out["errors"]
        ]
    return out


def shape_refs(shape):
    """Names of the shapes a shape refers to directly."""
    refs = []
    for member in shape.get("members", {}).values():
        refs.append(member["shape"])
    for ref in ("member", "key", "value"):
        if isinstance(shape.get(ref), dict):
            refs.append(shape[ref]["shape"])
    return refs


def strip_model(model, operations=None):
    ops = model["operations"]
    if operations is None:
        operations = list(ops.keys())
    missing = [o for o in operations if o not in ops]
    if missing:
        sys.exit(f"operations not in model: {missing}")

    # transitive closure of input/output/error shapes
    wanted = set()
    stack = []
    for name in operations:
        op = ops[name]
        for ref in ("input", "output"):
            if ref in op:
                stack.append(op[ref]["shape"])
        for err in op.get("errors", []):
            stack.append(err["shape"])
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        wanted.add(name)
        stack.extend(shape_refs(model["shapes"][name]))

    out = {}
    for key, value in model.items():
        if key in DOC_KEYS:
            continue
        if key == "operations":
            # keep the model's own order
            out[key] = {n: strip_docs_operation(o) for n, o in ops.items() if n in operations}
        elif key == "shapes":
            out[key] = {
                n: strip_docs_shape(s) for n, s in model["shapes"].items() if n in wanted
            }
        else:
            out[key] = value
    return out


def write(path, model):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = json.dumps(model, separators=(",", ":"), ensure_ascii=False)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.write("\n")
    print(f"wrote {path}: {len(model['operations'])} operations, "
          f"{len(model['shapes'])} shapes, {len(text) + 1} bytes")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "aws-models")
    with open(os.path.join(src, "connectparticipant.json"), encoding="utf-8") as f:
        participant = json.load(f)
    with open(os.path.join(src, "connect.json"), encoding="utf-8") as f:
        connect = json.load(f)
    models = os.path.join(root, "crates", "wire", "models")
    write(os.path.join(models, "connectparticipant.json"), strip_model(participant))
    write(os.path.join(models, "connect-chat.json"), strip_model(connect, CONNECT_OPERATIONS))


if __name__ == "__main__":
    main()
