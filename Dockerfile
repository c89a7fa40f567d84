# partd image: build on bookworm with the -dev packages, ship only the
# runtime libraries and the binary (it embeds its SQL and OpenAPI document).
#
#   docker build -t partd .
#   docker run -e DATABASE_URL=postgresql://... -p 8080:8080 partd

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential pkg-config \
        libmicrohttpd-dev libjansson-dev libpq-dev libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make bin/partd

FROM debian:bookworm-slim
# curl is for the HEALTHCHECK; ca-certificates for TLS to the database.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmicrohttpd12 libjansson4 libpq5 libssl3 zlib1g ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
# A fixed, non-root uid so that volume and Kubernetes securityContext
# settings can name it.
RUN useradd --system --uid 10001 --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin partd
COPY --from=build /src/bin/partd /usr/local/bin/partd
# For reference only: the binary serves its embedded copy at /openapi.yaml.
COPY --from=build /src/openapi /usr/share/partd/openapi
USER partd
# Inside a container the service must listen beyond loopback; the default
# (127.0.0.1:8080) suits a process on a host.
ENV PARTD_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/partd"]
