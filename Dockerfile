# mercado's server image: the release binary and the built web client on Debian slim.
#
#   docker build -t mercado .
#   docker run -p 8080:8080 -e DATABASE_URL=postgres://… mercado          # mercado serve
#   docker run -e DATABASE_URL=postgres://… mercado migrate                # any other command
#
# Configuration is the MERCADO_* environment of README.md; deploy/cdk runs this image on ECS.

ARG RUST_IMAGE=rust:1.94-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- the web client (web-client/app: Preact + Vite) --------------------------------------
FROM ${NODE_IMAGE} AS web
WORKDIR /src/web-client/app
COPY web-client/app/package.json web-client/app/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web-client/app/ ./
# Writes dist/ with hashed assets, their .br/.gz twins and trusted-documents.json.
RUN npm run build

# ---- the server ---------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS server
WORKDIR /src
# Dependencies first, built against stub sources: this layer is reused until Cargo.toml,
# resolvers/Cargo.toml or Cargo.lock change, so a source edit recompiles only mercado.
COPY Cargo.toml Cargo.lock ./
COPY resolvers/Cargo.toml resolvers/
RUN mkdir -p src resolvers/src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs resolvers/src/lib.rs \
 && cargo build --release --locked --bin mercado \
 && rm -rf src resolvers/src
COPY resolvers resolvers
COPY src src
# Compiled in: the migrations (sqlx::migrate!) and GraphiQL (include_bytes! in src/http/assets.rs).
COPY migrations migrations
COPY web-client/graphiql web-client/graphiql
# COPY keeps the files' own (older) mtimes; touch them so cargo rebuilds over the stubs.
RUN touch src/main.rs src/lib.rs resolvers/src/lib.rs \
 && cargo build --release --locked --bin mercado \
 && install -m 0755 target/release/mercado /usr/local/bin/mercado

# ---- runtime ------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
# ca-certificates: TLS to AWS, Cognito's JWKS and OpenSearch uses the system roots. Not
# pinned to a version: bookworm's security updates replace it, and the pin would break.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 mercado \
 && useradd --system --uid 10001 --gid mercado --home-dir /var/lib/mercado --create-home \
      --shell /usr/sbin/nologin mercado
# The health check: GET /healthz with bash alone (the image has no curl or wget), on the port
# of MERCADO_LISTEN_ADDR. ECS runs the same script as the container's health check. The
# single quotes are deliberate: the script expands its variables when it runs.
# hadolint ignore=SC2016
RUN printf '%s\n' \
      '#!/bin/bash' \
      '# Exits 0 when mercado answers GET /healthz with 200.' \
      'addr="${MERCADO_LISTEN_ADDR:-0.0.0.0:8080}"' \
      'exec 3<>"/dev/tcp/127.0.0.1/${addr##*:}" || exit 1' \
      'printf "GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3' \
      'IFS= read -r -t 5 status <&3 || exit 1' \
      '[[ "$status" == "HTTP/1."[01]" 200"* ]]' \
    > /usr/local/bin/mercado-healthcheck \
 && chmod 0755 /usr/local/bin/mercado-healthcheck
COPY --from=server /usr/local/bin/mercado /usr/local/bin/mercado
COPY --from=web /src/web-client/app/dist /usr/share/mercado/web
# Relative defaults (web-client/app/dist, .mercado, .mercado/search) made absolute; the
# search index and the local issuer's key live under the user's home.
ENV MERCADO_WEB_ROOT=/usr/share/mercado/web \
    MERCADO_DATA_DIR=/var/lib/mercado/data \
    MERCADO_SEARCH_DIR=/var/lib/mercado/search \
    MERCADO_LISTEN_ADDR=0.0.0.0:8080
USER 10001:10001
WORKDIR /var/lib/mercado
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/mercado-healthcheck"]
ENTRYPOINT ["mercado"]
CMD ["serve"]
