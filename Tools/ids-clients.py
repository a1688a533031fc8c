#!/usr/bin/env python3
"""The data service (/ids/) driven by a real IDS client: python-icat's icat.ids.IDSClient, plus raw HTTP where a
client would send what IDSClient does not (Range headers, broken uploads, malformed parameters).

Usage: .build/python-venv/bin/python Tools/ids-clients.py --url http://127.0.0.1:PORT --storage DIR|s3://BUCKET
           --archive DIR
       .build/python-venv/bin/python Tools/ids-clients.py --make-config FILE --work DIR [--s3-bucket BUCKET]

The server must run with Tools/ids-e2e.yaml's users (simple/root, alice, bob, carol), a two-level storage
section whose directories are --storage and --archive, maxUploadBytes 10000000 and a short sweep interval, and
with Rules/facility.yaml loaded. Each check prints `ok   <name>` or `FAIL <name>: <why>`; the last line is
`N passed, M failed`; the exit status is 1 if anything failed. Objects carry a random suffix, so the script can
run again against the same server.
"""

import argparse
import io
import json
import os
import secrets
import socket
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib

from icat.exception import (IDSBadRequestError, IDSDataNotOnlineError, IDSInsufficientPrivilegesError,
                            IDSNotFoundError, IDSNotImplementedError)
from icat.ids import DataSelection, IDSClient

PASSED = 0
FAILED = 0


