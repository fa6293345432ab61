#!/usr/bin/env python3
"""Writes the per-election paths of www/api/openapi.json from its plain ones.

Every election's API is the default election's with /e/{slug} after /api (and after
/admin/api): lib/service/request.c takes the slug off the path before routing, so each
route of the programs answers under both. The description lists both forms as explicit
paths, so that every client and tool sees them; the plain paths are written by hand and
this script derives the others: the same operations with the path parameter slug, an
operationId ending in "InElection", the tag "elections", and the 404 not_found a slug
not registered answers. The file stays the only source: nothing reads this script at
run time, and tests/e2e_openapi.py fails when the file is not what it writes.

  python3 tools/dev/openapi_elections.py           rewrites the file
  python3 tools/dev/openapi_elections.py --check   exit 1 (and says so) when it is stale
"""
import copy
import json
import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(TOP, "www", "api", "openapi.json")
BASES = ("/api/", "/admin/api/")
METHODS = ("get", "put", "post", "delete")
# Installation-wide, not an election's: this file, the list of elections, a new one, and
# the admin's sign-in and authenticator (one admin for the whole installation).
NOT_PER_ELECTION = ("/api/openapi.json", "/api/elections", "/admin/api/elections",
                    "/admin/api/session", "/admin/api/mfa/rotate", "/admin/api/mfa/confirm")
SLUG = {"$ref": "#/components/parameters/Slug"}
NOT_FOUND = {"$ref": "#/components/responses/E404"}


def per_election(path):
    """'/api/votes' -> '/api/e/{slug}/votes'; None for a path that is no election's."""
    for base in BASES:
        if path.startswith(base) and path not in NOT_PER_ELECTION:
            return base + "e/{slug}/" + path[len(base):]
    return None


def generated(path):
    return any(path.startswith(base + "e/{slug}/") for base in BASES)


def variant(path, item):
    out = {"parameters": [SLUG]}
    for m in METHODS:
        if m not in item:
            continue
        op = copy.deepcopy(item[m])
        op["operationId"] += "InElection"
        op["tags"] = ["elections"]
        op["summary"] += " (a named election)"
        op["description"] = (f"{m.upper()} {path} of the election the slug names; a slug "
                             "not registered answers 404 not_found. " + op["description"])
        if "404" not in op["responses"]:
            op["responses"]["404"] = NOT_FOUND
        op["responses"] = dict(sorted(op["responses"].items()))
        out[m] = op
    return out


def render(doc):
    """The document with its per-election paths written again (after the plain ones)."""
    doc = copy.deepcopy(doc)
    plain = {p: item for p, item in doc["paths"].items() if not generated(p)}
    paths = dict(plain)
    for p, item in plain.items():
        e = per_election(p)
        if e is not None:
            paths[e] = variant(p, item)
    doc["paths"] = paths
    return json.dumps(doc, indent=1) + "\n"


def main():
    with open(DOC) as f:
        text = f.read()
    want = render(json.loads(text))
    if sys.argv[1:] == ["--check"]:
        if want != text:
            print(f"{DOC} is not up to date: run python3 tools/dev/openapi_elections.py")
            return 1
        return 0
    if sys.argv[1:]:
        print("usage: python3 tools/dev/openapi_elections.py [--check]", file=sys.stderr)
        return 2
    if want != text:
        with open(DOC, "w") as f:
            f.write(want)
    return 0


if __name__ == "__main__":
    sys.exit(main())
