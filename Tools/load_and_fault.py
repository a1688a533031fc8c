#!/usr/bin/env python3
"""The client side of Tools/load-and-fault.sh: reference data, mixed load with a ledger of writes, the check that
nothing acknowledged was lost and nothing failed was written, and idle connections.

  load_and_fault.py setup --url URL --users N
  load_and_fault.py load  --url URL --users N --clients C --seconds S [--label NAME]
  load_and_fault.py idle  --url URL --connections N --seconds S

Standard library only. Every client logs in as root or as one of the plain users `simple/u1`..`uN` (password
`pw-uK`), each a writer of investigation `lf-inv-uK` under Rules/facility.yaml, and writes datasets named
`lf-<client>-<n>` there, each with three parameters. Before each write the client notes what may exist afterwards:
exactly the new state when the server acknowledged the call, exactly the old one when it answered with an error,
either when the answer was lost (connection error, timeout, HTTP status other than 200). `load` ends by reading every
such dataset as root and exits 1 if an acknowledged write is lost or stale, a failed one left anything, a dataset
is partial (not exactly its parameters), or a createMany whose answer was lost left some of its items but not all.
"""

import argparse
import http.client
import json
import random
import selectors
import socket
import sys
import threading
import time
from collections import Counter, defaultdict
from urllib.parse import urlparse

ROOT = ("root", "secret")
FACILITY = "LF"
PARAMETER_TYPES = {"lf_temperature": "NUMERIC", "lf_pressure": "NUMERIC", "lf_sample": "STRING"}
WEIGHTS = {"login": 4, "search": 26, "count": 14, "get": 10, "create": 16, "createMany": 10, "update": 12, "delete": 8}
BACKOFF_SECONDS = 0.2


def user_credentials(k):
    return (f"u{k}", f"pw-u{k}")


class Lost(Exception):
    """The call's answer did not arrive: the write may or may not have happened."""

    def __init__(self, kind):
        super().__init__(kind)
        self.kind = kind


class Failed(Exception):
    """The server answered with a JSON-RPC error."""

    def __init__(self, error, status):
        data = error.get("data") if isinstance(error.get("data"), dict) else {}
        self.kind = (data.get("type") or f"rpc {error.get('code')}") + ("" if status == 200 else f" (HTTP {status})")
        super().__init__(f"{self.kind}: {error.get('message')}")


class Connection:
    """One keep-alive HTTP connection to /rpc, reopened after a failure."""

    def __init__(self, url, timeout):
        parsed = urlparse(url)
        self.host, self.port, self.timeout = parsed.hostname, parsed.port, timeout
        self.http = None
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        try:
            if self.http is None:
                self.http = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.http.request("POST", "/rpc", body, {"Content-Type": "application/json"})
            response = self.http.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise Lost("timeout" if isinstance(error, TimeoutError) else f"connection {type(error).__name__}")
        if response.status != 200 or response.getheader("Connection", "").lower() == "close":
            self.close()
        try:
            answer = json.loads(payload)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
            raise Failed(answer["error"], response.status)
        if response.status != 200 or not isinstance(answer, dict):
            raise Lost(f"HTTP {response.status}" if response.status != 200 else "unreadable reply")
        return answer.get("result")

    def close(self):
        if self.http is not None:
            self.http.close()
            self.http = None


def unwrap(value):
    """`{"Dataset": {...}}` → `{...}`; unwrapped objects pass through."""
    if isinstance(value, dict) and len(value) == 1:
        (inner,) = value.values()
        if isinstance(inner, dict):
            return inner
    return value


def login(connection, credentials):
    username, password = credentials
    result = connection.call("login", plugin="simple", credentials={"username": username, "password": password})
    return result["sessionId"]


def find_id(connection, session, query):
    return unwrap(connection.call("search", sessionId=session, query=query)[0])["id"]