def check(name, fn):
    global PASSED, FAILED
    try:
        fn()
        PASSED += 1
        print(f"ok   {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is reported the same way
        FAILED += 1
        detail = str(e) or type(e).__name__
        print(f"FAIL {name}: {detail}", flush=True)
        if not isinstance(e, AssertionError):
            traceback.print_exc(limit=3)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def raises(exc_type, fn):
    try:
        fn()
    except exc_type as e:
        return e
    except Exception as e:  # noqa: BLE001
        raise AssertionError(f"expected {exc_type.__name__}, got {type(e).__name__}: {e}")
    raise AssertionError(f"expected {exc_type.__name__}, but the call succeeded")


class Catalog:
    def __init__(self, url):
        self.url = url + "/rpc"

    def call(self, method, params):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        reply = json.load(urllib.request.urlopen(req))
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def login(self, user, password):
        return self.call("login", {"plugin": "simple", "credentials": {"username": user, "password": password}})[
            "sessionId"]

    def create(self, sid, entity):
        return self.call("create", {"sessionId": sid, "entity": entity})

    def search(self, sid, query):
        return self.call("search", {"sessionId": sid, "query": query})


def s3_client():
    """A boto3 client for the test S3 server of ICAT_TEST_S3_URL (http://KEY:SECRET@host:port)."""
    import boto3  # moto[server] brings it
    url = urllib.parse.urlsplit(os.environ["ICAT_TEST_S3_URL"])
    return boto3.client("s3", endpoint_url=f"http://{url.hostname}:{url.port}", region_name="us-east-1",
                        aws_access_key_id=urllib.parse.unquote(url.username),
                        aws_secret_access_key=urllib.parse.unquote(url.password))


def stored_files(store):
    """Every file of a store: a local directory's, leftovers of unfinished uploads included, or an S3 bucket's
    (s3://BUCKET) objects and unfinished multipart uploads."""
    if store.startswith("s3://"):
        client, bucket = s3_client(), store[5:]
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        uploads = ["upload:" + u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
        return sorted(keys + uploads)
    found = []
    for root, _, names in os.walk(store):
        found.extend(os.path.join(root, n) for n in names)
    return sorted(found)


def make_config(path, work, bucket):
    """Writes the server's configuration (Tools/ids-e2e.yaml under WORK), with the main store on a new bucket of
    the test S3 server when `bucket` is given."""
    with open(os.path.join(os.path.dirname(__file__), "ids-e2e.yaml")) as f:
        text = f.read().replace("@WORK@", work)
    if bucket:
        s3_client().create_bucket(Bucket=bucket)
        url = urllib.parse.urlsplit(os.environ["ICAT_TEST_S3_URL"])
        main = json.dumps({"type": "s3", "endpoint": f"http://{url.hostname}:{url.port}", "region": "us-east-1",
                           "bucket": bucket, "prefix": "ids/", "partSizeBytes": 5 * 1024 * 1024,
                           "accessKeyId": urllib.parse.unquote(url.username),
                           "secretAccessKey": urllib.parse.unquote(url.password)})
        text = text.replace(f'main: {{type: file, directory: "{work}/ids-files"}}', f"main: {main}")
    with open(path, "w") as f:
        f.write(text)


def wait_until(what, predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds}s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url")
    parser.add_argument("--storage", help="the main store: a directory, or s3://BUCKET")
    parser.add_argument("--archive", help="the archive tier's directory")
    parser.add_argument("--make-config", help="write the server's configuration here and stop")
    parser.add_argument("--work", help="with --make-config: the directory the stores go under")
    parser.add_argument("--s3-bucket", help="with --make-config: put the main store on this new bucket")
    args = parser.parse_args()
    if args.make_config:
        make_config(args.make_config, args.work, args.s3_bucket)
        return 0
    url = args.url.rstrip("/")
    ids_url = url + "/ids/"
    cat = Catalog(url)
    sfx = secrets.token_hex(4)
    root = cat.login("root", "secret")
    alice = cat.login("alice", "alice-pw")
    bob = cat.login("bob", "bob-pw")
    carol = cat.login("carol", "carol-pw")

    # Fixtures, as root: alice writes inv-a, bob reads inv-b, carol reads the 'shared' dataset of inv-a and only its
    # datafiles named public*.
    fac = cat.create(root, {"Facility": {"name": f"ids-fac-{sfx}", "investigationTypes": [{"name": "exp"}],
                                         "datasetTypes": [{"name": "raw"}], "datafileFormats": [{"name": "bin", "version": "1"}]}})
    itype = cat.search(root, f"SELECT t.id FROM InvestigationType t WHERE t.facility.id = {fac}")[0]
    dtype = cat.search(root, f"SELECT t.id FROM DatasetType t WHERE t.facility.id = {fac}")[0]
    fmt = cat.search(root, f"SELECT t.id FROM DatafileFormat t WHERE t.facility.id = {fac}")[0]
    users = {}
    for name in ("alice", "bob", "carol"):
        found = cat.search(root, f"SELECT u.id FROM User u WHERE u.name = 'simple/{name}'")
        users[name] = found[0] if found else cat.create(root, {"User": {"name": f"simple/{name}"}})
    inv_a = cat.create(root, {"Investigation": {
        "name": f"inv-a-{sfx}", "visitId": "v1", "title": "IDS test A", "facility": {"id": fac},
        "type": {"id": itype}, "investigationUsers": [{"user": {"id": users["alice"]}, "role": "writer"}],
        "datasets": [{"name": "raw", "type": {"id": dtype}}, {"name": "shared", "type": {"id": dtype}},
                     {"name": "archived", "type": {"id": dtype}}]}})
    inv_b = cat.create(root, {"Investigation": {
        "name": f"inv-b-{sfx}", "visitId": "v2", "title": "IDS test B", "facility": {"id": fac},
        "type": {"id": itype}, "investigationUsers": [{"user": {"id": users["bob"]}, "role": "reader"}],
        "datasets": [{"name": "b-raw", "type": {"id": dtype}}]}})
    ds = {n: i for n, i in cat.search(root, f"SELECT ds.name, ds.id FROM Dataset ds WHERE ds.investigation.id IN "
                                             f"({inv_a}, {inv_b})")}
    group = cat.create(root, {"Grouping": {"name": f"shared-readers-{sfx}", "userGroups": [{"user": {"id": users["carol"]}}]}})
    cat.create(root, {"Rule": {"grouping": {"id": group}, "crudFlags": "R",
                               "what": f"SELECT ds FROM Dataset ds WHERE ds.id = {ds['shared']}"}})
    cat.create(root, {"Rule": {"grouping": {"id": group}, "crudFlags": "R",
                               "what": f"SELECT df FROM Datafile df WHERE df.dataset.id = {ds['shared']} AND df.name LIKE 'public%'"}})

    ids_alice = IDSClient(ids_url, sessionId=alice)
    ids_bob = IDSClient(ids_url, sessionId=bob)
    ids_carol = IDSClient(ids_url, sessionId=carol)
    ids_root = IDSClient(ids_url, sessionId=root)
    st = {}
    payload = secrets.token_bytes(300_000)
    name = "résumé 1 +&.dat"

    def service_calls():
        ids_alice.ping()
        expect(ids_alice.version()["version"] >= "2.0.0", "version is at least 2.0.0")
        expect(str(ids_alice.apiversion) >= "2.0.0", f"python-icat reads the version: {ids_alice.apiversion}")
        expect(ids_alice.isReadOnly() is False, "isReadOnly is false")
        expect(ids_alice.isTwoLevel() is True, "isTwoLevel is true with an archive tier")
        expect(ids_alice.getIcatUrl().startswith("http"), f"getIcatUrl gives a URL: {ids_alice.getIcatUrl()!r}")
        status = ids_root.getServiceStatus()
        expect(set(status) == {"opsQueue", "failures"}, f"getServiceStatus: {status}")
        raises(IDSInsufficientPrivilegesError, ids_alice.getServiceStatus)
        raises(IDSNotImplementedError, lambda: ids_alice.getLink(1))

    def put_and_read_back():
        dfid = ids_alice.put(io.BytesIO(payload), name, ds["raw"], fmt, description="first", datafileCreateTime=1000)
        st["df"] = dfid
        got = cat.call("get", {"sessionId": root, "query": "Datafile", "id": dfid})["Datafile"]
        expect(got["name"] == name, f"name kept exactly: {got['name']!r}")
        expect(got["fileSize"] == len(payload), f"fileSize {got['fileSize']}")
        expect(got["checksum"] == format(zlib.crc32(payload), "x"), f"checksum {got['checksum']}")
        expect(got.get("location"), "location set")
        expect(got.get("description") == "first", "description kept")
        expect(got.get("datafileCreateTime", "").startswith("1970-01-01"), f"create time {got.get('datafileCreateTime')}")
        data = ids_alice.getData(DataSelection({"datafileIds": [dfid]})).read()
        expect(data == payload, "getData returns the bytes put")
        expect(all(name not in p for p in stored_files(args.storage)), "no stored file carries the client's name")
        expect(len(stored_files(args.storage)) >= 1, "the store holds the bytes")

    def raw_put_answer():
        q = urllib.parse.urlencode({"sessionId": alice, "name": f"raw-{sfx}.dat", "datasetId": ds["raw"],
                                    "datafileFormatId": fmt})
        req = urllib.request.Request(ids_url + "put?" + q, data=b"hello", method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(req) as r:
            body = json.loads(r.read().decode("ascii"))
            expect(r.status == 201, f"status {r.status}")
        expect(set(body) == {"id", "checksum", "location", "size"}, f"keys {sorted(body)}")
        expect(body["checksum"] == zlib.crc32(b"hello") and body["size"] == 5, f"body {body}")
        st["small"] = body["id"]

    def ranged_reads():
        dfid = st["df"]
        part = ids_alice.getData(DataSelection({"datafileIds": [dfid]}), offset=1000)
        expect(part.status == 206, f"status {part.status}")
        expect(part.headers["Content-Range"] == f"bytes 1000-{len(payload) - 1}/{len(payload)}",
               f"Content-Range {part.headers['Content-Range']}")
        expect(part.read() == payload[1000:], "the bytes from the offset")
        whole = ids_alice.getData(DataSelection({"datafileIds": [dfid]}))
        expect(whole.headers["Content-Length"] == str(len(payload)), "Content-Length of a single file")
        q = urllib.parse.urlencode({"sessionId": alice, "datafileIds": dfid})
        req = urllib.request.Request(ids_url + "getData?" + q, headers={"Range": f"bytes={len(payload)}-"})
        try:
            urllib.request.urlopen(req)
            raise AssertionError("a range past the end was served")
        except urllib.error.HTTPError as e:
            expect(e.code == 416, f"status {e.code}")
            expect(json.loads(e.read().decode("ascii"))["code"] == "BadRequestException", "IDS error body")

    def zips():
        sel = DataSelection({"datasetIds": [ds["raw"]]})
        for compress in (False, True):
            resp = ids_alice.getData(sel, compressFlag=compress, zipFlag=True, outname="mine")
            expect("mine.zip" in resp.headers["Content-Disposition"], resp.headers["Content-Disposition"])
            archive = zipfile.ZipFile(io.BytesIO(resp.read()))
            expect(archive.testzip() is None, "every entry's CRC is right")
            entries = sorted(archive.namelist())
            expected = sorted([f"ids/ids-fac-{sfx}/inv-a-{sfx}/v1/raw/{name}", f"ids/ids-fac-{sfx}/inv-a-{sfx}/v1/raw/raw-{sfx}.dat"])
            expect(entries == expected, f"entries {entries}")
            expect(archive.read(expected[1] if name in expected[1] else expected[0]) == payload, "zipped bytes")
        # A zip resumed part way gives the rest of the same bytes.
        full = ids_alice.getData(sel, zipFlag=True).read()
        rest = ids_alice.getData(sel, zipFlag=True, offset=200_000)
        expect(rest.status == 206 and rest.read() == full[200_000:], "a zip resumed at an offset")

    def sizes_and_ids():
        sel = DataSelection({"investigationIds": [inv_a]})
        expect(ids_alice.getSize(sel) == len(payload) + 5, f"getSize {ids_alice.getSize(sel)}")
        expect(ids_alice.getStatus(sel) == "ONLINE", "getStatus ONLINE")
        expect(sorted(ids_alice.getDatafileIds(sel)) == sorted([st["df"], st["small"]]), "getDatafileIds")

    def prepared():
        pid = ids_alice.prepareData(DataSelection({"datasetIds": [ds["raw"]]}), zipFlag=True)
        expect(ids_alice.isPrepared(pid) is True, "isPrepared")
        expect(ids_alice.getSize(pid) == len(payload) + 5, "getSize of a prepared id")
        expect(sorted(ids_alice.getDatafileIds(pid)) == sorted([st["df"], st["small"]]), "getDatafileIds")
        expect(ids_alice.getStatus(pid) == "ONLINE", "getStatus of a prepared id")
        archive = zipfile.ZipFile(io.BytesIO(ids_alice.getData(pid).read()))
        expect(len(archive.namelist()) == 2, f"prepared zip entries {archive.namelist()}")
        raises(IDSNotFoundError, lambda: ids_alice.isPrepared("00000000-0000-0000-0000-000000000000"))
        st["prepared"] = pid

    def refusals():
        raises(IDSInsufficientPrivilegesError, lambda: ids_bob.getData(DataSelection({"datafileIds": [st["df"]]})))
        raises(IDSInsufficientPrivilegesError, lambda: ids_bob.getSize(DataSelection({"datasetIds": [ds["raw"]]})))
        raises(IDSInsufficientPrivilegesError, lambda: ids_bob.getStatus(DataSelection({"investigationIds": [inv_a]})))
        raises(IDSNotFoundError, lambda: ids_alice.getSize(DataSelection({"datafileIds": [987654321]})))
        raises(IDSInsufficientPrivilegesError, lambda: IDSClient(ids_url, sessionId="0" * 64).getSize(
            DataSelection({"datafileIds": [st["df"]]})))
        q = urllib.parse.urlencode({"sessionId": alice, "datafileIds": "1,x"})
        try:
            urllib.request.urlopen(ids_url + "getSize?" + q)
            raise AssertionError("a malformed id list was accepted")
        except urllib.error.HTTPError as e:
            expect(e.code == 400, f"status {e.code}")
        # The prepared id carries alice's session: bob holding it still gets only what alice may read.
        expect(ids_bob.getSize(st["prepared"]) == len(payload) + 5, "a prepared id is alice's selection")

    def hidden_inside_readable():
        pub = ids_root.put(io.BytesIO(b"public"), "public-1.dat", ds["shared"], fmt)
        priv = ids_root.put(io.BytesIO(b"private"), "private-1.dat", ds["shared"], fmt)
        got = ids_carol.getDatafileIds(DataSelection({"datasetIds": [ds["shared"]]}))
        expect(got == [pub], f"carol sees only the public datafile of the shared dataset: {got}")
        raises(IDSInsufficientPrivilegesError, lambda: ids_carol.getData(DataSelection({"datafileIds": [priv]})))
        data = ids_carol.getData(DataSelection({"datafileIds": [pub]})).read()
        expect(data == b"public", "carol reads the public one")

    def refused_puts_leave_nothing():
        before = stored_files(args.storage)
        count = lambda: cat.search(root, f"SELECT COUNT(df) FROM Datafile df WHERE df.dataset.id = {ds['raw']}")[0]
        n = count()
        raises(IDSInsufficientPrivilegesError, lambda: ids_bob.put(io.BytesIO(b"x" * 1000), "bob.dat", ds["raw"], fmt))
        raises(IDSBadRequestError, lambda: ids_alice.put(io.BytesIO(b"again"), name, ds["raw"], fmt))
        raises(IDSNotFoundError, lambda: ids_alice.put(io.BytesIO(b"x"), "nowhere.dat", 987654321, fmt))
        too_big = io.BytesIO(b"\0" * 10_000_001)
        raises(IDSBadRequestError, lambda: ids_alice.put(too_big, f"big-{sfx}.dat", ds["raw"], fmt))
        expect(count() == n, "no Datafile was created")
        expect(stored_files(args.storage) == before, "no bytes were left in the store")

    def broken_upload_leaves_nothing():
        before = stored_files(args.storage)
        host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
        q = urllib.parse.urlencode({"sessionId": alice, "name": f"broken-{sfx}.dat", "datasetId": ds["raw"],
                                    "datafileFormatId": fmt})
        with socket.create_connection((host, port)) as s:
            s.sendall(f"PUT /ids/put?{q} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2000000\r\n\r\n".encode())
            s.sendall(b"y" * 500_000)
        wait_until("the broken upload's bytes are removed", lambda: stored_files(args.storage) == before)
        found = cat.search(root, f"SELECT COUNT(df) FROM Datafile df WHERE df.name = 'broken-{sfx}.dat'")[0]
        expect(found == 0, "no Datafile for a broken upload")

    def delete_removes_bytes():
        before = len(stored_files(args.storage))
        ids_alice.delete(DataSelection({"datafileIds": [st["small"]]}))
        expect(cat.search(root, f"SELECT COUNT(df) FROM Datafile df WHERE df.id = {st['small']}")[0] == 0, "deleted")
        expect(len(stored_files(args.storage)) == before - 1, "its bytes are gone")
        raises(IDSInsufficientPrivilegesError, lambda: ids_bob.delete(DataSelection({"datafileIds": [st["df"]]})))
        # Deleting through the catalog (a cascade from the dataset) removes the bytes too, at the next sweep.
        extra = ids_alice.put(io.BytesIO(b"cascade"), "cascade.dat", ds["b-raw"] if False else ds["raw"], fmt)
        n = len(stored_files(args.storage))
        cat.call("delete", {"sessionId": root, "entity": {"Datafile": {"id": extra}}})
        wait_until("a catalog delete removes the bytes", lambda: len(stored_files(args.storage)) == n - 1)

    def archive_and_restore():
        data = secrets.token_bytes(50_000)
        dfid = ids_alice.put(io.BytesIO(data), "to-archive.dat", ds["archived"], fmt)
        sel = DataSelection({"datasetIds": [ds["archived"]]})
        wait_until("the archive tier gets a copy", lambda: len(stored_files(args.archive)) >= 1)
        ids_alice.archive(sel)
        wait_until("the dataset is archived", lambda: ids_alice.getStatus(sel) == "ARCHIVED")
        raises(IDSDataNotOnlineError, lambda: ids_alice.getData(DataSelection({"datafileIds": [dfid]})))
        wait_until("getData started a restore", lambda: ids_alice.getStatus(sel) == "ONLINE")
        expect(ids_alice.getData(DataSelection({"datafileIds": [dfid]})).read() == data, "restored bytes")
        ids_alice.archive(sel)
        wait_until("archived again", lambda: ids_alice.getStatus(sel) == "ARCHIVED")
        ids_alice.restore(sel)
        wait_until("restored on request", lambda: ids_alice.getStatus(sel) == "ONLINE")
        ids_alice.write(sel)
        ids_alice.reset(sel)
        raises(IDSInsufficientPrivilegesError, lambda: ids_bob.archive(sel))

    def json_rpc_methods():
        def rpc_error(method, params):
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
            req = urllib.request.Request(url + "/rpc", body, {"Content-Type": "application/json"})
            return json.load(urllib.request.urlopen(req)).get("error")
        names = {m["name"] for m in cat.call("rpc.discover", {})["methods"]}
        wanted = {"ids." + n for n in ("ping", "version", "isReadOnly", "isTwoLevel", "getIcatUrl", "getServiceStatus",
                                       "getSize", "getStatus", "getDatafileIds", "prepareData", "isPrepared", "delete",
                                       "archive", "restore", "write", "reset")}
        expect(wanted <= names, f"rpc.discover lacks {sorted(wanted - names)}")
        expect(cat.call("ids.ping", {}) == "IdsOK", "ids.ping")
        sel = {"sessionId": alice, "datasetIds": [ds["raw"]]}
        expect(cat.call("ids.getSize", sel) == ids_alice.getSize(DataSelection({"datasetIds": [ds["raw"]]})), "ids.getSize")
        got = cat.call("ids.getDatafileIds", sel)
        expect(set(got) == {"zip", "compress", "ids"} and sorted(got["ids"]) == sorted([st["df"], st["small"]]), f"{got}")
        pid = cat.call("ids.prepareData", dict(sel, zip=True))
        expect(cat.call("ids.isPrepared", {"preparedId": pid}) is True, "ids.isPrepared")
        expect(cat.call("ids.getDatafileIds", {"preparedId": pid})["zip"] is True, "a prepared id keeps its flags")
        err = rpc_error("ids.getSize", {"sessionId": bob, "datasetIds": [ds["raw"]]})
        expect(err and err["code"] == -32002 and err["data"]["type"] == "INSUFFICIENT_PRIVILEGES", f"{err}")
        err = rpc_error("ids.getSize", {"sessionId": alice, "datafileIds": [987654321]})
        expect(err and err["code"] == -32003, f"{err}")
        err = rpc_error("ids.getSize", {"sessionId": alice, "datafileIds": ["x"]})
        expect(err and err["code"] == -32602, f"{err}")

    check("service calls: ping, version, isReadOnly, isTwoLevel, getIcatUrl, getServiceStatus, getLink", service_calls)
    check("put stores the bytes and the Datafile; getData returns them", put_and_read_back)
    check("put answers 201 with id, checksum (a number), location and size", raw_put_answer)
    check("getData with Range: bytes=N- answers 206; past the end 416", ranged_reads)
    check("getData zips a dataset with IDS's entry names, stored and compressed", zips)
    check("getSize, getStatus, getDatafileIds of an investigation", sizes_and_ids)
    check("prepareData, isPrepared, and calls by preparedId", prepared)
    check("ids the caller may not read are 403; unknown ids 404; bad lists 400", refusals)
    check("the calls without bytes are JSON-RPC methods ids.*, with IDS's errors mapped", json_rpc_methods)
    check("inside a readable dataset, unreadable datafiles are left out", hidden_inside_readable)
    check("refused uploads (rights, duplicate name, no dataset, too large) leave nothing", refused_puts_leave_nothing)
    check("an upload cut off mid-body leaves neither a Datafile nor bytes", broken_upload_leaves_nothing)
    check("delete needs DELETE and removes the bytes, as a catalog delete does", delete_removes_bytes)
    check("archive, DataNotOnline and restore on the two-level store", archive_and_restore)
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
