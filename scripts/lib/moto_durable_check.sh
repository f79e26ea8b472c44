#!/usr/bin/env bash
# Self-check of scripts/lib/moto_durable.py, the durable moto of scripts/dev.
#
#   scripts/lib/moto_durable_check.sh      # ~15 s; no cargo, no PostgreSQL
#
# Starts the launcher on a free port with a temporary state dir and creates what
# mercado provisions: a DynamoDB table with a GSI and an item, an S3 bucket (CORS,
# object-created notification to an SQS queue) with a binary object, SQS queues
# (policy, redrive policy, a message), an EventBridge bus with a rule and an SQS
# target, a Cognito user pool with groups, a client and a user (and its tokens).
# Then, each time comparing everything with what was created:
#   1. SIGTERM (the save on exit), restart: all there; the notification, the rule,
#      the user's login, its old access and refresh tokens all still work; one
#      more object is put;
#   2. SIGTERM, restart: the same, plus the object put after the first restart;
#   3. a change, a periodic save, SIGKILL (no save on exit), restart: the change
#      is there;
#   4. an unreadable state file: the launcher says so, moves it aside and starts
#      empty.
# Exits non-zero with the differences on any mismatch.
#
# Uses the python of the venv stack.sh installs moto into ($MERCADO_STATE_DIR/venv,
# created if missing), or $STACK_MOTO_PYTHON if set (it needs moto[server], which
# brings boto3).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

_stack_ensure_moto_python
PY=$STACK_MOTO_PYTHON
LAUNCHER="$STACK_ROOT/scripts/lib/moto_durable.py"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/moto-durable-check.XXXXXX")
STATE="$TMP/state/moto-state.pickle"
PORT=$(stack_free_port)
MOTO_PID=""
RUN=0
T0=$SECONDS

check_cleanup() {
    local rc=$?
    if [[ -n "$MOTO_PID" ]]; then
        _stack_kill "$MOTO_PID" 5
    fi
    if [[ "$rc" -eq 0 ]]; then
        rm -rf "$TMP"
    else
        stack_log "moto_durable check FAILED; logs and state kept in $TMP"
    fi
}
trap check_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# check_start [INTERVAL]: start the launcher; it saves every INTERVAL seconds
# after a change (default 600: in effect, only on exit).
check_start() {
    local interval=${1:-600} i
    RUN=$((RUN + 1))
    "$PY" "$LAUNCHER" -H 127.0.0.1 -p "$PORT" --state "$STATE" --interval "$interval" \
        >"$TMP/moto-$RUN.log" 2>&1 </dev/null &
    MOTO_PID=$!
    for ((i = 0; i < 300; i++)); do
        stack_moto_answers "$PORT" && return 0
        if ! _stack_alive "$MOTO_PID"; then
            cat "$TMP/moto-$RUN.log" >&2
            stack_die "start $RUN: the launcher exited during startup"
        fi
        sleep 0.1
    done
    cat "$TMP/moto-$RUN.log" >&2
    stack_die "start $RUN: moto did not answer on port $PORT within 30 s"
}

# Stop it with SIGNAL; with TERM it must exit 0.
check_stop() {
    local signal=$1 rc=0 i
    # A killed job would get bash's "Killed" notice; its status is not needed.
    [[ "$signal" != KILL ]] || disown "$MOTO_PID"
    kill "-$signal" "$MOTO_PID"
    for ((i = 0; i < 300; i++)); do
        _stack_alive "$MOTO_PID" || break
        sleep 0.1
    done
    _stack_alive "$MOTO_PID" && stack_die "run $RUN: the launcher did not exit within 30 s of SIG$signal"
    [[ "$signal" == KILL ]] || wait "$MOTO_PID" || rc=$?
    MOTO_PID=""
    if [[ "$signal" == TERM && "$rc" -ne 0 ]]; then
        cat "$TMP/moto-$RUN.log" >&2
        stack_die "run $RUN: the launcher exited with status $rc after SIGTERM"
    fi
}

# check_log PATTERN: the current run's log has a line matching PATTERN (grep -E).
check_log() {
    grep -Eq "$1" "$TMP/moto-$RUN.log" || {
        grep '^moto_durable: ' "$TMP/moto-$RUN.log" >&2 || true
        stack_die "run $RUN: no log line matching: $1"
    }
}

check_py() {
    "$PY" "$TMP/check.py" "$@" --endpoint "http://127.0.0.1:$PORT" --expected "$TMP/expected.json"
}

