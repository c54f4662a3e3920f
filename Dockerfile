# syntax=docker/dockerfile:1
# Portcullis image: built from a packed release of this repository, production dependencies
# only, running as a non-root user. Configuration comes from a volume mounted at /config
# (PORTCULLIS_CONFIG=/config/portcullis.yaml); the credential store lives in the /data volume.

ARG NODE_IMAGE=node:26-bookworm
ARG NODE_RUNTIME_IMAGE=node:26-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY config ./config
COPY docs/portcullis.schema.json ./docs/portcullis.schema.json
RUN npx tsc -p tsconfig.json && npm pack --ignore-scripts && mv portcullis-*.tgz /portcullis.tgz

# better-sqlite3 is native: install in an image with a compiler, copy the result.
FROM ${NODE_IMAGE} AS install
WORKDIR /app
COPY --from=build /portcullis.tgz /tmp/portcullis.tgz
RUN npm init -y >/dev/null && npm install --omit=dev --no-audit --no-fund /tmp/portcullis.tgz

FROM ${NODE_RUNTIME_IMAGE}
ENV NODE_ENV=production \
    PORTCULLIS_CONFIG=/config/portcullis.yaml
WORKDIR /app
COPY --from=install /app/node_modules ./node_modules
RUN mkdir -p /config /data && chown node:node /data
USER node
VOLUME ["/config", "/data"]
EXPOSE 8443 9090 9091
# /healthz is on the metrics listener; the mounted config must bind it where this can reach it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORTCULLIS_METRICS_PORT||9090)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "/app/node_modules/portcullis/dist/src/cli/main.js"]
CMD ["start"]
