#!/usr/bin/env python3
"""Re-captures the AWS CLI v1 goldens that `crates/confab/tests/cli` compares confab with.

Usage: crates/cli/tests/golden/capture.sh   (builds confab, then runs this script)

Needs the real AWS CLI v1 (`pip install awscli`) importable by this Python. It:

1. starts `confab serve` on 127.0.0.1:0 with a fresh data folder;
2. puts a recording proxy in front of it, and drives a chat with the real `aws` command:
   each case's first run (json output) goes through to confab and its HTTP answer is kept;
   the text and table runs get that same answer replayed, so all three outputs are for one
   response;
3. writes one file per case to cases/: the command, the request the CLI sent, the response,
   and the CLI's stdout, stderr and exit code for each output format;
4. writes skeletons.json: `--generate-cli-skeleton` (input) of every operation, and
   names.txt: botocore's CLI name of every member and operation.

The CLI runs with the vendored models (crates/wire/models, through AWS_DATA_PATH) so that
it knows the same operations and members as confab, with `random.choice` made
deterministic (botocore picks a random enum value for input skeletons; confab takes the
first), a fresh HOME, dummy credentials, AWS_MAX_ATTEMPTS=1 and `cli_follow_urlparam = false`
(confab never fetches http(s):// parameter values, and the capture must reach nothing but
127.0.0.1).
"""

import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
CASES = os.path.join(HERE, "cases")
CONFAB = os.environ.get("CONFAB_BIN", os.path.join(ROOT, "target", "debug", "confab"))

# The replayed response headers (the rest are transport details).
KEPT_HEADERS = ("content-type", "x-amzn-errortype", "x-amzn-requestid")

AWS_RUNNER = (
    "import random, sys\n"
    "random.choice = lambda seq: seq[0]\n"
    "from awscli.clidriver import main\n"
    "sys.argv = ['aws'] + sys.argv[1:]\n"
    "sys.exit(main())\n"
)


