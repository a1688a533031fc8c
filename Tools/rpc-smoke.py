#!/usr/bin/env python3
"""End-to-end smoke test of the catalog's JSON-RPC API, driven as a client would.

Usage: python3 Tools/rpc-smoke.py --url http://127.0.0.1:PORT
           [--plugin simple --username root --password secret] [--anon-plugin anon]

Standard library only. Each check prints `ok   <name>` or `FAIL <name>: <what differed>`; the last line is
`N passed, M failed`, and the exit status is 1 if any check failed. Every object created carries a random
suffix, so the script can run repeatedly against the same server and database.
"""

import argparse
import json
import re
import secrets
import sys
import traceback
import urllib.error
import urllib.request

# Error codes from the contract (API.md, "Errors").
BAD_PARAMETER = (-32001, "BAD_PARAMETER")
INSUFFICIENT_PRIVILEGES = (-32002, "INSUFFICIENT_PRIVILEGES")
NO_SUCH_OBJECT_FOUND = (-32003, "NO_SUCH_OBJECT_FOUND")
OBJECT_ALREADY_EXISTS = (-32004, "OBJECT_ALREADY_EXISTS")
SESSION = (-32005, "SESSION")
VALIDATION = (-32006, "VALIDATION")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602

METHODS_NOW = [
    "login", "logout", "refresh", "getRemainingMinutes", "getUserName", "getApiVersion", "getEntityNames",
    "getEntityInfo", "getProperties", "create", "createMany", "get", "update", "delete", "deleteMany",
    "cloneEntity", "rpc.discover",
]

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")


class CheckFailed(Exception):
    pass


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def short(v, limit=400):
    s = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return s if len(s) <= limit else s[:limit] + "..."


def expect(cond, what):
    if not cond:
        raise CheckFailed(what)


class Client:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.next_id = 1

    def http(self, method, path, body=None, content_type="application/json"):
        """Returns (status, headers, body bytes) for any HTTP status."""
        headers = {}
        if body is not None:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def post_raw(self, body_bytes):
        """POST /rpc with an arbitrary body; returns (status, parsed JSON or None, raw bytes)."""
        status, headers, raw = self.http("POST", "/rpc", body_bytes)
        parsed = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        return status, parsed, raw

    def call(self, method, params=None, req_id=None):
        """One JSON-RPC request; returns the response object (with result or error)."""
        if req_id is None:
            req_id = self.next_id
            self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": req_id, "method": method}
        if params is not None:
            msg["params"] = params
        status, parsed, raw = self.post_raw(json.dumps(msg).encode())
        expect(status == 200, f"{method}: HTTP {status}, body {short(raw.decode(errors='replace'))}")
        expect(isinstance(parsed, dict), f"{method}: reply is not a JSON object: {short(raw.decode(errors='replace'))}")
        expect(parsed.get("jsonrpc") == "2.0", f"{method}: reply jsonrpc is {parsed.get('jsonrpc')!r}")
        expect(parsed.get("id") == req_id, f"{method}: reply id {parsed.get('id')!r} != request id {req_id!r}")
        expect(("result" in parsed) != ("error" in parsed), f"{method}: reply must have exactly one of result/error: {short(parsed)}")
        return parsed

    def result(self, method, params=None):
        """Calls and returns the result; a JSON-RPC error fails the check."""
        resp = self.call(method, params)
        if "error" in resp:
            raise CheckFailed(f"{method} returned error {short(resp['error'])}")
        return resp["result"]

    def error(self, method, params, expected, offset=-1):
        """Calls, expects a catalog error (code, type) with data.offset; returns the error object."""
        code, etype = expected
        resp = self.call(method, params)
        expect("error" in resp, f"{method}: expected {etype} ({code}), got result {short(resp.get('result'))}")
        err = resp["error"]
        check_catalog_error(err, code, etype, offset)
        return err


def check_catalog_error(err, code, etype, offset):
    data = err.get("data")
    got = f"code={err.get('code')!r} data={short(data) if data is not None else None} message={err.get('message')!r}"
    expect(err.get("code") == code, f"expected code {code} ({etype}), got {got}")
    expect(isinstance(data, dict), f"error.data missing or not an object: {got}")
    expect(data.get("type") == etype, f"expected data.type {etype}, got {got}")
    expect(is_int(data.get("offset")), f"data.offset is not an integer: {got}")
    if offset is not None:
        expect(data.get("offset") == offset, f"expected data.offset {offset}, got {got}")
    expect(isinstance(err.get("message"), str) and err["message"].strip(), f"error.message empty: {got}")


def check_protocol_error(resp, code):
    expect(isinstance(resp, dict), f"reply is not an object: {short(resp)}")
    expect(resp.get("jsonrpc") == "2.0", f"reply jsonrpc is {resp.get('jsonrpc')!r}")
    err = resp.get("error")
    expect(isinstance(err, dict), f"expected error {code}, got {short(resp)}")
    expect(err.get("code") == code, f"expected code {code}, got {short(err)}")
    expect(isinstance(err.get("message"), str) and err["message"], f"error.message empty: {short(err)}")
    expect("result" not in resp, f"reply has both error and result: {short(resp)}")


def unwrap(wrapped, entity):
    expect(isinstance(wrapped, dict) and list(wrapped.keys()) == [entity],
           f"expected an entity wrapped as {{\"{entity}\": ...}}, got {short(wrapped)}")
    obj = wrapped[entity]
    expect(isinstance(obj, dict), f"{entity} body is not an object: {short(obj)}")
    return obj


