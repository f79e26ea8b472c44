#!/usr/bin/env bash
# scripts/dev as a user runs it, restarted twice: what was made before is all still there.
#
#   scripts/lib/dev_restart_check.sh      # ~2 min once the server and web client are built
#
# Runs scripts/dev three times against a state dir, database and ports of its own (so a dev
# server of yours is left alone). The first run creates a product, a profile, an order and an
# uploaded image and checks the log names the EventBridge bus; each of the two restarts
# finds all four again (the image's bytes served back) and the local AWS state restored
# rather than rebuilt. Exits non-zero naming what is missing.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$STACK_ROOT"

_stack_ensure_moto_python # the venv of the usual state dir: no second moto install
stack_postgres            # for dropping the check's database before and after
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mercado-dev-restart.XXXXXX")
PORT=$(stack_free_port)
BASE="http://127.0.0.1:$PORT"
DEV_PID=""
MERCADO_AWS_PORT=$(stack_free_port)
export STACK_MOTO_PYTHON MERCADO_AWS_PORT
export MERCADO_STATE_DIR="$TMP/state" MERCADO_DEV_DB=mercado_dev_restart_check
export MERCADO_LISTEN_ADDR="127.0.0.1:$PORT" MERCADO_DATA_DIR="$TMP/data" MERCADO_SEARCH_DIR="$TMP/search"
unset MERCADO_BUS MERCADO_QUEUE_URL MERCADO_IMAGE_QUEUE_URL MERCADO_SEARCH_QUEUE_URL AWS_ENDPOINT_URL
stack_drop_database "$MERCADO_DEV_DB"

cleanup() {
    if [[ -n "$DEV_PID" ]]; then
        kill -TERM "$DEV_PID" 2>/dev/null || true
        wait "$DEV_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
stack_traps cleanup

fail() {
    echo "dev restart check FAILED: $*" >&2
    echo "--- last lines of the run's log:" >&2
    tail -n 30 "$TMP/dev-$RUN.log" >&2 || true
    exit 1
}

RUN=0
start() {
    RUN=$((RUN + 1))
    setsid scripts/dev >"$TMP/dev-$RUN.log" 2>&1 </dev/null &
    DEV_PID=$!
    local i
    for ((i = 0; i < 600; i++)); do
        curl -fs -m 2 "$BASE/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$DEV_PID" 2>/dev/null || fail "run $RUN: scripts/dev exited"
        sleep 0.5
    done
    fail "run $RUN: not ready within 5 minutes"
}

stop() {
    kill -TERM "$DEV_PID"
    wait "$DEV_PID" || true
    DEV_PID=""
}

# gql TOKEN QUERY [VARIABLES_JSON] → the response body
gql() {
    local body vars=${3:-}
    [[ -n "$vars" ]] || vars='{}'
    body=$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1], "variables": json.loads(sys.argv[2])}))' "$2" "$vars")
    curl -fsS -m 20 "$BASE/graphql" -H 'content-type: application/json' \
        -H "authorization: Bearer $1" -d "$body"
}

# field JSON PATH (dot-separated) → the value, or empty
field() {
    python3 -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else (v or {}).get(k)
print("" if v is None else v)' "$1" "$2"
}

MERCADO_BIN="$CARGO_TARGET_DIR/debug/mercado"
start
grep -q "bus=Eventbridge" "$TMP/dev-1.log" || fail "the log does not show the EventBridge bus"
SELLER=$(MERCADO_DATA_DIR="$TMP/data" "$MERCADO_BIN" dev-token --sub restart-seller --role seller)
BUYER=$(MERCADO_DATA_DIR="$TMP/data" "$MERCADO_BIN" dev-token --sub restart-buyer --role buyer)

created=$(gql "$SELLER" 'mutation($i: CreateProductInput!) { createProduct(input: $i) { id variants { id } } }' \
    '{"i": {"name": "Kept lamp", "category": "lighting", "variants": [{"sku": "KEPT", "price": {"amount": 1200, "currency": "EUR"}, "onHand": 4}]}}')
PRODUCT=$(field "$created" data.createProduct.id)
VARIANT=$(field "$created" data.createProduct.variants.0.id)
[[ -n "$PRODUCT" && -n "$VARIANT" ]] || fail "createProduct: $created"
profile=$(gql "$BUYER" 'mutation { updateMyProfile(input: {displayName: "Kept Kim"}) { profile { displayName } } }')
[[ $(field "$profile" data.updateMyProfile.profile.displayName) == "Kept Kim" ]] || fail "updateMyProfile: $profile"
placed=$(gql "$BUYER" 'mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }' \
    '{"i": {"items": [{"variantId": "'"$VARIANT"'", "quantity": 1}], "paymentToken": "tok_approve", "idempotencyKey": "kept",
      "shippingAddress": {"name": "Kim", "line1": "1 Main St", "city": "Lisbon", "postalCode": "1000-001", "country": "PT"}}}')
ORDER=$(field "$placed" data.placeOrder.id)
[[ -n "$ORDER" ]] || fail "placeOrder: $placed"
upload=$(gql "$SELLER" 'mutation($id: ID!) { requestProductImageUpload(productId: $id, contentType: "image/png", contentLength: 12) { url } }' \
    '{"id": "'"$PRODUCT"'"}')
URL=$(field "$upload" data.requestProductImageUpload.url)
[[ -n "$URL" ]] || fail "requestProductImageUpload: $upload"
printf 'kept image!\n' | curl -fsS -X PUT -H 'content-type: image/png' --data-binary @- "$URL" >/dev/null ||
    fail "the image PUT failed"

# kept RUN: everything made above is there (retrying while the first run's work settles).
kept() {
    local i answer image status
    for ((i = 0; i < 100; i++)); do
        answer=$(gql "$BUYER" 'query($p: ID!, $o: ID!) { product(id: $p) { name imageUrl } me { profile { displayName } } order(id: $o) { status } }' \
            '{"p": "'"$PRODUCT"'", "o": "'"$ORDER"'"}' || true)
        image=$(field "$answer" data.product.imageUrl 2>/dev/null || true)
        status=$(field "$answer" data.order.status 2>/dev/null || true)
        if [[ $(field "$answer" data.product.name 2>/dev/null) == "Kept lamp" &&
            $(field "$answer" data.me.profile.displayName 2>/dev/null) == "Kept Kim" &&
            "$status" == CONFIRMED && -n "$image" ]] &&
            [[ $(curl -fsS "$BASE$image") == "kept image!" ]]; then
            echo "run $RUN: product, profile, order ($status) and image all there"
            return 0
        fi
        sleep 0.2
    done
    fail "run $RUN: missing something: $answer"
}
kept
stop

for _ in 1 2; do
    start
    grep -q "moto: state restored from" "$TMP/dev-$RUN.log" || fail "run $RUN: the local AWS state was not restored"
    kept
    stop
done
stack_drop_database "$MERCADO_DEV_DB"
echo "dev restart check passed ($RUN runs of scripts/dev)"