def setup(args):
    """As root: a facility, types, users `u1..uN` and one investigation per user with that user as its writer, and
    one for root. Prints nothing but errors; rules are loaded by the shell script with `icat rules load`."""
    connection = Connection(args.url, 60)
    session = login(connection, ROOT)

    def create(entity):
        return connection.call("create", sessionId=session, entity=entity)

    facility = create({"Facility": {"name": FACILITY}})
    investigation_type = create({"InvestigationType": {"name": "lf", "facility": {"id": facility}}})
    create({"DatasetType": {"name": "lf", "facility": {"id": facility}}})
    for name, value_type in PARAMETER_TYPES.items():
        create({"ParameterType": {"name": name, "units": "u", "valueType": value_type, "applicableToDataset": True,
                                  "facility": {"id": facility}}})
    owners = [("root", [])]
    for k in range(1, args.users + 1):
        user = create({"User": {"name": f"simple/u{k}"}})
        owners.append((f"u{k}", [{"user": {"id": user}, "role": "writer"}]))
    for owner, members in owners:
        create({"Investigation": {"name": f"lf-inv-{owner}", "visitId": "1", "title": f"load and fault, {owner}",
                                  "facility": {"id": facility}, "type": {"id": investigation_type},
                                  "investigationUsers": members}})