class Proxy(http.server.BaseHTTPRequestHandler):
    """Forwards to confab and records, or answers with a recorded response."""

    upstream = ""
    replay = None  # a recorded response to answer with, or None to forward
    requests = []
    responses = []

    def log_message(self, *args):
        pass

    def _handle(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        Proxy.requests.append({
            "method": self.command,
            "path": self.path,
            "bearer": self.headers.get("x-amz-bearer"),
            "body": body.decode("utf-8"),
        })
        if Proxy.replay is not None:
            resp = Proxy.replay
        else:
            req = urllib.request.Request(Proxy.upstream + self.path, data=body or None, method=self.command)
            for k, v in self.headers.items():
                if k.lower() not in ("host", "content-length"):
                    req.add_header(k, v)
            try:
                with urllib.request.urlopen(req) as r:
                    status, headers, data = r.status, dict(r.headers.items()), r.read()
            except urllib.error.HTTPError as e:
                status, headers, data = e.code, dict(e.headers.items()), e.read()
            resp = {
                "status": status,
                "headers": {k.lower(): v for k, v in headers.items() if k.lower() in KEPT_HEADERS},
                "body": data.decode("utf-8"),
            }
        Proxy.responses.append(resp)
        out = resp["body"].encode("utf-8")
        self.send_response(resp["status"])
        for k, v in resp["headers"].items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


def start_confab(data_dir):
    proc = subprocess.Popen(
        [CONFAB, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "CONFAB_LOG": "warn"},
    )
    line = proc.stdout.readline().decode()
    return proc, line.strip().rsplit(" ", 1)[-1]


def aws_env(home, data_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "HOME": home,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_DATA_PATH": data_path,
        # confab never fetches http(s):// parameter values; the v1 CLI does unless told not to.
        "AWS_CONFIG_FILE": os.path.join(home, "config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "nonexistent-credentials"),
    })
    return env


class Capture:
    def __init__(self, env, endpoint, cwd):
        self.env = env
        self.cwd = cwd
        self.endpoint = endpoint
        self.cases = []

    def aws(self, args):
        p = subprocess.run([sys.executable, "-c", AWS_RUNNER] + args, env=self.env, capture_output=True, cwd=self.cwd)
        return {"stdout": p.stdout.decode(), "stderr": p.stderr.decode(), "code": p.returncode}

    def case(self, name, args, formats=("json", "text", "table"), remote=True):
        """Runs `aws ARGS` in each format against one recorded response; returns the json run's
        parsed stdout (or None)."""
        Proxy.requests.clear()
        Proxy.responses.clear()
        Proxy.replay = None
        endpoint = ["--endpoint-url", self.endpoint] if remote else []
        outputs = {}
        request = response = None
        for i, fmt in enumerate(formats):
            if i == 1 and Proxy.responses:
                Proxy.replay = Proxy.responses[0]
            outputs[fmt] = self.aws(args + endpoint + ["--output", fmt])
            if i == 0 and Proxy.responses:
                request, response = Proxy.requests[0], Proxy.responses[0]
        Proxy.replay = None
        self.cases.append({
            "name": name,
            "args": args,
            "request": request,
            "response": response,
            "outputs": outputs,
        })
        try:
            return json.loads(outputs[formats[0]]["stdout"])
        except ValueError:
            return None


def models_dir(tmp):
    data = os.path.join(tmp, "models")
    for service, version, file in (
        ("connectparticipant", "2018-09-07", "connectparticipant.json"),
        ("connect", "2017-08-08", "connect-chat.json"),
    ):
        d = os.path.join(data, service, version)
        os.makedirs(d)
        shutil.copy(os.path.join(ROOT, "crates", "wire", "models", file), os.path.join(d, "service-2.json"))
    return data


# The file `file://message.txt` names; the test writes the same one where confab runs.
MESSAGE_TEXT = "Hello from a file\nsecond line\n"


def scenario(c):
    """A chat from start to end, with the errors and options worth comparing."""
    inst = ["--instance-id", "inst-1"]
    started = c.case("start-chat-contact", ["connect", "start-chat-contact", *inst, "--contact-flow-id", "flow-1",
                                            "--participant-details", "DisplayName=Jane", "--client-token", "tok-start-1",
                                            "--supported-messaging-content-types", "text/plain", "text/markdown"])
    contact, customer = started["ContactId"], started["ParticipantToken"]
    c.case("start-chat-contact-query", ["connect", "start-chat-contact", *inst, "--contact-flow-id", "flow-1",
                                        "--participant-details", '{"DisplayName": "Jane"}', "--client-token", "tok-start-1",
                                        "--supported-messaging-content-types", "text/plain", "text/markdown",
                                        "--query", "{Contact: ContactId, Participant: ParticipantId}"])
    c.case("start-chat-contact-shorthand", ["connect", "start-chat-contact", *inst, "--contact-flow-id", "flow-1",
                                            "--participant-details", "DisplayName=Joe", "--attributes", "customerId=42,tier=gold",
                                            "--initial-message", "ContentType=text/plain,Content=Hi there",
                                            "--chat-duration-in-minutes", "90", "--client-token", "tok-start-2"])
    agent = c.case("create-participant", ["connect", "create-participant", *inst, "--contact-id", contact,
                                          "--participant-details", "ParticipantRole=AGENT,DisplayName=Ann Agent",
                                          "--client-token", "tok-agent-1"])
    agent_token = agent["ParticipantCredentials"]["ParticipantToken"]
    conn = c.case("create-participant-connection", ["connectparticipant", "create-participant-connection",
                                                     "--participant-token", customer, "--type", "WEBSOCKET", "CONNECTION_CREDENTIALS"])
    ct = conn["ConnectionCredentials"]["ConnectionToken"]
    aconn = c.case("create-participant-connection-agent", ["connectparticipant", "create-participant-connection",
                                                            "--participant-token", agent_token, "--type", "CONNECTION_CREDENTIALS",
                                                            "--connect-participant"])
    at = aconn["ConnectionCredentials"]["ConnectionToken"]
    c.case("create-participant-connection-query", ["connectparticipant", "create-participant-connection",
                                                   "--participant-token", customer, "--type", "CONNECTION_CREDENTIALS",
                                                   "--no-connect-participant", "--query", "ConnectionCredentials.Expiry"])
    sent = c.case("send-message", ["connectparticipant", "send-message", "--connection-token", ct,
                                   "--content-type", "text/plain", "--content", "Hello, I need help with my order"])
    c.case("send-message-markdown", ["connectparticipant", "send-message", "--connection-token", at,
                                     "--content-type", "text/markdown", "--content", "**Hi** Jane — how can I help? 日本"])
    c.case("send-message-file", ["connectparticipant", "send-message", "--connection-token", ct,
                                 "--content-type", "text/plain", "--content", "file://message.txt"])
    c.case("send-message-input-json", ["connectparticipant", "send-message", "--connection-token", ct,
                                       "--cli-input-json", '{"ContentType": "text/plain", "Content": "from input json"}'])
    c.case("send-event-typing", ["connectparticipant", "send-event", "--connection-token", at,
                                 "--content-type", "application/vnd.amazonaws.connect.event.typing"])
    c.case("send-event-read", ["connectparticipant", "send-event", "--connection-token", at,
                               "--content-type", "application/vnd.amazonaws.connect.event.message.read",
                               "--content", json.dumps({"messageId": sent["Id"]})])
    for i in range(3):
        c.case(f"send-message-{i}", ["connectparticipant", "send-message", "--connection-token", at if i % 2 else ct,
                                     "--content-type", "text/plain", "--content", f"message {i}\twith a tab"],
               formats=("json",))
    c.case("get-transcript", ["connectparticipant", "get-transcript", "--connection-token", ct])
    page = c.case("get-transcript-page", ["connectparticipant", "get-transcript", "--connection-token", ct,
                                          "--max-results", "2", "--sort-order", "ASCENDING"])
    c.case("get-transcript-next", ["connectparticipant", "get-transcript", "--connection-token", ct,
                                   "--max-results", "2", "--sort-order", "ASCENDING", "--next-token", page.get("NextToken", "")])
    c.case("get-transcript-start-shorthand", ["connectparticipant", "get-transcript", "--connection-token", ct,
                                              "--start-position", f"Id={sent['Id']}", "--scan-direction", "FORWARD",
                                              "--sort-order", "ASCENDING"])
    c.case("get-transcript-start-json", ["connectparticipant", "get-transcript", "--connection-token", at,
                                         "--start-position", '{"MostRecent": 3}'])
    c.case("get-transcript-query-list", ["connectparticipant", "get-transcript", "--connection-token", ct,
                                         "--query", "Transcript[?Type=='MESSAGE'].Content"])
    c.case("get-transcript-query-hash", ["connectparticipant", "get-transcript", "--connection-token", ct,
                                         "--query", "Transcript[?Type=='MESSAGE'].{Who: DisplayName, Role: ParticipantRole, Text: Content}"])
    c.case("get-transcript-query-rows", ["connectparticipant", "get-transcript", "--connection-token", ct,
                                         "--query", "Transcript[?Type=='MESSAGE'].[DisplayName, Content]"])
    c.case("get-transcript-most-recent", ["connectparticipant", "get-transcript", "--connection-token", ct,
                                          "--start-position", "MostRecent=2", "--query", "Transcript[].Id"])
    c.case("describe-contact", ["connect", "describe-contact", *inst, "--contact-id", contact])
    c.case("describe-contact-query", ["connect", "describe-contact", *inst, "--contact-id", contact,
                                      "--query", "Contact.[Id, Channel, InitiationMethod]"])
    # Errors from the service.
    c.case("error-access-denied", ["connectparticipant", "get-transcript", "--connection-token", "not-a-token"])
    c.case("error-not-found", ["connect", "describe-contact", *inst, "--contact-id", "00000000-0000-0000-0000-000000000000"])
    c.case("error-validation", ["connect", "start-chat-contact", *inst, "--contact-flow-id", "flow-1",
                                "--participant-details", "DisplayName=Jane", "--chat-duration-in-minutes", "5"])
    c.case("error-bad-content-type", ["connectparticipant", "send-message", "--connection-token", ct,
                                      "--content-type", "text/bogus", "--content", "x"])
    c.case("error-not-supported", ["connectparticipant", "get-attachment", "--connection-token", ct,
                                   "--attachment-id", "att-1"])
    # Errors the CLI finds before sending.
    local = dict(formats=("json",), remote=False)
    c.case("usage-missing-required", ["connectparticipant", "create-participant-connection", "--type", "WEBSOCKET"], **local)
    c.case("usage-missing-two", ["connect", "start-chat-contact", "--instance-id", "i"], **local)
    c.case("usage-no-operation", ["connectparticipant"], **local)
    c.case("usage-bad-operation", ["connectparticipant", "create-participant-connectio"], **local)
    c.case("usage-bad-operation-far", ["connect", "zzz"], **local)
    c.case("usage-expected-one", ["connectparticipant", "send-event", "--connection-token"], **local)
    c.case("usage-bad-output", ["connectparticipant", "send-event", "--connection-token", "x", "--content-type", "a",
                                "--output", "yaml"], formats=("json",), remote=False)
    c.case("usage-bad-color", ["connectparticipant", "send-event", "--connection-token", "x", "--content-type", "a",
                               "--color", "purple"], **local)
    c.case("usage-bad-skeleton", ["connectparticipant", "send-event", "--generate-cli-skeleton", "yaml"], **local)
    c.case("unknown-options", ["connectparticipant", "create-participant-connection", "--participant-token", "x",
                               "--bogus", "1"], **local)
    c.case("validation-min-length", ["connectparticipant", "send-message", "--connection-token", "x",
                                     "--content-type", "text/plain", "--content", ""], **local)
    c.case("validation-empty-list", ["connectparticipant", "create-participant-connection", "--participant-token", "x",
                                     "--type"], **local)
    c.case("validation-unknown-member", ["connectparticipant", "get-transcript", "--connection-token", "x",
                                         "--start-position", "Id=a,Bogus=2"], **local)
    c.case("validation-input-json", ["connectparticipant", "send-event", "--connection-token", "x",
                                     "--content-type", "a", "--cli-input-json", '{"Bad": 1}'], **local)
    c.case("validation-type", ["connect", "start-chat-contact", "--cli-input-json",
                               '{"InstanceId": 5, "ContactFlowId": "f", "ParticipantDetails": {"DisplayName": ["x"]}}'], **local)
    c.case("shorthand-syntax", ["connectparticipant", "get-transcript", "--connection-token", "x",
                                "--start-position", "Id"], **local)
    c.case("shorthand-duplicate", ["connectparticipant", "get-transcript", "--connection-token", "x",
                                   "--start-position", "Id=a,Id=b"], **local)
    c.case("json-invalid", ["connectparticipant", "get-transcript", "--connection-token", "x",
                            "--start-position", '{"Id": "a" "MostRecent": 2}'], **local)
    c.case("json-invalid-input", ["connectparticipant", "send-event", "--connection-token", "x",
                                  "--cli-input-json", '{"ContentType": "a",\n "Content": }'], **local)
    c.case("json-list-for-structure", ["connectparticipant", "get-transcript", "--connection-token", "x",
                                       "--start-position", '[{"Id": "a"}]'], **local)
    c.case("json-list-option", ["connectparticipant", "create-participant-connection", "--participant-token", "x",
                                "--type", '["WEBSOCKET", "CONNECTION_CREDENTIALS"', "--generate-cli-skeleton", "output"],
           remote=False)
    c.case("endpoint-without-scheme", ["connectparticipant", "send-event", "--connection-token", "x", "--content-type", "a",
                                       "--endpoint-url", "127.0.0.1:1"], **local)
    c.case("bad-region", ["connectparticipant", "send-event", "--connection-token", "x", "--content-type", "a",
                          "--endpoint-url", "http://127.0.0.1:1", "--region", "us east"], **local)
    c.case("bad-int", ["connectparticipant", "get-transcript", "--connection-token", "x", "--max-results", "abc"], **local)
    c.case("bad-timeout", ["connectparticipant", "send-event", "--connection-token", "x", "--content-type", "a",
                           "--cli-read-timeout", "soon"], **local)
    c.case("missing-paramfile", ["connectparticipant", "send-message", "--connection-token", "x",
                                 "--content-type", "text/plain", "--content", "file://no/such/file.txt"], **local)
    c.case("missing-profile", ["connectparticipant", "send-event", "--connection-token", "x", "--content-type", "a",
                               "--profile", "nope"], **local)
    c.case("global-before-service", ["--output", "text", "connectparticipant", "send-event"], **local)
    # Output skeletons go through the formatter.
    for op, extra in (("get-transcript", ["--connection-token", "x"]),
                      ("create-participant-connection", ["--participant-token", "x"]),
                      ("describe-contact", ["--instance-id", "i", "--contact-id", "c"])):
        service = "connect" if op == "describe-contact" else "connectparticipant"
        c.case(f"skeleton-output-{op}", [service, op, *extra, "--generate-cli-skeleton", "output"], remote=False)
    # Every other operation of the models, with what confab answers today.
    c.case("describe-contact-color", ["connect", "describe-contact", *inst, "--contact-id", contact, "--color", "on"])
    c.case("globals", ["connectparticipant", "send-event", "--connection-token", ct, "--content-type",
                       "application/vnd.amazonaws.connect.event.typing", "--region", "eu-west-1", "--no-verify-ssl",
                       "--no-paginate", "--no-sign-request", "--cli-read-timeout", "5", "--cli-connect-timeout", "5",
                       "--color", "off"])
    upload = c.case("start-attachment-upload", ["connectparticipant", "start-attachment-upload", "--connection-token", ct,
                                                "--content-type", "text/plain", "--attachment-size-in-bytes", "12",
                                                "--attachment-name", "notes.txt"]) or {}
    attachment = upload.get("AttachmentId", "att-1")
    c.case("complete-attachment-upload", ["connectparticipant", "complete-attachment-upload", "--connection-token", ct,
                                          "--attachment-ids", attachment])
    c.case("get-attachment", ["connectparticipant", "get-attachment", "--connection-token", ct, "--attachment-id", attachment])
    c.case("describe-view", ["connectparticipant", "describe-view", "--connection-token", ct, "--view-token", "view-1"])
    c.case("get-authentication-url", ["connectparticipant", "get-authentication-url", "--connection-token", ct,
                                      "--session-id", "session-1", "--redirect-uri", "https://example.com/back"])
    c.case("cancel-participant-authentication", ["connectparticipant", "cancel-participant-authentication",
                                                 "--connection-token", ct, "--session-id", "session-1"])
    c.case("create-view", ["connect", "create-view", *inst, "--status", "PUBLISHED", "--name", "form",
                           "--content", '{"Template": "{}", "Actions": ["Submit"]}'])
    c.case("create-view-version", ["connect", "create-view-version", *inst, "--view-id", "view-1"])
    c.case("create-persistent-contact-association", ["connect", "create-persistent-contact-association", *inst,
                                                     "--initial-contact-id", contact, "--rehydration-type", "ENTIRE_PAST_SESSION",
                                                     "--source-contact-id", contact])
    c.case("update-participant-role-config", ["connect", "update-participant-role-config", *inst, "--contact-id", contact,
                                              "--channel-configuration",
                                              "Chat={ParticipantTimerConfigList=[{ParticipantRole=CUSTOMER,TimerType=IDLE,"
                                              "TimerValue={ParticipantTimerDurationInMinutes=5}}]}"])
    c.case("send-chat-integration-event", ["connect", "send-chat-integration-event", "--source-id", "src-1",
                                           "--destination-id", "dst-1", "--event", "Type=MESSAGE,ContentType=text/plain,Content=hi"])
    c.case("start-contact-streaming", ["connect", "start-contact-streaming", *inst, "--contact-id", contact,
                                       "--chat-streaming-configuration", "StreamingEndpointArn=arn:aws:sns:us-east-1:123456789012:chat",
                                       "--client-token", "tok-stream-1"])
    c.case("stop-contact-streaming", ["connect", "stop-contact-streaming", *inst, "--contact-id", contact,
                                      "--streaming-id", "stream-1"])
    c.case("start-outbound-chat-contact", ["connect", "start-outbound-chat-contact", *inst, "--contact-flow-id", "flow-1",
                                           "--source-endpoint", "Type=CONNECT_PHONENUMBER_ARN,Address=arn:aws:connect:us-east-1:123456789012:phone-number/p",
                                           "--destination-endpoint", "Type=TELEPHONE_NUMBER,Address=+15555550100",
                                           "--segment-attributes", '{"connect:Subtype": {"ValueString": "connect:SMS"}}',
                                           "--client-token", "tok-out-1"])
    c.case("update-participant-authentication", ["connect", "update-participant-authentication", *inst,
                                                 "--state", "state-1", "--code", "code-1"])
    c.case("transfer-contact", ["connect", "transfer-contact", *inst, "--contact-id", contact, "--contact-flow-id", "flow-2",
                                "--client-token", "tok-transfer-1"])
    # The end of the chat.
    c.case("disconnect-participant", ["connectparticipant", "disconnect-participant", "--connection-token", at])
    c.case("stop-contact", ["connect", "stop-contact", *inst, "--contact-id", contact])
    c.case("error-after-stop", ["connectparticipant", "send-message", "--connection-token", ct,
                                "--content-type", "text/plain", "--content", "too late"])


def skeletons(c):
    out = {}
    for service, file in (("connectparticipant", "connectparticipant.json"), ("connect", "connect-chat.json")):
        model = json.load(open(os.path.join(ROOT, "crates", "wire", "models", file)))
        for op in model["operations"]:
            name = subprocess.run([sys.executable, "-c", f"import botocore; print(botocore.xform_name({op!r}, '-'))"],
                                  capture_output=True, text=True).stdout.strip()
            out[f"{service} {name}"] = c.aws([service, name, "--generate-cli-skeleton"])["stdout"]
    return out


def names():
    """botocore's CLI name of every member and operation of the models, one `Name=cli-name` a line."""
    import botocore
    found = set()
    for file in ("connectparticipant.json", "connect-chat.json"):
        model = json.load(open(os.path.join(ROOT, "crates", "wire", "models", file)))
        found.update(model["operations"])
        for shape in model["shapes"].values():
            found.update(shape.get("members", {}))
    return "".join(f"{n}={botocore.xform_name(n, '-')}\n" for n in sorted(found))


def main():
    tmp = tempfile.mkdtemp(prefix="confab-capture-")
    server, url = start_confab(os.path.join(tmp, "data"))
    try:
        Proxy.upstream = url
        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        with open(os.path.join(home, "config"), "w") as f:
            f.write("[default]\ncli_follow_urlparam = false\n")
        with open(os.path.join(home, "message.txt"), "w") as f:
            f.write(MESSAGE_TEXT)
        c = Capture(aws_env(home, models_dir(tmp)), f"http://127.0.0.1:{proxy.server_address[1]}", home)
        scenario(c)
        shutil.rmtree(CASES, ignore_errors=True)
        os.makedirs(CASES)
        for case in c.cases:
            with open(os.path.join(CASES, case["name"] + ".json"), "w") as f:
                json.dump(case, f, indent=2, ensure_ascii=False)
                f.write("\n")
        with open(os.path.join(HERE, "skeletons.json"), "w") as f:
            json.dump(skeletons(c), f, indent=2, sort_keys=True)
            f.write("\n")
        with open(os.path.join(HERE, "names.txt"), "w") as f:
            f.write(names())
        print(f"captured {len(c.cases)} cases")
    finally:
        server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