def check_common_fields(obj, what, user):
    expect(is_int(obj.get("id")), f"{what}: id {obj.get('id')!r} is not an integer")
    for f in ("createTime", "modTime"):
        expect(isinstance(obj.get(f), str) and TIMESTAMP.match(obj[f]),
               f"{what}: {f} {obj.get(f)!r} is not an ISO 8601 UTC timestamp like 2010-10-12T15:00:00.000Z")
    for f in ("createId", "modId"):
        expect(obj.get(f) == user, f"{what}: {f} is {obj.get(f)!r}, expected {user!r}")


class Runner:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, fn, *args):
        try:
            fn(*args)
        except CheckFailed as e:
            self.failed += 1
            print(f"FAIL {name}: {e}", flush=True)
            return False
        except Exception as e:  # a crash in a check is a failure of that check, not of the run
            self.failed += 1
            tb = traceback.format_exception_only(type(e), e)[-1].strip()
            print(f"FAIL {name}: {tb}", flush=True)
            return False
        self.passed += 1
        print(f"ok   {name}", flush=True)
        return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--plugin", default="simple")
    ap.add_argument("--username", default="root")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--anon-plugin", default="anon")
    args = ap.parse_args()

    c = Client(args.url)
    r = Runner()
    sfx = secrets.token_hex(4)
    root_user = f"{args.plugin}/{args.username}"
    st = {}  # state shared between checks

    def need(*keys):
        missing = [k for k in keys if k not in st]
        if missing:
            raise CheckFailed(f"prerequisite failed earlier (missing {', '.join(missing)})")
        return [st[k] for k in keys]

    # ---- plain HTTP -------------------------------------------------------------------------------------
    def health():
        status, _, body = c.http("GET", "/health")
        expect(status == 200, f"GET /health: HTTP {status}, body {short(body.decode(errors='replace'))}")

    def metrics():
        status, headers, body = c.http("GET", "/metrics")
        expect(status == 200, f"GET /metrics: HTTP {status}")
        ctype = headers.get("Content-Type", "")
        expect(ctype.startswith("text/plain"), f"GET /metrics: Content-Type {ctype!r}, expected text/plain")
        text = body.decode(errors="replace")
        expect("# TYPE" in text, f"GET /metrics: no '# TYPE' line in {short(text, 200)}")

    r.check("GET /health is 200", health)
    r.check("GET /metrics is 200 Prometheus text", metrics)

    # ---- sessions and information -----------------------------------------------------------------------
    def api_version():
        v = c.result("getApiVersion")
        expect(isinstance(v, str) and v, f"getApiVersion: {v!r} is not a non-empty string")

    def login_root():
        res = c.result("login", {"plugin": args.plugin,
                                 "credentials": {"username": args.username, "password": args.password}})
        expect(isinstance(res, dict) and isinstance(res.get("sessionId"), str) and res["sessionId"],
               f"login: expected {{sessionId: string}}, got {short(res)}")
        st["sid"] = res["sessionId"]

    def login_wrong_password():
        c.error("login", {"plugin": args.plugin,
                          "credentials": {"username": args.username, "password": args.password + "-wrong"}},
                SESSION)

    def login_anon():
        res = c.result("login", {"plugin": args.anon_plugin,
                                 "credentials": {"username": "someone", "password": "anything"}})
        expect(isinstance(res, dict) and isinstance(res.get("sessionId"), str) and res["sessionId"],
               f"login anon: expected {{sessionId: string}}, got {short(res)}")
        st["anon"] = res["sessionId"]

    def user_names():
        sid, anon = need("sid", "anon")
        u = c.result("getUserName", {"sessionId": sid})
        expect(u == root_user, f"getUserName(root session) = {u!r}, expected {root_user!r}")
        u = c.result("getUserName", {"sessionId": anon})
        expect(u == "anon/anon", f"getUserName(anon session) = {u!r}, expected 'anon/anon'")

    def remaining_minutes():
        (sid,) = need("sid")
        m = c.result("getRemainingMinutes", {"sessionId": sid})
        expect(is_number(m) and m > 0, f"getRemainingMinutes = {m!r}, expected a positive number")

    def bad_session():
        c.error("getUserName", {"sessionId": "no-such-session-" + sfx}, SESSION)

    def properties():
        p = c.result("getProperties")
        expect(isinstance(p, dict), f"getProperties: {short(p)} is not an object")
        expect(is_int(p.get("maxEntities")), f"maxEntities {p.get('maxEntities')!r} is not an integer")
        expect(is_number(p.get("lifetimeMinutes")), f"lifetimeMinutes {p.get('lifetimeMinutes')!r} is not a number")
        auths = p.get("authenticators")
        expect(isinstance(auths, list), f"authenticators {short(auths)} is not a list")
        names = {a.get("mnemonic") for a in auths if isinstance(a, dict)}
        expect({args.plugin, args.anon_plugin} <= names, f"authenticators {sorted(map(str, names))} lack "
               f"{args.plugin!r}/{args.anon_plugin!r}")
        for a in auths:
            expect(isinstance(a.get("keys"), list), f"authenticator {short(a)}: keys is not a list")

    r.check("getApiVersion is a string", api_version)
    r.check("login root returns a sessionId", login_root)
    r.check("login with a wrong password is SESSION -32005", login_wrong_password)
    r.check("login anon returns a sessionId", login_anon)
    r.check("getUserName is mnemonic/username", user_names)
    r.check("getRemainingMinutes is a positive number", remaining_minutes)
    r.check("unknown sessionId is SESSION -32005", bad_session)
    r.check("getProperties has maxEntities, lifetimeMinutes, authenticators", properties)

    # ---- cascaded create ------------------------------------------------------------------------------
    fac_name = f"smoke-fac-{sfx}"

    def create_facility():
        (sid,) = need("sid")
        fid = c.result("create", {"sessionId": sid, "entity": {"Facility": {
            "name": fac_name,
            "investigationTypes": [{"name": "exp"}],
            "datasetTypes": [{"name": "raw"}],
            "parameterTypes": [{"name": "temp", "units": "K", "valueType": "NUMERIC", "applicableToDataset": True,
                                "enforced": True, "minimumNumericValue": 0, "maximumNumericValue": 400}],
        }}})
        expect(is_int(fid), f"create Facility returned {fid!r}, expected an integer id")
        st["fac"] = fid

    def get_facility_children():
        sid, fid = need("sid", "fac")
        fac = unwrap(c.result("get", {
            "sessionId": sid, "id": fid,
            "query": "Facility f INCLUDE f.investigationTypes, f.datasetTypes, f.parameterTypes"}), "Facility")
        check_common_fields(fac, "Facility", root_user)
        expect(fac.get("id") == fid and fac.get("name") == fac_name, f"Facility id/name wrong: {short(fac)}")
        for rel, name in (("investigationTypes", "exp"), ("datasetTypes", "raw"), ("parameterTypes", "temp")):
            kids = fac.get(rel)
            expect(isinstance(kids, list) and len(kids) == 1, f"{rel}: expected 1 child, got {short(kids)}")
            kid = kids[0]
            check_common_fields(kid, rel, root_user)
            expect(kid.get("name") == name, f"{rel}[0].name = {kid.get('name')!r}, expected {name!r}")
            expect("facility" not in kid, f"{rel}[0] carries 'facility' although not INCLUDEd: {short(kid)}")
        st["itype"] = fac["investigationTypes"][0]["id"]
        st["dtype"] = fac["datasetTypes"][0]["id"]
        pt = fac["parameterTypes"][0]
        st["ptype"] = pt["id"]
        expect(pt.get("valueType") == "NUMERIC", f"valueType {pt.get('valueType')!r}, expected 'NUMERIC' (enum as string)")
        expect(pt.get("enforced") is True, f"enforced {pt.get('enforced')!r}, expected true")
        expect(pt.get("applicableToDataset") is True, f"applicableToDataset {pt.get('applicableToDataset')!r}")
        expect(pt.get("units") == "K", f"units {pt.get('units')!r}")
        expect(is_number(pt.get("minimumNumericValue")) and pt["minimumNumericValue"] == 0,
               f"minimumNumericValue {pt.get('minimumNumericValue')!r}, expected 0")
        expect(is_number(pt.get("maximumNumericValue")) and pt["maximumNumericValue"] == 400,
               f"maximumNumericValue {pt.get('maximumNumericValue')!r}, expected 400")

    def get_facility_plain():
        sid, fid = need("sid", "fac")
        fac = unwrap(c.result("get", {"sessionId": sid, "query": "Facility", "id": fid}), "Facility")
        for rel in ("investigationTypes", "datasetTypes", "parameterTypes"):
            expect(rel not in fac, f"'{rel}' present although not INCLUDEd: {short(fac)}")

    r.check("create Facility with types in one call (cascade)", create_facility)
    r.check("get Facility INCLUDE its types shows the children", get_facility_children)
    r.check("get Facility without INCLUDE has no children", get_facility_plain)

    inv_name = f"smoke-inv-{sfx}"

    def create_investigation():
        sid, fid, itype, dtype = need("sid", "fac", "itype", "dtype")
        iid = c.result("create", {"sessionId": sid, "entity": {"Investigation": {
            "name": inv_name, "visitId": "v1", "title": "Smoke test investigation",
            "facility": {"id": fid}, "type": {"id": itype},
            "datasets": [{"name": "ds-a", "type": {"id": dtype},
                          "datafiles": [{"name": "a.nxs"}, {"name": "b.nxs"}]}],
        }}})
        expect(is_int(iid), f"create Investigation returned {iid!r}, expected an integer id")
        st["inv"] = iid

    def get_investigation_tree():
        sid, iid = need("sid", "inv")
        inv = unwrap(c.result("get", {"sessionId": sid, "id": iid,
                                      "query": "Investigation i INCLUDE i.datasets ds, ds.datafiles"}),
                     "Investigation")
        check_common_fields(inv, "Investigation", root_user)
        expect(inv.get("name") == inv_name and inv.get("visitId") == "v1", f"Investigation fields wrong: {short(inv)}")
        dss = inv.get("datasets")
        expect(isinstance(dss, list) and len(dss) == 1, f"datasets: expected 1, got {short(dss)}")
        ds = dss[0]
        check_common_fields(ds, "Dataset", root_user)
        expect(ds.get("name") == "ds-a", f"dataset name {ds.get('name')!r}")
        expect(ds.get("complete") is False, f"Dataset.complete {ds.get('complete')!r}, expected false (default)")
        dfs = ds.get("datafiles")
        expect(isinstance(dfs, list) and len(dfs) == 2, f"datafiles: expected 2, got {short(dfs)}")
        names = sorted(d.get("name") for d in dfs)
        expect(names == ["a.nxs", "b.nxs"], f"datafile names {names}")
        for d in dfs:
            check_common_fields(d, "Datafile", root_user)
        expect("facility" not in inv and "type" not in inv, f"Investigation carries facility/type although "
               f"not INCLUDEd: {short(inv)}")
        st["ds"] = ds["id"]
        st["dfs"] = [d["id"] for d in dfs]

    def get_dataset_include_1():
        sid, dsid, iid, dtype = need("sid", "ds", "inv", "dtype")
        ds = unwrap(c.result("get", {"sessionId": sid, "query": "Dataset INCLUDE 1", "id": dsid}), "Dataset")
        inv = ds.get("investigation")
        expect(isinstance(inv, dict) and inv.get("id") == iid and inv.get("name") == inv_name,
               f"investigation not included in full: {short(inv)}")
        typ = ds.get("type")
        expect(isinstance(typ, dict) and typ.get("id") == dtype and typ.get("name") == "raw",
               f"type not included in full: {short(typ)}")
        expect("datafiles" not in ds, f"INCLUDE 1 brought one-to-many datafiles: {short(ds)}")

    def get_dataset_plain():
        sid, dsid = need("sid", "ds")
        ds = unwrap(c.result("get", {"sessionId": sid, "query": "Dataset", "id": dsid}), "Dataset")
        expect(ds.get("id") == dsid and ds.get("name") == "ds-a", f"Dataset fields wrong: {short(ds)}")
        for rel in ("investigation", "type", "datafiles"):
            expect(rel not in ds, f"'{rel}' present although not INCLUDEd: {short(ds)}")

    r.check("create Investigation with a Dataset and 2 Datafiles in one call", create_investigation)
    r.check("get Investigation INCLUDE i.datasets ds, ds.datafiles shows the tree", get_investigation_tree)
    r.check("get Dataset INCLUDE 1 has investigation and type", get_dataset_include_1)
    r.check("get Dataset without INCLUDE has no related objects", get_dataset_plain)

    # ---- createMany: duplicates, atomicity ---------------------------------------------------------------
    def ds_entity(name, **extra):
        body = {"name": name, "investigation": {"id": st["inv"]}, "type": {"id": st["dtype"]}}
        body.update(extra)
        return {"Dataset": body}

    def dataset_names():
        inv = unwrap(c.result("get", {"sessionId": st["sid"], "id": st["inv"],
                                      "query": "Investigation i INCLUDE i.datasets"}), "Investigation")
        return sorted(d.get("name") for d in inv.get("datasets", []))

    def create_many_dup_existing():
        sid, _, _ = need("sid", "inv", "dtype")
        c.error("createMany", {"sessionId": sid, "entities": [
            ds_entity("ds-b"), ds_entity("ds-c"), ds_entity("ds-a")]}, OBJECT_ALREADY_EXISTS, offset=2)

    def create_many_dup_in_batch():
        sid, _, _ = need("sid", "inv", "dtype")
        c.error("createMany", {"sessionId": sid, "entities": [
            ds_entity("ds-b"), ds_entity("ds-d"), ds_entity("ds-b")]}, OBJECT_ALREADY_EXISTS, offset=2)

    def create_many_nothing_written():
        need("sid", "inv", "dtype")
        names = dataset_names()
        expect(names == ["ds-a"], f"after the failed batches the investigation has datasets {names}, expected "
               "only ['ds-a'] (a failed createMany must write nothing)")

    def create_many_ok():
        sid, _, _ = need("sid", "inv", "dtype")
        ids = c.result("createMany", {"sessionId": sid, "entities": [
            ds_entity("ds-b"), ds_entity("ds-c"), ds_entity("ds-d")]})
        expect(isinstance(ids, list) and len(ids) == 3 and all(is_int(i) for i in ids) and len(set(ids)) == 3,
               f"createMany returned {short(ids)}, expected 3 distinct integer ids")
        for i, name in zip(ids, ("ds-b", "ds-c", "ds-d")):
            ds = unwrap(c.result("get", {"sessionId": sid, "query": "Dataset", "id": i}), "Dataset")
            expect(ds.get("name") == name, f"id {i} is {ds.get('name')!r}, expected {name!r} (ids in request order)")
        names = dataset_names()
        expect(names == ["ds-a", "ds-b", "ds-c", "ds-d"], f"datasets now {names}")
        st["extra_ds"] = ids

    r.check("createMany with a duplicate of an existing Dataset is OBJECT_ALREADY_EXISTS at offset 2",
            create_many_dup_existing)
    r.check("createMany with a duplicate inside the batch is OBJECT_ALREADY_EXISTS at offset 2",
            create_many_dup_in_batch)
    r.check("failed createMany wrote nothing (get)", create_many_nothing_written)
    r.check("createMany of the same names now succeeds with ids in order", create_many_ok)

    # ---- validation ------------------------------------------------------------------------------------
    def missing_name():
        sid, iid, dtype = need("sid", "inv", "dtype")
        c.error("create", {"sessionId": sid, "entity": {"Dataset": {
            "investigation": {"id": iid}, "type": {"id": dtype}}}}, VALIDATION)

    def missing_relation():
        (sid,) = need("sid")
        c.error("create", {"sessionId": sid, "entity": {"Datafile": {"name": f"orphan-{sfx}"}}}, VALIDATION)

    def over_long():
        sid, iid, dtype = need("sid", "inv", "dtype")
        c.error("create", {"sessionId": sid, "entity": {"Dataset": {
            "name": "x" * 256, "investigation": {"id": iid}, "type": {"id": dtype}}}}, VALIDATION)

    def max_length_ok():
        sid, iid, dtype = need("sid", "inv", "dtype")
        name = "y" * 255
        i = c.result("create", {"sessionId": sid, "entity": {"Dataset": {
            "name": name, "investigation": {"id": iid}, "type": {"id": dtype}}}})
        expect(is_int(i), f"create returned {i!r}")
        ds = unwrap(c.result("get", {"sessionId": sid, "query": "Dataset", "id": i}), "Dataset")
        expect(ds.get("name") == name, f"255-character name came back as {len(ds.get('name') or '')} characters")

    def create_many_validation_offset():
        need("sid", "inv", "dtype")
        c.error("createMany", {"sessionId": st["sid"], "entities": [
            ds_entity("ds-e"), {"Dataset": {"investigation": {"id": st["inv"]}, "type": {"id": st["dtype"]}}}]},
            VALIDATION, offset=1)
        names = dataset_names()
        expect("ds-e" not in names, f"ds-e was written although its batch failed: {names}")

    def unknown_entity():
        (sid,) = need("sid")
        c.error("create", {"sessionId": sid, "entity": {"NoSuchEntity": {"name": "x"}}}, BAD_PARAMETER)

    r.check("create Dataset without name is VALIDATION -32006", missing_name)
    r.check("create Datafile without dataset is VALIDATION -32006", missing_relation)
    r.check("create Dataset with a 256-character name is VALIDATION -32006", over_long)
    r.check("create Dataset with a 255-character name is accepted", max_length_ok)
    r.check("createMany with an invalid item is VALIDATION at its offset and writes nothing",
            create_many_validation_offset)
    r.check("create of an unknown entity type is BAD_PARAMETER -32001", unknown_entity)

    # ---- parameter range checks -------------------------------------------------------------------------
    def param(value):
        return {"DatasetParameter": {"dataset": {"id": st["ds"]}, "type": {"id": st["ptype"]},
                                     "numericValue": value}}

    def param_above():
        sid, _, _ = need("sid", "ds", "ptype")
        c.error("create", {"sessionId": sid, "entity": param(400.5)}, VALIDATION)

    def param_below():
        sid, _, _ = need("sid", "ds", "ptype")
        c.error("create", {"sessionId": sid, "entity": param(-1)}, VALIDATION)

    def param_in_range():
        sid, _, _ = need("sid", "ds", "ptype")
        pid = c.result("create", {"sessionId": sid, "entity": param(293.5)})
        expect(is_int(pid), f"create DatasetParameter returned {pid!r}")
        p = unwrap(c.result("get", {"sessionId": sid, "query": "DatasetParameter p INCLUDE p.type", "id": pid}),
                   "DatasetParameter")
        expect(p.get("numericValue") == 293.5, f"numericValue came back as {p.get('numericValue')!r}")
        expect(isinstance(p.get("type"), dict) and p["type"].get("name") == "temp", f"type {short(p.get('type'))}")
        st["param"] = pid

    r.check("DatasetParameter above the enforced maximum is VALIDATION -32006", param_above)
    r.check("DatasetParameter below the enforced minimum is VALIDATION -32006", param_below)
    r.check("DatasetParameter in range is created", param_in_range)

    # ---- update ---------------------------------------------------------------------------------------
    def update_then_get():
        sid, dsid, iid, dtype = need("sid", "ds", "inv", "dtype")
        before = unwrap(c.result("get", {"sessionId": sid, "query": "Dataset", "id": dsid}), "Dataset")
        res = c.result("update", {"sessionId": sid, "entity": {"Dataset": {
            "id": dsid, "name": "ds-a", "investigation": {"id": iid}, "type": {"id": dtype},
            "description": f"updated {sfx}", "complete": True}}})
        expect(res is None, f"update returned {short(res)}, expected null")
        ds = unwrap(c.result("get", {"sessionId": sid, "query": "Dataset INCLUDE 1", "id": dsid}), "Dataset")
        expect(ds.get("description") == f"updated {sfx}", f"description is {ds.get('description')!r}")
        expect(ds.get("complete") is True, f"complete is {ds.get('complete')!r}")
        expect(ds.get("name") == "ds-a", f"name is {ds.get('name')!r}")
        expect((ds.get("investigation") or {}).get("id") == iid, f"investigation is {short(ds.get('investigation'))}")
        expect(ds.get("createTime") == before.get("createTime"),
               f"createTime changed: {before.get('createTime')} -> {ds.get('createTime')}")
        expect(ds.get("modTime", "") >= before.get("modTime", ""),
               f"modTime went back: {before.get('modTime')} -> {ds.get('modTime')}")

    def update_to_duplicate():
        sid, extra, iid, dtype = need("sid", "extra_ds", "inv", "dtype")
        c.error("update", {"sessionId": sid, "entity": {"Dataset": {
            "id": extra[0], "name": "ds-c", "investigation": {"id": iid}, "type": {"id": dtype}}}},
            OBJECT_ALREADY_EXISTS)

    def update_missing():
        sid, iid, dtype = need("sid", "inv", "dtype")
        c.error("update", {"sessionId": sid, "entity": {"Dataset": {
            "id": 987654321, "name": "nope", "investigation": {"id": iid}, "type": {"id": dtype}}}},
            NO_SUCH_OBJECT_FOUND)

    r.check("update Dataset then get shows the change", update_then_get)
    r.check("update to a duplicate key is OBJECT_ALREADY_EXISTS -32004", update_to_duplicate)
    r.check("update of a missing object is NO_SUCH_OBJECT_FOUND -32003", update_missing)

    # ---- non-root writes --------------------------------------------------------------------------------
    def anon_create():
        anon, iid, dtype = need("anon", "inv", "dtype")
        c.error("create", {"sessionId": anon, "entity": {"Dataset": {
            "name": f"anon-{sfx}", "investigation": {"id": iid}, "type": {"id": dtype}}}}, INSUFFICIENT_PRIVILEGES)
        expect(f"anon-{sfx}" not in dataset_names(), "the anon create was written")

    def anon_update():
        anon, dsid, iid, dtype = need("anon", "ds", "inv", "dtype")
        c.error("update", {"sessionId": anon, "entity": {"Dataset": {
            "id": dsid, "name": "ds-a", "investigation": {"id": iid}, "type": {"id": dtype},
            "description": "anon was here"}}}, INSUFFICIENT_PRIVILEGES)
        ds = unwrap(c.result("get", {"sessionId": st["sid"], "query": "Dataset", "id": dsid}), "Dataset")
        expect(ds.get("description") != "anon was here", "the anon update was written")

    def anon_delete():
        anon, dsid = need("anon", "ds")
        c.error("delete", {"sessionId": anon, "entity": {"Dataset": {"id": dsid}}}, INSUFFICIENT_PRIVILEGES)
        c.result("get", {"sessionId": st["sid"], "query": "Dataset", "id": dsid})

    r.check("anon create is INSUFFICIENT_PRIVILEGES -32002", anon_create)
    r.check("anon update is INSUFFICIENT_PRIVILEGES -32002", anon_update)
    r.check("anon delete is INSUFFICIENT_PRIVILEGES -32002", anon_delete)

    # ---- cloneEntity, deleteMany ----------------------------------------------------------------------
    def clone_investigation():
        sid, iid = need("sid", "inv")
        new_name = f"{inv_name}-copy"
        q = "Investigation i INCLUDE i.datasets ds, ds.datafiles"
        orig = unwrap(c.result("get", {"sessionId": sid, "query": q, "id": iid}), "Investigation")
        cid = c.result("cloneEntity", {"sessionId": sid, "name": "Investigation", "id": iid,
                                       "keys": {"name": new_name}})
        expect(is_int(cid) and cid != iid, f"cloneEntity returned {cid!r}")
        copy = unwrap(c.result("get", {"sessionId": sid, "query": q, "id": cid}), "Investigation")
        expect(copy.get("name") == new_name and copy.get("title") == orig.get("title"),
               f"copy name/title {copy.get('name')!r}/{copy.get('title')!r}")

        def tree(inv):
            return sorted((d.get("name"), sorted(f.get("name") for f in d.get("datafiles", [])))
                          for d in inv.get("datasets", []))

        expect(tree(copy) == tree(orig), f"copy's datasets/datafiles {tree(copy)} differ from {tree(orig)}")
        old_ids = {d.get("id") for d in orig.get("datasets", [])}
        expect(not old_ids & {d.get("id") for d in copy.get("datasets", [])}, "copy shares dataset ids")
        res = c.result("delete", {"sessionId": sid, "entity": {"Investigation": {"id": cid}}})
        expect(res is None, f"delete of the copy returned {short(res)}")

    def clone_facility():
        sid, fid, iid = need("sid", "fac", "inv")
        new_name = f"smoke-clone-{sfx}"
        q = "Facility f INCLUDE f.datasetTypes, f.investigations i, i.datasets ds, ds.type"
        orig = unwrap(c.result("get", {"sessionId": sid, "query": q, "id": fid}), "Facility")
        cid = c.result("cloneEntity", {"sessionId": sid, "name": "Facility", "id": fid, "keys": {"name": new_name}})
        expect(is_int(cid) and cid != fid, f"cloneEntity returned {cid!r}")
        st["clone"] = cid
        fac = unwrap(c.result("get", {"sessionId": sid, "query": q, "id": cid}), "Facility")
        expect(fac.get("name") == new_name, f"clone name {fac.get('name')!r}")
        dts = fac.get("datasetTypes") or []
        expect([d.get("name") for d in dts] == ["raw"] and dts[0].get("id") != st.get("dtype"),
               f"clone's datasetTypes {short(dts)}: expected a new 'raw'")
        invs = fac.get("investigations") or []
        expect([i.get("name") for i in invs] == [inv_name] and invs[0].get("id") != iid,
               f"clone's investigations {short(invs)}: expected a new {inv_name!r}")
        want = sorted(d.get("name") for d in orig["investigations"][0].get("datasets", []))
        got = invs[0].get("datasets") or []
        expect(sorted(d.get("name") for d in got) == want, f"clone's datasets {[d.get('name') for d in got]}, "
               f"expected {want}")
        for d in got:
            expect((d.get("type") or {}).get("id") == dts[0].get("id"),
                   f"cloned dataset {d.get('name')!r} has type {short(d.get('type'))}, expected the cloned type")

    def delete_many_atomic():
        (sid,) = need("sid")
        ids = c.result("createMany", {"sessionId": sid, "entities": [
            {"Facility": {"name": f"smoke-dm1-{sfx}"}}, {"Facility": {"name": f"smoke-dm2-{sfx}"}}]})
        expect(isinstance(ids, list) and len(ids) == 2, f"createMany returned {short(ids)}")
        st["dm"] = ids
        c.error("deleteMany", {"sessionId": sid, "entities": [
            {"Facility": {"id": ids[0]}}, {"Facility": {"id": 987654321}}, {"Facility": {"id": ids[1]}}]},
            NO_SUCH_OBJECT_FOUND, offset=1)
        for i in ids:
            fac = unwrap(c.result("get", {"sessionId": sid, "query": "Facility", "id": i}), "Facility")
            expect(fac.get("id") == i, f"Facility {i} vanished after a failed deleteMany")

    def delete_many_ok():
        sid, ids = need("sid", "dm")
        res = c.result("deleteMany", {"sessionId": sid, "entities": [{"Facility": {"id": i}} for i in ids]})
        expect(res is None, f"deleteMany returned {short(res)}, expected null")
        for i in ids:
            c.error("get", {"sessionId": sid, "query": "Facility", "id": i}, NO_SUCH_OBJECT_FOUND)

    r.check("cloneEntity copies an Investigation with its datasets and datafiles", clone_investigation)
    r.check("cloneEntity copies a Facility with its types and investigations", clone_facility)
    r.check("deleteMany with a missing item is NO_SUCH_OBJECT_FOUND at offset 1 and deletes nothing",
            delete_many_atomic)
    r.check("deleteMany deletes every item", delete_many_ok)

    # ---- delete with cascade ---------------------------------------------------------------------------
    def delete_cascade():
        sid, iid, dsid, dfs, pid = need("sid", "inv", "ds", "dfs", "param")
        res = c.result("delete", {"sessionId": sid, "entity": {"Investigation": {"id": iid}}})
        expect(res is None, f"delete returned {short(res)}, expected null")
        gone = [("Investigation", iid), ("Dataset", dsid), ("DatasetParameter", pid)]
        gone += [("Datafile", d) for d in dfs] + [("Dataset", d) for d in st.get("extra_ds", [])]
        for entity, i in gone:
            try:
                c.error("get", {"sessionId": sid, "query": entity, "id": i}, NO_SUCH_OBJECT_FOUND)
            except CheckFailed as e:
                raise CheckFailed(f"get {entity} {i} after deleting its Investigation: {e}")
        fac = unwrap(c.result("get", {"sessionId": sid, "query": "Facility f INCLUDE f.datasetTypes",
                                      "id": st["fac"]}), "Facility")
        expect(len(fac.get("datasetTypes") or []) == 1, "deleting the Investigation removed the facility's types")

    def delete_missing():
        (sid,) = need("sid")
        c.error("delete", {"sessionId": sid, "entity": {"Investigation": {"id": 987654321}}}, NO_SUCH_OBJECT_FOUND)

    r.check("delete Investigation cascades: children get NO_SUCH_OBJECT_FOUND -32003", delete_cascade)
    r.check("delete of a missing object is NO_SUCH_OBJECT_FOUND -32003", delete_missing)

    # ---- protocol --------------------------------------------------------------------------------------
    def malformed_json():
        status, resp, raw = c.post_raw(b'{"jsonrpc": "2.0", "id": 1, "method": "getApiVersion"')
        expect(status == 200, f"HTTP {status}, body {short(raw.decode(errors='replace'))}")
        check_protocol_error(resp, PARSE_ERROR)
        expect("id" in resp and resp["id"] is None, f"parse error reply id must be null: {short(resp)}")

    def invalid_request():
        status, resp, raw = c.post_raw(json.dumps({"jsonrpc": "2.0", "id": 5, "params": {}}).encode())
        expect(status == 200, f"HTTP {status}, body {short(raw.decode(errors='replace'))}")
        check_protocol_error(resp, INVALID_REQUEST)

    def empty_batch():
        status, resp, raw = c.post_raw(b"[]")
        expect(status == 200, f"HTTP {status}, body {short(raw.decode(errors='replace'))}")
        check_protocol_error(resp, INVALID_REQUEST)

    def unknown_method():
        resp = c.call(f"noSuchMethod{sfx}", {}, req_id="u-1")
        check_protocol_error(resp, METHOD_NOT_FOUND)

    def positional_params():
        resp = c.call("getEntityInfo", ["Dataset"], req_id=77)
        check_protocol_error(resp, INVALID_PARAMS)

    def batch():
        (sid,) = need("sid")
        reqs = [
            {"jsonrpc": "2.0", "id": 101, "method": "getApiVersion"},
            {"jsonrpc": "2.0", "method": "getApiVersion"},  # notification: no reply
            {"jsonrpc": "2.0", "id": "two", "method": "getUserName", "params": {"sessionId": sid}},
            {"jsonrpc": "2.0", "id": 103, "method": f"noSuchMethod{sfx}", "params": {}},
            {"jsonrpc": "2.0", "id": 104, "method": "get",
             "params": {"sessionId": sid, "query": "Facility", "id": 987654321}},
        ]
        status, resp, raw = c.post_raw(json.dumps(reqs).encode())
        expect(status == 200, f"HTTP {status}, body {short(raw.decode(errors='replace'))}")
        expect(isinstance(resp, list), f"batch reply is not an array: {short(raw.decode(errors='replace'))}")
        ids = sorted(map(str, (x.get("id") for x in resp if isinstance(x, dict))))
        expect(len(resp) == 4 and ids == sorted(["101", "two", "103", "104"]),
               f"expected 4 replies with ids 101, two, 103, 104 (none for the notification), got {short(resp)}")
        by_id = {x["id"]: x for x in resp}
        expect(101 in by_id and "two" in by_id, f"reply ids have the wrong JSON types: {short(resp)}")
        expect(isinstance(by_id[101].get("result"), str), f"reply 101: {short(by_id[101])}")
        expect(by_id["two"].get("result") == root_user, f"reply 'two': {short(by_id['two'])}")
        check_protocol_error(by_id[103], METHOD_NOT_FOUND)
        e = by_id[104].get("error")
        expect(isinstance(e, dict), f"reply 104: {short(by_id[104])}")
        check_catalog_error(e, *NO_SUCH_OBJECT_FOUND, -1)

    def notification_alone():
        status, _, raw = c.post_raw(json.dumps({"jsonrpc": "2.0", "method": "getApiVersion"}).encode())
        expect(status == 204, f"HTTP {status}, expected 204")
        expect(raw == b"", f"body {short(raw.decode(errors='replace'))!r}, expected empty")

    def notification_batch():
        reqs = [{"jsonrpc": "2.0", "method": "getApiVersion"}, {"jsonrpc": "2.0", "method": "getEntityNames"}]
        status, _, raw = c.post_raw(json.dumps(reqs).encode())
        expect(status == 204 or (status == 200 and raw.strip() == b""),
               f"HTTP {status}, body {short(raw.decode(errors='replace'))!r}: a batch of notifications gets no reply")

    r.check("malformed JSON body is -32700 with id null", malformed_json)
    r.check("request without method is -32600", invalid_request)
    r.check("empty batch is -32600", empty_batch)
    r.check("unknown method is -32601", unknown_method)
    r.check("positional params are -32602", positional_params)
    r.check("batch with a notification: replies match ids, none for the notification", batch)
    r.check("notification alone is HTTP 204 with an empty body", notification_alone)
    r.check("batch of notifications only gets no reply", notification_batch)

    # ---- discovery and schema information -------------------------------------------------------------
    def discover():
        doc = c.result("rpc.discover")
        expect(isinstance(doc, dict) and isinstance(doc.get("openrpc"), str), f"not an OpenRPC document: {short(doc)}")
        expect(isinstance(doc.get("info"), dict), "info missing")
        methods = doc.get("methods")
        expect(isinstance(methods, list), f"methods {short(methods)}")
        names = {m.get("name") for m in methods if isinstance(m, dict)}
        missing = [m for m in METHODS_NOW if m not in names]
        expect(not missing, f"rpc.discover does not list {missing}")
        for m in methods:
            expect(isinstance(m.get("params"), list) and "result" in m, f"method entry incomplete: {short(m, 200)}")

    def entity_names():
        names = c.result("getEntityNames")
        expect(isinstance(names, list) and all(isinstance(n, str) for n in names), f"{short(names)}")
        expect(len(names) == 57 and len(set(names)) == 57, f"{len(names)} names ({len(set(names))} distinct), expected 57")
        for n in ("Dataset", "Datafile", "Investigation", "Facility", "ParameterType", "Rule", "InputDataset",
                  "OutputDataset", "InputDatafile", "OutputDatafile", "DataPublication"):
            expect(n in names, f"{n} missing")

    def entity_info():
        info = c.result("getEntityInfo", {"beanName": "Dataset"})
        expect(isinstance(info, dict), f"{short(info)}")
        expect(isinstance(info.get("classComment"), str), f"classComment {info.get('classComment')!r}")
        cons = info.get("constraints")
        expect(isinstance(cons, list) and ["investigation", "name"] in [sorted(x) for x in cons if isinstance(x, list)],
               f"constraints {short(cons)}, expected [[investigation, name]]")
        fields = {f.get("name"): f for f in info.get("fields", []) if isinstance(f, dict)}

        def field(name, **want):
            f = fields.get(name)
            expect(f is not None, f"field {name} missing")
            for k, v in want.items():
                expect(f.get(k) == v, f"field {name}: {k} is {f.get(k)!r}, expected {v!r}")

        field("name", type="String", notNullable=True, stringLength=255, relType="ATTRIBUTE")
        field("complete", type="Boolean", relType="ATTRIBUTE")
        field("startDate", type="Date", notNullable=False, relType="ATTRIBUTE")
        field("investigation", type="Investigation", notNullable=True, relType="ONE")
        field("type", type="DatasetType", notNullable=True, relType="ONE")
        field("datafiles", type="Datafile", relType="MANY")
        field("parameters", type="DatasetParameter", relType="MANY")

    def entity_info_unknown():
        c.error("getEntityInfo", {"beanName": f"NoSuch{sfx}"}, BAD_PARAMETER)

    r.check("rpc.discover lists every implemented method", discover)
    r.check("getEntityNames lists 57 names", entity_names)
    r.check("getEntityInfo Dataset describes fields, relations and constraints", entity_info)
    r.check("getEntityInfo of an unknown name is BAD_PARAMETER -32001", entity_info_unknown)

    # ---- clean up and session end ----------------------------------------------------------------------
    def delete_facility():
        sid, fid = need("sid", "fac")
        expect(c.result("delete", {"sessionId": sid, "entity": {"Facility": {"id": fid}}}) is None, "delete result")
        c.error("get", {"sessionId": sid, "query": "ParameterType", "id": st["ptype"]}, NO_SUCH_OBJECT_FOUND)
        if "clone" in st:  # the copy made by cloneEntity, with its investigation
            expect(c.result("delete", {"sessionId": sid, "entity": {"Facility": {"id": st["clone"]}}}) is None,
                   "delete of the cloned Facility")

    def refresh_logout():
        sid, anon = need("sid", "anon")
        expect(c.result("refresh", {"sessionId": sid}) is None, "refresh did not return null")
        for s in (anon, sid):
            expect(c.result("logout", {"sessionId": s}) is None, "logout did not return null")
            c.error("getUserName", {"sessionId": s}, SESSION)

    r.check("delete Facility removes its types (and the clone)", delete_facility)
    r.check("refresh, then logout ends the session (SESSION -32005 after)", refresh_logout)

    print(f"{r.passed} passed, {r.failed} failed", flush=True)
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
