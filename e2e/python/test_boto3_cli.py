"""End-to-end: boto3 and the AWS CLI v1, pointed at confab with an endpoint override.

Starts the confab binary ($CONFAB_BIN, default ../../target/debug/confab relative to this file) on
port 0 with a fresh data directory, drives whole chats through the stock `connect` and
`connectparticipant` clients, and stops the server at the end (also on failure).

Run: ./run.sh (or `python3 test_boto3_cli.py`). The last line printed is `N passed, N failed`.
"""

import atexit
import datetime
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import boto3
import botocore
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
CONFAB_BIN = os.path.abspath(os.path.join(HERE, os.environ.get("CONFAB_BIN", "../../target/debug/confab")))
REGION = "us-east-1"
INSTANCE = "e2e-instance"
FLOW = "e2e-flow"
TYPING = "application/vnd.amazonaws.connect.event.typing"
JOINED = "application/vnd.amazonaws.connect.event.participant.joined"
LEFT = "application/vnd.amazonaws.connect.event.participant.left"
ENDED = "application/vnd.amazonaws.connect.event.chat.ended"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CLI_TIMEOUT_S = 60

# ----------------------------------------------------------------------------------------------
# The server


class Server:
    def __init__(self):
        self.proc = None
        self.base = None
        self.tmp = None
        self.log_path = None

    def start(self, timeout_s=20.0):
        if not os.path.exists(CONFAB_BIN):
            raise RuntimeError(f"confab binary not found at {CONFAB_BIN} (cargo build -p confab, or set CONFAB_BIN)")
        self.tmp = tempfile.mkdtemp(prefix="confab-e2e-python-")
        data_dir = os.path.join(self.tmp, "data")
        os.mkdir(data_dir)
        self.log_path = os.path.join(self.tmp, "confab.log")
        log = open(self.log_path, "wb")
        env = dict(os.environ, NO_COLOR="1")
        self.proc = subprocess.Popen(
            [CONFAB_BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        atexit.register(self.stop)
        lines = queue.Queue()

        def pump():  # keep reading stdout so the pipe never fills up
            for raw in iter(self.proc.stdout.readline, b""):
                lines.put(raw.decode("utf-8", "replace"))
                log.write(b"[stdout] " + raw)
                log.flush()
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise RuntimeError(f"confab did not print its listening line within {timeout_s}s")
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait()
                raise RuntimeError(f"confab exited with {code} before listening:\n{self.log_tail()}")
            m = re.search(r"confab listening on (http://127\.0\.0\.1:\d+)", line)
            if m:
                self.base = m.group(1)
                return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def cleanup(self):
        self.stop()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-n:]
        except OSError:
            return "(no log)"


SERVER = Server()


def setUpModule():
    SERVER.start()


def tearDownModule():
    SERVER.stop()  # the temp dir is removed in main() after a failed run's log was shown


# ----------------------------------------------------------------------------------------------
# Shared helpers

# Dummy credentials: the SDKs refuse to send anything without some (SPEC §1.4). Keep the user's
# own AWS config files out of the picture.
_ISOLATED_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_PAGER": "",
}
_REMOVED_AWS_ENV = ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CONNECT",
                    "AWS_ENDPOINT_URL_CONNECTPARTICIPANT", "AWS_CA_BUNDLE", "AWS_DEFAULT_OUTPUT"]
os.environ.update(_ISOLATED_AWS_ENV)
for _k in _REMOVED_AWS_ENV:
    os.environ.pop(_k, None)


def clients():
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=15)
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name=REGION)
    connect = session.client("connect", endpoint_url=SERVER.base, config=cfg)
    participant = session.client("connectparticipant", endpoint_url=SERVER.base, config=cfg)
    return connect, participant


def messages(items):
    return [i for i in items if i.get("Type") == "MESSAGE"]