cat >"$TMP/check.py" <<'PY'
import argparse, base64, datetime, decimal, hashlib, json, os, sys, time, urllib.parse

import boto3

ap = argparse.ArgumentParser()
ap.add_argument("phase", choices=["create", "verify", "touch", "verify-touch", "verify-empty"])
ap.add_argument("--endpoint", required=True)
ap.add_argument("--expected", required=True)
ap.add_argument("--run", default="?")
args = ap.parse_args()

kw = dict(endpoint_url=args.endpoint, region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")
ddb = boto3.client("dynamodb", **kw)
s3 = boto3.client("s3", **kw)
sqs = boto3.client("sqs", **kw)
ev = boto3.client("events", **kw)
idp = boto3.client("cognito-idp", **kw)

TABLE, GSI = "check-profiles", "by-email"
BUCKET, IMAGE_KEY = "check-images", "images/product-1.bin"
NOTIFY_Q, EVENTS_Q, DLQ, PLAIN_Q = "check-image-events", "check-projector", "check-projector-dlq", "check-plain"
BUS, RULE = "check-bus", "check-bus-to-projector"
POOL, CLIENT, USER, PASSWORD = "check-pool", "check-web", "buyer@example.com", "correct-horse-1"

failures = []


def fail(msg):
    failures.append(msg)


def strip(resp):
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def jsonable(x):
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (set, frozenset)):
        return sorted(jsonable(v) for v in x)
    if isinstance(x, (bytes, bytearray)):
        return {"b64": base64.b64encode(bytes(x)).decode()}
    if isinstance(x, (datetime.datetime, datetime.date)):
        return x.isoformat()
    if isinstance(x, decimal.Decimal):
        return str(x)
    return x


def url(name):
    return sqs.get_queue_url(QueueName=name)["QueueUrl"]