class Client:
    """One simulated user: a random mix of operations on its own datasets, recording each call's latency and
    outcome, and in `expected` what each dataset it touched may look like at the end."""

    def __init__(self, index, args, references, deadline):
        self.index, self.args, self.references, self.deadline = index, args, references, deadline
        self.credentials = ROOT if index % 4 == 3 else user_credentials((index - index // 4) % args.users + 1)
        self.owner = self.credentials[0]
        self.connection = Connection(args.url, args.timeout)
        self.random = random.Random(index)
        self.session = None
        self.serial = 0
        self.mine = {}  # name -> (id, state): datasets acknowledged as written, safe to update or delete
        self.expected = {}  # name -> [acceptable states]; a state is None (absent) or (description, parameters)
        self.all_or_none = []  # names of createMany calls whose answer was lost
        self.latencies = defaultdict(list)
        self.outcomes = Counter()  # (operation, "ok" or error kind)
        self.surprises = []

    def run(self):
        operations = list(WEIGHTS)
        weights = [WEIGHTS[name] for name in operations]
        while time.monotonic() < self.deadline:
            operation = self.random.choices(operations, weights)[0]
            if operation in ("get", "update", "delete") and not self.mine:
                operation = "create"
            try:
                if self.session is None and operation != "login":
                    self.timed("login", self.login)
                self.timed(operation, getattr(self, "op_" + operation.replace("createMany", "create_many")))
            except Lost:
                time.sleep(BACKOFF_SECONDS)  # the server may be down: do not spin
            except Failed:
                pass
        self.connection.close()

    def timed(self, operation, action):
        start = time.monotonic()
        try:
            self.outcomes[(operation, action() or "ok")] += 1
        except (Lost, Failed) as error:
            self.outcomes[(operation, error.kind)] += 1
            if isinstance(error, Failed) and error.kind == "SESSION":
                self.session = None
            raise
        finally:
            self.latencies[operation].append(time.monotonic() - start)

    def call(self, method, **params):
        return self.connection.call(method, sessionId=self.session, **params)

    def login(self):
        self.session = login(self.connection, self.credentials)

    op_login = login

    def op_search(self):
        self.call("search", query=f"SELECT ds FROM Dataset ds JOIN ds.investigation i WHERE i.name = "
                                  f"'lf-inv-{self.owner}' ORDER BY ds.id DESC INCLUDE ds.parameters p, p.type "
                                  f"LIMIT 0, 20")

    def op_count(self):
        query = self.random.choice(["SELECT COUNT(ds) FROM Dataset ds",
                                    f"SELECT COUNT(p) FROM DatasetParameter p JOIN p.dataset ds "
                                    f"WHERE ds.name LIKE 'lf-{self.index}-%'"])
        self.call("search", query=query)

    def op_get(self):
        name = self.random.choice(list(self.mine))
        identifier, state = self.mine[name]
        found = dataset_state(unwrap(self.call("get", query="Dataset ds INCLUDE ds.parameters p, p.type",
                                                id=identifier)))
        if found != state:
            self.surprises.append(f"get of acknowledged {name} gave {found}, expected {state}")

    def new_dataset(self):
        self.serial += 1
        name = f"lf-{self.index}-{self.serial}"
        values = {"lf_temperature": self.random.randrange(4000) / 4, "lf_pressure": self.random.randrange(400) / 8,
                  "lf_sample": f"sample-{self.random.randrange(10**6)}"}
        description = f"created by client {self.index}"
        entity = self.dataset_fields(name, description)
        entity["parameters"] = [{("stringValue" if PARAMETER_TYPES[t] == "STRING" else "numericValue"): v,
                                 "type": {"id": self.references["parameterTypes"][t]}} for t, v in values.items()]
        return name, {"Dataset": entity}, (description, frozenset(values.items()))

    def dataset_fields(self, name, description):
        return {"name": name, "description": description, "complete": False,
                "investigation": {"id": self.references["investigations"][self.owner]},
                "type": {"id": self.references["datasetType"]}}

    def op_create(self):
        name, entity, state = self.new_dataset()
        try:
            identifier = self.call("create", entity=entity)
        except Lost:
            self.expected[name] = [None, state]
            raise
        except Failed:
            self.expected[name] = [None]
            raise
        self.expected[name] = [state]
        self.mine[name] = (identifier, state)

    def op_create_many(self):
        batch = [self.new_dataset() for _ in range(self.random.randint(2, 6))]
        entities = [entity for _, entity, _ in batch]
        doomed = self.mine and self.random.random() < 0.25
        if doomed:  # one item repeats an existing name: the whole call must fail and leave none of its items
            duplicate = json.loads(json.dumps(entities[-1]))
            duplicate["Dataset"]["name"] = self.random.choice(list(self.mine))
            entities.insert(self.random.randrange(len(entities) + 1), duplicate)
        try:
            identifiers = self.call("createMany", entities=entities)
        except Lost:
            for name, _, state in batch:
                self.expected[name] = [None] if doomed else [None, state]
            if not doomed:
                self.all_or_none.append([name for name, _, _ in batch])
            raise
        except Failed as error:
            for name, _, _ in batch:
                self.expected[name] = [None]
            if doomed and error.kind == "OBJECT_ALREADY_EXISTS":
                return "ok (refused as expected)"
            raise
        if doomed:
            self.surprises.append(f"createMany with a duplicate name succeeded: {identifiers}")
        for (name, _, state), identifier in zip(batch, identifiers):
            self.expected[name] = [state]
            self.mine[name] = (identifier, state)

    def op_update(self):
        name = self.random.choice(list(self.mine))
        identifier, old = self.mine[name]
        description = f"updated {self.random.randrange(10**9)}"
        new = (description, old[1])
        try:
            self.call("update", entity={"Dataset": {"id": identifier, **self.dataset_fields(name, description)}})
        except Lost:
            self.expected[name] = [old, new]
            del self.mine[name]
            raise
        self.expected[name] = [new]
        self.mine[name] = (identifier, new)

    def op_delete(self):
        name = self.random.choice(list(self.mine))
        identifier, old = self.mine[name]
        try:
            self.call("delete", entity={"Dataset": {"id": identifier}})
        except Lost:
            self.expected[name] = [None, old]
            del self.mine[name]
            raise
        self.expected[name] = [None]
        del self.mine[name]


def dataset_state(dataset):
    """(description, {(parameter type name, value)}) of a dataset read with `INCLUDE ds.parameters p, p.type`."""
    parameters = []
    for parameter in dataset.get("parameters", []):
        parameter = unwrap(parameter)
        value = parameter.get("numericValue")
        value = parameter.get("stringValue") if value is None else value
        parameters.append((unwrap(parameter.get("type", {})).get("name"), value))
    return dataset.get("description"), frozenset(parameters)


def wait_until_answering(url, seconds):
    deadline = time.monotonic() + seconds
    while True:
        try:
            connection = http.client.HTTPConnection(urlparse(url).hostname, urlparse(url).port, timeout=5)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the server at {url} did not answer GET /health within {seconds} s")
        time.sleep(0.5)


def read_all_datasets(url):
    """name → state of every `lf-` dataset, read as root a page at a time."""
    connection = Connection(url, 120)
    session = login(connection, ROOT)
    found, last = {}, 0
    while True:
        page = connection.call("search", sessionId=session, query=(
            f"SELECT ds FROM Dataset ds WHERE ds.name LIKE 'lf-%' AND ds.id > {last} ORDER BY ds.id "
            f"INCLUDE ds.parameters p, p.type LIMIT 0, 500"))
        for item in map(unwrap, page):
            found[item["name"]] = dataset_state(item)
            last = item["id"]
        if len(page) < 500:
            return found


def verify(clients, found):
    """The ledger against what the catalog holds: a list of problems, each a line of text."""
    problems = []
    known = set()
    for client in clients:
        problems += [f"client {client.index}: {surprise}" for surprise in client.surprises]
        for name, acceptable in client.expected.items():
            known.add(name)
            actual = found.get(name)
            if actual in acceptable:
                continue
            if actual is None:
                problems.append(f"lost: {name} was acknowledged but is missing")
            elif acceptable == [None]:
                problems.append(f"written by a failed or deleted call: {name} is present as {actual}")
            elif any(state and state[1] != actual[1] for state in acceptable):
                problems.append(f"partial: {name} has parameters {sorted(actual[1])}, expected "
                                f"{[sorted(state[1]) for state in acceptable if state]}")
            else:
                problems.append(f"stale: {name} has description {actual[0]!r}, expected one of "
                                f"{[state[0] if state else None for state in acceptable]}")
        for names in client.all_or_none:
            present = [name for name in names if name in found]
            if present and len(present) != len(names):
                problems.append(f"partial createMany: {len(present)} of {names} present")
    problems += [f"unexpected dataset {name}" for name in sorted(set(found) - known)]
    return problems


def percentile(sorted_values, fraction):
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def report(label, clients, seconds, elapsed):
    latencies, outcomes = defaultdict(list), Counter()
    for client in clients:
        for operation, values in client.latencies.items():
            latencies[operation] += values
        outcomes.update(client.outcomes)
    total = sum(len(values) for values in latencies.values())
    ok = sum(n for (_, kind), n in outcomes.items() if kind.startswith("ok"))
    print(f"\n== {label}: {len(clients)} clients for {seconds:.0f} s (the last call ended after {elapsed:.1f} s): "
          f"{total} requests ({ok} ok), {total / seconds:.1f} requests/s ({ok / seconds:.1f} ok)")
    print(f"{'operation':<11} {'requests':>8} {'ok':>8} {'errors':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8}")
    for operation in WEIGHTS:
        values = sorted(latencies[operation])
        if not values:
            continue
        ok = sum(n for (op, kind), n in outcomes.items() if op == operation and kind.startswith("ok"))
        ms = [1000 * percentile(values, f) for f in (0.5, 0.9, 0.99)] + [1000 * values[-1]]
        print(f"{operation:<11} {len(values):>8} {ok:>8} {len(values) - ok:>7} "
              + " ".join(f"{m:>8.1f}" for m in ms))
    errors = Counter()
    for (operation, kind), n in outcomes.items():
        if not kind.startswith("ok"):
            errors[kind] += n
    print("errors by type: " + (", ".join(f"{kind} {n}" for kind, n in errors.most_common()) or "none"))
    expected_failures = sum(n for (op, kind), n in outcomes.items() if kind == "ok (refused as expected)")
    print(f"createMany with a duplicate name refused as expected: {expected_failures}")


def load(args):
    references = read_references(args.url)
    start = time.monotonic()
    deadline = start + args.seconds
    clients = [Client(index, args, references, deadline) for index in range(args.clients)]
    threads = [threading.Thread(target=client.run, daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    report(args.label, clients, args.seconds, elapsed)
    wait_until_answering(args.url, 120)
    found = read_all_datasets(args.url)
    writes = sum(len(client.expected) for client in clients)
    in_doubt = sum(1 for client in clients for acceptable in client.expected.values() if len(acceptable) > 1)
    problems = verify(clients, found)
    print(f"lost or partial check: {writes} datasets written or attempted ({in_doubt} whose answer was lost), "
          f"{len(found)} present at the end: {len(problems)} problems")
    for problem in problems[:50]:
        print("  " + problem)
    if len(problems) > 50:
        print(f"  ... and {len(problems) - 50} more")
    return 1 if problems else 0


def read_references(url):
    connection = Connection(url, 60)
    session = login(connection, ROOT)

    def ids(query):
        return {unwrap(item)["name"]: unwrap(item)["id"]
                for item in connection.call("search", sessionId=session, query=query)}

    return {
        "investigations": {name.removeprefix("lf-inv-"): identifier for name, identifier in
                           ids("SELECT i FROM Investigation i WHERE i.name LIKE 'lf-inv-%'").items()},
        "datasetType": find_id(connection, session, f"SELECT t FROM DatasetType t WHERE t.name = 'lf'"),
        "parameterTypes": ids("SELECT t FROM ParameterType t WHERE t.name LIKE 'lf_%'"),
    }


def idle(args):
    """Opens idle connections, waits, and reports how many the server closed, while probing that it still answers."""
    parsed = urlparse(args.url)
    selector = selectors.DefaultSelector()
    opened, refused = 0, Counter()
    start = time.monotonic()
    for _ in range(args.connections):
        try:
            sock = socket.create_connection((parsed.hostname, parsed.port), timeout=5)
        except OSError as error:
            refused[type(error).__name__] += 1
            continue
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        opened += 1
    closed_after = []
    probes = []
    next_probe = time.monotonic()
    end = start + args.seconds
    while time.monotonic() < end:
        for key, _ in selector.select(timeout=0.2):
            try:
                data = key.fileobj.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                closed_after.append(time.monotonic() - start)
                selector.unregister(key.fileobj)
                key.fileobj.close()
        if time.monotonic() >= next_probe:
            probes.append(probe(args.url))
            next_probe = time.monotonic() + args.probe_interval
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    after = probe(args.url)
    answered = [seconds for seconds in probes if seconds is not None]
    print(f"\n== {args.label}: {args.connections} idle connections, watched for {args.seconds:.0f} s")
    print(f"opened {opened}" + (f", failed to open {dict(refused)}" if refused else ""))
    if closed_after:
        closed_after.sort()
        print(f"closed by the server: {len(closed_after)} of {opened} (first after {closed_after[0]:.1f} s, "
              f"median {percentile(closed_after, 0.5):.1f} s, last {closed_after[-1]:.1f} s)")
    else:
        print(f"closed by the server: 0 of {opened}")
    print(f"requests meanwhile: {len(answered)} of {len(probes)} answered"
          + (f", slowest {1000 * max(answered):.0f} ms" if answered else ""))
    print("after closing them: " + ("answers" if after is not None else "does NOT answer"))
    return 0


def probe(url):
    """Seconds a fresh connection's getApiVersion took, or None if it failed."""
    start = time.monotonic()
    try:
        Connection(url, 5).call("getApiVersion")
    except (Lost, Failed):
        return None
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("setup", "load", "idle"):
        command = commands.add_parser(name)
        command.add_argument("--url", required=True)
        command.add_argument("--label", default="server")
    commands.choices["setup"].add_argument("--users", type=int, default=4)
    commands.choices["load"].add_argument("--users", type=int, default=4)
    commands.choices["load"].add_argument("--clients", type=int, default=64)
    commands.choices["load"].add_argument("--seconds", type=float, default=60)
    commands.choices["load"].add_argument("--timeout", type=float, default=30, help="seconds per request")
    commands.choices["idle"].add_argument("--connections", type=int, default=1000)
    commands.choices["idle"].add_argument("--seconds", type=float, default=32)
    commands.choices["idle"].add_argument("--probe-interval", type=float, default=2)
    args = parser.parse_args()
    return {"setup": setup, "load": load, "idle": idle}[args.command](args) or 0


if __name__ == "__main__":
    sys.exit(main())