class Boto3ChatTest(unittest.TestCase):
    """A whole chat through boto3's `connect` and `connectparticipant` clients."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.connect, cls.participant = clients()

    def start_chat(self, display_name="Customer (boto3)"):
        r = self.connect.start_chat_contact(
            InstanceId=INSTANCE,
            ContactFlowId=FLOW,
            ParticipantDetails={"DisplayName": display_name},
        )
        for k in ("ContactId", "ParticipantId", "ParticipantToken"):
            self.assertTrue(r.get(k), f"StartChatContact lacks {k}: {r}")
        self.assertTrue(r["ResponseMetadata"].get("RequestId"), "x-amzn-RequestId header missing")
        return r

    def add_agent(self, contact_id):
        r = self.connect.create_participant(
            InstanceId=INSTANCE,
            ContactId=contact_id,
            ParticipantDetails={"ParticipantRole": "AGENT", "DisplayName": "Agent"},
        )
        self.assertTrue(r.get("ParticipantId"), r)
        self.assertTrue(r.get("ParticipantCredentials", {}).get("ParticipantToken"), r)
        return r

    def connection(self, participant_token):
        r = self.participant.create_participant_connection(
            ParticipantToken=participant_token, Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"]
        )
        ws, cc = r.get("Websocket", {}), r.get("ConnectionCredentials", {})
        self.assertRegex(ws.get("Url", ""), r"^wss?://", r)
        self.assertRegex(ws.get("ConnectionExpiry", ""), ISO_MS)
        self.assertTrue(cc.get("ConnectionToken"), r)
        self.assertRegex(cc.get("Expiry", ""), ISO_MS)
        return cc["ConnectionToken"]

    def assertAccessDenied(self, ctx, operation):
        err = ctx.exception.response["Error"]
        self.assertEqual(err["Code"], "AccessDeniedException", ctx.exception.response)
        self.assertEqual(err["Message"], "Access denied")
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertEqual(str(ctx.exception),
                         f"An error occurred (AccessDeniedException) when calling the {operation} operation: Access denied")

    def test_full_chat(self):
        chat = self.start_chat()
        contact_id = chat["ContactId"]
        agent = self.add_agent(contact_id)
        cust_tok = self.connection(chat["ParticipantToken"])
        agent_tok = self.connection(agent["ParticipantCredentials"]["ParticipantToken"])

        # Messages both ways.
        m1 = self.participant.send_message(ConnectionToken=cust_tok, ContentType="text/plain",
                                           Content="Hello from boto3 – ünïcode \"q\"")
        self.assertTrue(m1.get("Id"))
        self.assertRegex(m1.get("AbsoluteTime", ""), ISO_MS)
        m2 = self.participant.send_message(ConnectionToken=agent_tok, ContentType="text/plain",
                                           Content="Hi, agent here.")
        m3 = self.participant.send_message(ConnectionToken=cust_tok, ContentType="text/plain", Content="Thanks!")
        ev = self.participant.send_event(ConnectionToken=cust_tok, ContentType=TYPING)
        self.assertTrue(ev.get("Id"))
        self.assertRegex(ev.get("AbsoluteTime", ""), ISO_MS)

        # One page with everything, newest first (the defaults: BACKWARD, DESCENDING).
        full = self.participant.get_transcript(ConnectionToken=cust_tok, MaxResults=100)
        self.assertEqual(full.get("InitialContactId"), contact_id)
        self.assertNotIn("NextToken", full, "all items fit in one page: no NextToken")
        items = full["Transcript"]
        self.assertEqual([i["Id"] for i in messages(items)], [m3["Id"], m2["Id"], m1["Id"]],
                         "DESCENDING: newest message first")
        byid = {i["Id"]: i for i in items}
        self.assertEqual(byid[m1["Id"]]["ParticipantRole"], "CUSTOMER")
        self.assertEqual(byid[m1["Id"]]["Content"], "Hello from boto3 – ünïcode \"q\"")
        self.assertEqual(byid[m1["Id"]]["DisplayName"], "Customer (boto3)")
        self.assertEqual(byid[m2["Id"]]["ParticipantRole"], "AGENT")
        self.assertEqual(byid[m2["Id"]]["ParticipantId"], agent["ParticipantId"])
        self.assertEqual(byid[m1["Id"]]["AbsoluteTime"], m1["AbsoluteTime"])

        # Paging with MaxResults=1, following NextToken until it is absent.
        pages, paged, token = 0, [], None
        while True:
            kw = {"NextToken": token} if token else {}
            page = self.participant.get_transcript(ConnectionToken=cust_tok, MaxResults=1, **kw)
            pages += 1
            self.assertLessEqual(len(page["Transcript"]), 1, page)
            self.assertEqual(page.get("InitialContactId"), contact_id)
            paged.extend(page["Transcript"])
            nxt = page.get("NextToken")
            if nxt is None:
                break
            self.assertNotEqual(nxt, "", "NextToken must be omitted, not empty, on the last page")
            self.assertNotEqual(nxt, token, "the server returned the NextToken it was given")
            token = nxt
            self.assertLess(pages, 50, "paging does not end")
        self.assertEqual([i["Id"] for i in paged], [i["Id"] for i in items],
                         "MaxResults=1 paging must yield the same items in the same order as one big page")

        # BACKWARD + ASCENDING (what chatjs asks for): the newest two, oldest first.
        last2 = self.participant.get_transcript(ConnectionToken=cust_tok, MaxResults=2,
                                                ScanDirection="BACKWARD", SortOrder="ASCENDING",
                                                StartPosition={})
        self.assertEqual([i["Id"] for i in last2["Transcript"]], [items[1]["Id"], items[0]["Id"]])

        # The contact as the control plane sees it.
        d = self.connect.describe_contact(InstanceId=INSTANCE, ContactId=contact_id)["Contact"]
        self.assertEqual(d["Id"], contact_id)
        self.assertEqual(d.get("Channel"), "CHAT")
        self.assertEqual(d.get("InitiationMethod"), "API")
        self.assertIsInstance(d.get("InitiationTimestamp"), datetime.datetime)
        self.assertNotIn("DisconnectTimestamp", d, "the chat is still going")

        # The customer leaves: the chat ends.
        r = self.participant.disconnect_participant(ConnectionToken=cust_tok)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        with self.assertRaises(self.participant.exceptions.AccessDeniedException) as ctx:
            self.participant.send_message(ConnectionToken=cust_tok, ContentType="text/plain", Content="still here?")
        self.assertAccessDenied(ctx, "SendMessage")
        with self.assertRaises(self.participant.exceptions.AccessDeniedException) as ctx:
            self.participant.send_message(ConnectionToken=agent_tok, ContentType="text/plain", Content="hello?")
        self.assertAccessDenied(ctx, "SendMessage")
        with self.assertRaises(self.participant.exceptions.AccessDeniedException) as ctx:
            self.participant.create_participant_connection(ParticipantToken=chat["ParticipantToken"],
                                                           Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
        self.assertAccessDenied(ctx, "CreateParticipantConnection")

        d = self.connect.describe_contact(InstanceId=INSTANCE, ContactId=contact_id)["Contact"]
        self.assertIsInstance(d.get("DisconnectTimestamp"), datetime.datetime, d)

    def test_transcript_records_left_and_ended_after_disconnect(self):
        chat = self.start_chat()
        agent = self.add_agent(chat["ContactId"])
        cust_tok = self.connection(chat["ParticipantToken"])
        agent_tok = self.connection(agent["ParticipantCredentials"]["ParticipantToken"])
        self.participant.send_message(ConnectionToken=cust_tok, ContentType="text/plain", Content="bye")
        self.participant.disconnect_participant(ConnectionToken=cust_tok)
        # Whether GetTranscript works after the end is UNCERTAIN in the spec (suggested: allowed
        # until the token expires); the agent's connection token is the one that did not leave.
        try:
            t = self.participant.get_transcript(ConnectionToken=agent_tok, MaxResults=100,
                                                ScanDirection="BACKWARD", SortOrder="ASCENDING")
        except self.participant.exceptions.AccessDeniedException:
            self.skipTest("GetTranscript after the end is refused (allowed by the spec's UNCERTAIN note)")
        kinds = [i.get("ContentType") for i in t["Transcript"] if i.get("Type") == "EVENT"]
        self.assertIn(LEFT, kinds)
        self.assertIn(ENDED, kinds)
        self.assertLess(kinds.index(LEFT), kinds.index(ENDED), "participant.left before chat.ended")

    def test_idempotent_send_message(self):
        chat = self.start_chat()
        tok = self.connection(chat["ParticipantToken"])
        ct = str(uuid.uuid4())
        a = self.participant.send_message(ConnectionToken=tok, ContentType="text/plain", Content="once", ClientToken=ct)
        b = self.participant.send_message(ConnectionToken=tok, ContentType="text/plain", Content="once", ClientToken=ct)
        self.assertEqual((a["Id"], a["AbsoluteTime"]), (b["Id"], b["AbsoluteTime"]),
                         "a replay with the same ClientToken returns the original result (SPEC §1.7)")
        t = self.participant.get_transcript(ConnectionToken=tok, MaxResults=100)
        self.assertEqual(len(messages(t["Transcript"])), 1, "the replay must not post a second message")

    def test_bad_token_is_access_denied(self):
        with self.assertRaises(self.participant.exceptions.AccessDeniedException) as ctx:
            self.participant.send_message(ConnectionToken="not-a-real-token", ContentType="text/plain", Content="hi")
        self.assertAccessDenied(ctx, "SendMessage")
        with self.assertRaises(self.participant.exceptions.AccessDeniedException) as ctx:
            self.participant.create_participant_connection(ParticipantToken="not-a-real-token",
                                                           Type=["CONNECTION_CREDENTIALS"])
        self.assertAccessDenied(ctx, "CreateParticipantConnection")

    def test_participant_token_is_not_a_connection_token(self):
        chat = self.start_chat()
        with self.assertRaises(self.participant.exceptions.AccessDeniedException) as ctx:
            self.participant.send_message(ConnectionToken=chat["ParticipantToken"], ContentType="text/plain",
                                          Content="wrong kind of token")
        self.assertAccessDenied(ctx, "SendMessage")

    def test_sideways_scan_direction_is_validation_error(self):
        chat = self.start_chat()
        tok = self.connection(chat["ParticipantToken"])
        with self.assertRaises(self.participant.exceptions.ValidationException) as ctx:
            self.participant.get_transcript(ConnectionToken=tok, ScanDirection="SIDEWAYS")
        resp = ctx.exception.response
        self.assertEqual(resp["Error"]["Code"], "ValidationException")
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertTrue(resp["Error"]["Message"], "a ValidationException carries a message")


# ----------------------------------------------------------------------------------------------
# The AWS CLI v1


def aws_cli():
    """The `aws` command: $AWS_CLI, else `aws` on PATH, else `python -m awscli`."""
    if os.environ.get("AWS_CLI"):
        return [os.environ["AWS_CLI"]]
    exe = shutil.which("aws")
    return [exe] if exe else [sys.executable, "-m", "awscli"]


class AwsCliChatTest(unittest.TestCase):
    """The same kind of chat through `aws connect …` and `aws connectparticipant …`."""

    maxDiff = None

    def aws(self, *args, expect_rc=0):
        cmd = aws_cli() + list(args) + ["--endpoint-url", SERVER.base, "--output", "json", "--region", REGION]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.fail(f"timed out after {CLI_TIMEOUT_S}s: {' '.join(args)}")
        if expect_rc is not None and p.returncode != expect_rc:
            self.fail(f"`aws {' '.join(args)}` exited {p.returncode} (expected {expect_rc})\n"
                      f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def aws_json(self, *args):
        p = self.aws(*args)
        out = p.stdout.strip()
        if not out:
            return {}
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            self.fail(f"`aws {' '.join(args)}` printed non-JSON: {p.stdout!r}")

    def test_cli_chat(self):
        chat = self.aws_json("connect", "start-chat-contact", "--instance-id", INSTANCE, "--contact-flow-id", FLOW,
                             "--participant-details", "DisplayName=Customer (cli)")
        for k in ("ContactId", "ParticipantId", "ParticipantToken"):
            self.assertTrue(chat.get(k), chat)
        agent = self.aws_json("connect", "create-participant", "--instance-id", INSTANCE,
                              "--contact-id", chat["ContactId"],
                              "--participant-details", "ParticipantRole=AGENT,DisplayName=Agent")
        self.assertTrue(agent.get("ParticipantCredentials", {}).get("ParticipantToken"), agent)

        def connect(ptoken):
            c = self.aws_json("connectparticipant", "create-participant-connection", "--participant-token", ptoken,
                              "--type", "WEBSOCKET", "CONNECTION_CREDENTIALS")
            self.assertRegex(c.get("Websocket", {}).get("Url", ""), r"^wss?://", c)
            self.assertRegex(c.get("ConnectionCredentials", {}).get("Expiry", ""), ISO_MS)
            return c["ConnectionCredentials"]["ConnectionToken"]

        cust_tok = connect(chat["ParticipantToken"])
        agent_tok = connect(agent["ParticipantCredentials"]["ParticipantToken"])

        m1 = self.aws_json("connectparticipant", "send-message", "--connection-token", cust_tok,
                           "--content-type", "text/plain", "--content", "Hello from the CLI")
        self.assertTrue(m1.get("Id"), m1)
        self.assertRegex(m1.get("AbsoluteTime", ""), ISO_MS)
        m2 = self.aws_json("connectparticipant", "send-message", "--connection-token", agent_tok,
                           "--content-type", "text/plain", "--content", "Agent answering via CLI")
        ev = self.aws_json("connectparticipant", "send-event", "--connection-token", cust_tok,
                           "--content-type", TYPING)
        self.assertTrue(ev.get("Id"), ev)

        t = self.aws_json("connectparticipant", "get-transcript", "--connection-token", cust_tok,
                          "--scan-direction", "BACKWARD", "--sort-order", "ASCENDING", "--max-results", "15")
        self.assertEqual(t.get("InitialContactId"), chat["ContactId"])
        msgs = messages(t.get("Transcript", []))
        self.assertEqual([(m["Id"], m["Content"], m["ParticipantRole"]) for m in msgs],
                         [(m1["Id"], "Hello from the CLI", "CUSTOMER"), (m2["Id"], "Agent answering via CLI", "AGENT")])

        d = self.aws_json("connectparticipant", "disconnect-participant", "--connection-token", cust_tok)
        self.assertEqual(d, {}, "DisconnectParticipant has an empty output")

        # The chat has ended: the customer's token no longer works.
        p = self.aws("connectparticipant", "send-message", "--connection-token", cust_tok,
                     "--content-type", "text/plain", "--content", "after the end", expect_rc=255)
        self.assertIn("An error occurred (AccessDeniedException) when calling the SendMessage operation: Access denied",
                      p.stderr)

    def test_cli_bad_token(self):
        p = self.aws("connectparticipant", "send-message", "--connection-token", "not-a-real-token",
                     "--content-type", "text/plain", "--content", "hi", expect_rc=None)
        self.assertEqual(p.returncode, 255, f"stdout: {p.stdout}\nstderr: {p.stderr}")
        self.assertIn("An error occurred (AccessDeniedException) when calling the SendMessage operation: Access denied",
                      p.stderr)
        self.assertEqual(p.stdout.strip(), "")


# ----------------------------------------------------------------------------------------------


def main():
    print(f"boto3 {boto3.__version__}, botocore {botocore.__version__}, aws: {' '.join(aws_cli())}, "
          f"confab: {CONFAB_BIN}", flush=True)
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2)
    result = runner.run(suite)
    problems = result.failures + result.errors
    failed = len(problems) + len(result.unexpectedSuccesses)
    # Errors in setUpModule/setUpClass are reported against a stand-in, not a test that ran.
    failed_tests = sum(1 for t, _ in problems if isinstance(t, unittest.TestCase)) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed_tests - skipped - len(result.expectedFailures)
    if not result.wasSuccessful() and SERVER.log_path:
        print("\n--- confab log (tail) ---\n" + SERVER.log_tail(), flush=True)
    SERVER.cleanup()
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line, flush=True)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