def arn(name):
    return sqs.get_queue_attributes(QueueUrl=url(name), AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def pool_id():
    pools = [p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == POOL]
    if len(pools) != 1:
        raise SystemExit(f"expected one user pool named {POOL}, found {len(pools)}")
    return pools[0]["Id"]


def client_id(pid):
    return [c for c in idp.list_user_pool_clients(UserPoolId=pid, MaxResults=60)["UserPoolClients"]
            if c["ClientName"] == CLIENT][0]["ClientId"]


def peek(name, n=10):
    """The queue's visible messages, left visible (VisibilityTimeout=0)."""
    out = {}
    for _ in range(3):
        got = sqs.receive_message(QueueUrl=url(name), MaxNumberOfMessages=n, VisibilityTimeout=0,
                                  MessageAttributeNames=["All"], WaitTimeSeconds=0).get("Messages", [])
        for m in got:
            out[m["MessageId"]] = {"Body": m["Body"], "MD5OfBody": m["MD5OfBody"],
                                   "MessageAttributes": m.get("MessageAttributes", {})}
    return out


def s3_event_for(key):
    """Does an SQS body hold S3's object-created event for KEY (URL-encoded there)?"""
    def pred(body):
        try:
            records = json.loads(body).get("Records", [])
        except ValueError:
            return False
        return any(urllib.parse.unquote_plus(r["s3"]["object"]["key"]) == key
                   and r["eventName"].startswith("ObjectCreated:") for r in records)
    return pred


def wait_for(name, pred, what, timeout=5.0):
    """Receive (and delete) from queue NAME until a message satisfies PRED."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for m in sqs.receive_message(QueueUrl=url(name), MaxNumberOfMessages=10,
                                     WaitTimeSeconds=1).get("Messages", []):
            if pred(m["Body"]):
                sqs.delete_message(QueueUrl=url(name), ReceiptHandle=m["ReceiptHandle"])
                return True
    fail(f"{what}: no matching message in {name} within {timeout:.0f} s")
    return False


def snapshot():
    """Everything created, in a canonical form (what must survive a restart). A part
    that cannot be read shows up as {"error": ...}, hence as a difference."""
    parts = {}

    def part(name):
        def register(fn):
            parts[name] = fn
            return fn
        return register

    @part("dynamodb.table")
    def _():
        t = ddb.describe_table(TableName=TABLE)["Table"]
        return {
            "TableName": t["TableName"], "TableArn": t["TableArn"], "KeySchema": t["KeySchema"],
            "AttributeDefinitions": sorted(t["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
            "BillingMode": t.get("BillingModeSummary", {}).get("BillingMode"),
            "GSIs": sorted(({"IndexName": g["IndexName"], "KeySchema": g["KeySchema"],
                             "Projection": g["Projection"]} for g in t.get("GlobalSecondaryIndexes", [])),
                           key=lambda g: g["IndexName"]),
        }

    @part("dynamodb.item")
    def _():
        return ddb.get_item(TableName=TABLE, Key={"pk": {"S": "user#1"}}, ConsistentRead=True).get("Item")

    @part("dynamodb.gsi_query")
    def _():
        return ddb.query(TableName=TABLE, IndexName=GSI, KeyConditionExpression="email = :e",
                         ExpressionAttributeValues={":e": {"S": USER}})["Items"]

    @part("s3.buckets")
    def _():
        return sorted(b["Name"] for b in s3.list_buckets()["Buckets"])

    @part("s3.object")
    def _():
        o = s3.get_object(Bucket=BUCKET, Key=IMAGE_KEY)
        body = o["Body"].read()
        return {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body), "ETag": o["ETag"],
                "ContentType": o["ContentType"], "Metadata": o["Metadata"]}

    @part("s3.notification")
    def _():
        return strip(s3.get_bucket_notification_configuration(Bucket=BUCKET))

    @part("s3.cors")
    def _():
        return strip(s3.get_bucket_cors(Bucket=BUCKET))

    @part("sqs.queues")
    def _():
        return sorted(u.rsplit("/", 1)[-1] for u in sqs.list_queues()["QueueUrls"])

    for q in (NOTIFY_Q, EVENTS_Q, DLQ, PLAIN_Q):
        @part(f"sqs.attributes.{q}")
        def _(q=q):
            a = sqs.get_queue_attributes(QueueUrl=url(q), AttributeNames=["All"])["Attributes"]
            return {k: a.get(k) for k in ("QueueArn", "Policy", "RedrivePolicy", "VisibilityTimeout",
                                          "CreatedTimestamp", "MessageRetentionPeriod")}

    @part("sqs.plain_messages")
    def _():
        return peek(PLAIN_Q)

    @part("events.bus")
    def _():
        b = ev.describe_event_bus(Name=BUS)
        return {"Name": b["Name"], "Arn": b["Arn"]}

    @part("events.rules")
    def _():
        return [{k: r.get(k) for k in ("Name", "Arn", "EventPattern", "State", "EventBusName")}
                for r in ev.list_rules(EventBusName=BUS)["Rules"]]

    @part("events.targets")
    def _():
        return ev.list_targets_by_rule(Rule=RULE, EventBusName=BUS)["Targets"]

    @part("cognito.pool")
    def _():
        p = idp.describe_user_pool(UserPoolId=pool_id())["UserPool"]
        return {k: p.get(k) for k in ("Id", "Name", "Arn", "Policies", "UsernameAttributes")}

    @part("cognito.client")
    def _():
        pid = pool_id()
        c = idp.describe_user_pool_client(UserPoolId=pid, ClientId=client_id(pid))["UserPoolClient"]
        return {k: c.get(k) for k in ("ClientId", "ClientName", "ExplicitAuthFlows")}

    @part("cognito.groups")
    def _():
        return sorted(g["GroupName"] for g in idp.list_groups(UserPoolId=pool_id())["Groups"])

    @part("cognito.user")
    def _():
        u = idp.admin_get_user(UserPoolId=pool_id(), Username=USER)
        return {"Username": u["Username"], "UserStatus": u["UserStatus"],
                "UserAttributes": sorted(u["UserAttributes"], key=lambda a: a["Name"])}

    @part("cognito.user_groups")
    def _():
        return sorted(g["GroupName"] for g in
                      idp.admin_list_groups_for_user(UserPoolId=pool_id(), Username=USER)["Groups"])

    st = {}
    for name, fn in parts.items():
        try:
            st[name] = fn()
        except Exception as e:  # noqa: BLE001
            st[name] = {"error": f"{type(e).__name__}: {e}"}
    return jsonable(st)


def diff(a, b, path=""):
    def failed(x):
        return isinstance(x, dict) and set(x) == {"error"}

    if failed(a) or failed(b):
        if a != b:
            yield f"{path}: was {json.dumps(a)[:200]}, now {json.dumps(b)[:200]}"
    elif isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                yield f"{path}/{k}: unexpected (now {json.dumps(b[k])[:200]})"
            elif k not in b:
                yield f"{path}/{k}: missing (was {json.dumps(a[k])[:200]})"
            else:
                yield from diff(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from diff(x, y, f"{path}[{i}]")
    elif a != b:
        yield f"{path}: was {json.dumps(a)[:200]}, now {json.dumps(b)[:200]}"


def create():
    ddb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "email", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": GSI, "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    ddb.put_item(TableName=TABLE, Item={
        "pk": {"S": "user#1"}, "email": {"S": USER}, "name": {"S": "Zoë Ñandú"},
        "age": {"N": "42"}, "avatar": {"B": os.urandom(64)}, "tags": {"SS": ["a", "b"]},
        "address": {"M": {"city": {"S": "Lisboa"}, "zip": {"N": "1000"}}},
        "orders": {"L": [{"S": "o-1"}, {"N": "2"}, {"BOOL": True}, {"NULL": True}]}})

    for q in (NOTIFY_Q, EVENTS_Q, DLQ, PLAIN_Q):
        sqs.create_queue(QueueName=q)
    sqs.set_queue_attributes(QueueUrl=url(NOTIFY_Q), Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": arn(NOTIFY_Q), "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{BUCKET}"}}}]})})
    sqs.set_queue_attributes(QueueUrl=url(EVENTS_Q), Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn(DLQ), "maxReceiveCount": "50"})})
    sqs.send_message(QueueUrl=url(PLAIN_Q), MessageBody="hello, durable world",
                     MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}})

    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["http://localhost:5173"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3600}]})
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "QueueConfigurations": [{"Id": "check-image-events", "QueueArn": arn(NOTIFY_Q),
                                 "Events": ["s3:ObjectCreated:*"],
                                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"}]}}}]})
    s3.put_object(Bucket=BUCKET, Key=IMAGE_KEY, Body=os.urandom(6 * 1024 + 7), ContentType="image/webp",
                  Metadata={"product": "p-1"})
    wait_for(NOTIFY_Q, s3_event_for(IMAGE_KEY), "object-created notification before the restart")

    ev.create_event_bus(Name=BUS)
    ev.put_rule(Name=RULE, EventBusName=BUS, EventPattern='{"source":[{"prefix":"mercado."}]}')
    ev.put_targets(Rule=RULE, EventBusName=BUS, Targets=[{"Id": "projector-queue", "Arn": arn(EVENTS_Q)}])

    pid = idp.create_user_pool(
        PoolName=POOL, UsernameAttributes=["email"],
        Policies={"PasswordPolicy": {"MinimumLength": 10, "RequireNumbers": True, "RequireLowercase": False,
                                     "RequireUppercase": False, "RequireSymbols": False}})["UserPool"]["Id"]
    for g in ("buyer", "seller"):
        idp.create_group(UserPoolId=pid, GroupName=g)
    cid = idp.create_user_pool_client(UserPoolId=pid, ClientName=CLIENT,
                                      ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
                                      )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pid, Username=USER, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": USER}, {"Name": "name", "Value": "Zoë"}])
    idp.admin_set_user_password(UserPoolId=pid, Username=USER, Password=PASSWORD, Permanent=True)
    idp.admin_add_user_to_group(UserPoolId=pid, Username=USER, GroupName="buyer")
    auth = idp.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": USER, "PASSWORD": PASSWORD})["AuthenticationResult"]

    state = snapshot()
    broken = [k for k, v in state.items() if isinstance(v, dict) and set(v) == {"error"}]
    if broken:
        raise SystemExit(f"cannot read back what was just created: {broken}: {[state[k] for k in broken]}")
    expected = {"state": state, "tokens": {"access": auth["AccessToken"], "refresh": auth["RefreshToken"]},
                "extra_objects": {}}
    with open(args.expected, "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    print(f"created: table {TABLE}, bucket {BUCKET}, queues, bus {BUS}, pool {pid}")


def verify():
    with open(args.expected) as f:
        expected = json.load(f)
    now = snapshot()
    for d in diff(expected["state"], now):
        fail(f"changed across the restart: {d}")

    # Objects put after an earlier restart.
    for key, sha in expected["extra_objects"].items():
        try:
            got = hashlib.sha256(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).hexdigest()
            if got != sha:
                fail(f"s3 object {key}: content differs")
        except Exception as e:  # noqa: BLE001
            fail(f"s3 object {key} put after an earlier restart: {e}")

    # The wiring still works: notification, rule + target, login, old tokens.
    def step(what, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            fail(f"{what} after the restart: {type(e).__name__}: {e}")

    def s3_notification():
        key = f"images/after-restart-{args.run}.bin"
        data = os.urandom(3000)
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        expected["extra_objects"][key] = hashlib.sha256(data).hexdigest()
        wait_for(NOTIFY_Q, s3_event_for(key), "object-created notification after the restart")

    def eventbridge_rule():
        marker = f"restart-{args.run}-{time.time()}"
        r = ev.put_events(Entries=[{"EventBusName": BUS, "Source": "mercado.check", "DetailType": "Check",
                                    "Detail": json.dumps({"marker": marker})}])
        if r.get("FailedEntryCount"):
            fail(f"put_events failed: {r}")
        wait_for(EVENTS_Q, lambda body: marker in body, "EventBridge rule target after the restart")

    def cognito_login():
        idp.initiate_auth(ClientId=client_id(pool_id()), AuthFlow="USER_PASSWORD_AUTH",
                          AuthParameters={"USERNAME": USER, "PASSWORD": PASSWORD})

    def cognito_refresh():
        idp.initiate_auth(ClientId=client_id(pool_id()), AuthFlow="REFRESH_TOKEN_AUTH",
                          AuthParameters={"REFRESH_TOKEN": expected["tokens"]["refresh"]})

    step("s3 put + object-created notification", s3_notification)
    step("EventBridge put_events + rule target", eventbridge_rule)
    step("cognito password login", cognito_login)
    step("cognito access token issued before the restart",
         lambda: idp.get_user(AccessToken=expected["tokens"]["access"]))
    step("cognito refresh token issued before the restart", cognito_refresh)

    with open(args.expected, "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


def touch():
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "user#2"}, "email": {"S": "seller@example.com"}})


def verify_touch():
    verify()
    if "Item" not in ddb.get_item(TableName=TABLE, Key={"pk": {"S": "user#2"}}, ConsistentRead=True):
        fail("the item written before SIGKILL (saved periodically) is missing")


def verify_empty():
    tables = ddb.list_tables()["TableNames"]
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    if tables or buckets:
        fail(f"expected empty state, found tables {tables} and buckets {buckets}")


{"create": create, "verify": verify, "touch": touch, "verify-touch": verify_touch,
 "verify-empty": verify_empty}[args.phase]()
if failures:
    for m in failures:
        print(f"FAIL ({args.phase} {args.run}): {m}", file=sys.stderr)
    sys.exit(1)
PY

stack_log "moto_durable check: port $PORT, state $STATE, python $PY"

check_start
check_log '^moto_durable: starting with empty state \(no state file'
check_py create --run 1
check_stop TERM
check_log '^moto_durable: saved state to .*\(on exit'

for run in 2 3; do
    check_start
    check_log '^moto_durable: restored state from .* \(services: dynamodb, s3, sqs, events, cognito-idp\)$'
    check_py verify --run "$run" || stack_die "start $RUN: state differs after a SIGTERM restart (see above)"
    check_stop TERM
    check_log '^moto_durable: saved state to .*\(on exit'
    stack_log "start $RUN: everything restored and working"
done

# A periodic save survives a crash (SIGKILL: no save on exit).
check_start 1
check_py touch
for ((i = 0; i < 50; i++)); do
    grep -q '^moto_durable: saved state to .*(periodic' "$TMP/moto-$RUN.log" && break
    sleep 0.1
done
check_log '^moto_durable: saved state to .*\(periodic'
check_stop KILL
check_start
check_log '^moto_durable: restored state from '
check_py verify-touch --run "$RUN" || stack_die "start $RUN: state differs after a SIGKILL restart (see above)"
check_stop TERM
stack_log "start $RUN: the periodic save survived SIGKILL"

# An unreadable state file: logged, moved aside, empty start.
printf 'not a pickle' >"$STATE"
check_start
check_log '^moto_durable: starting with empty state: cannot read '
[[ -f "$STATE.unreadable" ]] || stack_die "start $RUN: the unreadable state file was not moved aside"
check_py verify-empty --run "$RUN" || stack_die "start $RUN: not empty after an unreadable state file"
check_stop TERM
stack_log "start $RUN: an unreadable state file means an empty start"

stack_log "moto_durable check passed ($RUN starts, $((SECONDS - T0)) s)"
