#!/usr/bin/env python3
"""Provenance as tools and people get it: the PROV-JSON export read back by the W3C `prov` library and compared with
the document the library builds itself from the same graph, and the SVG drawing looked at in headless Chromium.

Usage: .build/python-venv/bin/python Tools/provenance-clients.py --url http://127.0.0.1:PORT [--save-png FILE]

The server must run with Tools/ids-e2e.yaml's users (simple/root with password secret). Each check prints
`ok   <name>` or `FAIL <name>: <why>`; the last line is `N passed, M failed`; the exit status is 1 if anything
failed. Objects carry a random suffix, so the script can run again against the same server.
"""

import argparse
import datetime
import html
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import traceback
import urllib.request

from PIL import Image
from prov.model import PROV, ProvDocument

NAMESPACE = "https://icatproject.org/provenance#"
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
        print(f"FAIL {name}: {e or type(e).__name__}", flush=True)
        if not isinstance(e, AssertionError):
            traceback.print_exc(limit=3)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


class Catalog:
    def __init__(self, url):
        self.url = url + "/rpc"

    def reply(self, method, params):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(req))

    def call(self, method, params):
        reply = self.reply(method, params)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]


def library_document(graph):
    """The PROV document of a graph (the contract's JSON), built with the prov library."""
    doc = ProvDocument()
    icat = doc.add_namespace("icat", NAMESPACE)
    ident = lambda ref: f"icat:{ref['entity']}_{ref['id']}"
    agents = set()
    for node in graph["nodes"]:
        attributes = {"prov:type": icat[node["entity"]], "prov:label": node["name"], "icat:id": node["id"]}
        for key, value in node.items():
            if key in ("entity", "id", "name", "depth", "start", "createId"):
                continue
            if key.endswith("Time"):
                value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            attributes["icat:" + key] = value
        if node["entity"] == "Job":
            doc.activity(ident(node), other_attributes=attributes)
            if "createId" in node:
                user = node["createId"]
                agent = "icat:user_" + "".join(c if c.isalnum() and c.isascii() else "_%02x" % ord(c) for c in user)
                if agent not in agents:
                    agents.add(agent)
                    doc.agent(agent, {"prov:type": PROV["Person"], "prov:label": user})
                doc.wasAssociatedWith(ident(node), agent)
        else:
            doc.entity(ident(node), attributes)
    inputs = {}
    for edge in graph["edges"]:
        if edge["kind"] == "used":
            inputs.setdefault(ident(edge["to"]), []).append(ident(edge["from"]))
    for edge in graph["edges"]:
        a, b = ident(edge["from"]), ident(edge["to"])
        if edge["kind"] == "used":
            doc.used(b, a)
        elif edge["kind"] == "generated":
            doc.wasGeneratedBy(b, a)
            for source in inputs.get(a, []):
                doc.wasDerivedFrom(b, source, activity=a)
        elif edge["kind"] == "related":
            doc.wasDerivedFrom(b, a)
        elif edge["kind"] == "contains":
            doc.hadMember(a, b)
    return doc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--save-png", help="keep the screenshot of the example graph here")
    args = parser.parse_args()
    cat = Catalog(args.url.rstrip("/"))
    root = cat.call("login", {"plugin": "simple", "credentials": {"username": "root", "password": "secret"}})[
        "sessionId"]
    sfx = secrets.token_hex(4)

    # An example graph: raw data reduced, a calibration, a fit of the reduced data, a report derived from the fit.
    fac = cat.call("create", {"sessionId": root, "entity": {"Facility": {
        "name": f"prov-fac-{sfx}", "investigationTypes": [{"name": "exp"}], "datasetTypes": [{"name": "raw"}]}}})
    itype = cat.call("search", {"sessionId": root, "query": f"SELECT t.id FROM InvestigationType t WHERE t.facility.id = {fac}"})[0]
    dtype = cat.call("search", {"sessionId": root, "query": f"SELECT t.id FROM DatasetType t WHERE t.facility.id = {fac}"})[0]
    names = ["run 1021 raw", "run 1022 raw", "vanadium calibration", "reduced", "fit", "report"]
    inv = cat.call("create", {"sessionId": root, "entity": {"Investigation": {
        "name": f"prov-inv-{sfx}", "visitId": "1", "title": "Provenance example", "facility": {"id": fac},
        "type": {"id": itype},
        "datasets": [{"name": n, "type": {"id": dtype}, "datafiles": [{"name": f"{n}.nxs", "fileSize": 1000 + i,
                                                                        "checksum": "%08x" % (i * 7919)}]}
                     for i, n in enumerate(names)]}}})
    ds = {n: i for n, i in cat.call("search", {"sessionId": root, "query":
                                               f"SELECT ds.name, ds.id FROM Dataset ds WHERE ds.investigation.id = {inv}"})}

    def record(app, version, inputs, outputs, arguments=None):
        return cat.call("provenance.record", {
            "sessionId": root, "application": {"name": app, "version": version}, "arguments": arguments,
            "inputs": {"datasetIds": [ds[n] for n in inputs]}, "outputs": {"datasetIds": [ds[n] for n in outputs]}})

    record("mantid-reduce", "6.9", ["run 1021 raw", "run 1022 raw", "vanadium calibration"], ["reduced"], "--rebin 0.01")
    record("sasview-fit", "5.0.6", ["reduced"], ["fit"], "--model sphere")
    # The original job model, through the link entities.
    app = cat.call("search", {"sessionId": root, "query": f"SELECT a.id FROM Application a WHERE a.name = 'sasview-fit' AND a.facility.id = {fac}"})[0]
    cat.call("create", {"sessionId": root, "entity": {"Job": {
        "application": {"id": app}, "arguments": "--report",
        "inputDatasets": [{"dataset": {"id": ds["fit"]}}], "outputDatasets": [{"dataset": {"id": ds["report"]}}]}}})
    walk = {"sessionId": root, "entity": "Dataset", "id": ds["reduced"], "direction": "both", "containment": True}

    def prov_json_round_trip():
        graph = cat.call("provenance.graph", walk)
        expect(len([n for n in graph["nodes"] if n["entity"] == "Dataset"]) == 6, f"datasets {graph['nodes']}")
        text = cat.call("provenance.export", dict(walk, format="prov-json"))
        ours = ProvDocument.deserialize(content=text, format="json")
        theirs = library_document(graph)
        expect(len(ours.get_records()) == len(theirs.get_records()),
               f"{len(ours.get_records())} records exported, {len(theirs.get_records())} built by the library")
        expect(theirs == ours, "the exported document equals the one the prov library builds from the same graph")
        # And the library's own serialization reads back equal to ours: the document is valid PROV-JSON.
        again = ProvDocument.deserialize(content=theirs.serialize(format="json"), format="json")
        expect(again == ours, "the library's serialization of its document reads back equal to the export")
        types = {r.get_type().localpart for r in ours.get_records()}
        expect({"Entity", "Activity", "Agent", "Usage", "Generation", "Derivation", "Association", "Membership"} <= types,
               f"record types {sorted(types)}")

    def svg_looked_at():
        svg = cat.call("provenance.export", dict(walk, format="svg"))
        expect(svg.lstrip().startswith("<?xml") and "<svg" in svg, "an SVG document")
        text = html.unescape(svg)
        for label in ("mantid-reduce", "sasview-fit", "vanadium calibration"):
            expect(label in text, f"the drawing names {label}")
        chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        expect(chromium, "headless Chromium is installed")
        with tempfile.TemporaryDirectory() as work:
            page = os.path.join(work, "graph.svg")
            shot = os.path.join(work, "graph.png")
            with open(page, "w") as f:
                f.write(svg)
            subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--user-data-dir={work}/profile", "--window-size=1400,700", f"--screenshot={shot}",
                            "file://" + page], check=True, capture_output=True, timeout=120)
            image = Image.open(shot).convert("RGB")
            pixels = list(image.getdata())
            inked = sum(1 for p in pixels if p != (255, 255, 255)) / len(pixels)
            colours = len(set(pixels))
            expect(inked > 0.02, f"the picture is not blank: {inked:.1%} of it is drawn")
            expect(colours > 50, f"the picture has boxes, text and fills: {colours} colours")
            if args.save_png:
                shutil.copy(shot, args.save_png)

    def refusals():
        for params, what in ((dict(walk, format="pdf"), "an unknown format"),
                             (dict(walk, depth=-1, format="dot"), "a negative depth"),
                             (dict(walk, entity="Sample", format="dot"), "an unknown entity")):
            reply = cat.reply("provenance.export", params)
            expect(reply.get("error", {}).get("data", {}).get("type") == "BAD_PARAMETER", f"{what}: {reply}")

    check("PROV-JSON export reads back in the prov library equal to its own document of the graph", prov_json_round_trip)
    check("the SVG drawing, shown in headless Chromium, is not blank", svg_looked_at)
    check("bad formats, depths and entities are BAD_PARAMETER", refusals)
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
