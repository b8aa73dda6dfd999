# syntax=docker/dockerfile:1
# traffic-import — multi-stage image (checked for real by scripts/image-check.sh: `npm run image:check`).
#   build:   dev dependencies, TypeScript → dist/ (no native build needed for tsc: --ignore-scripts)
#   deps:    production dependencies only (npm ci --omit=dev); better-sqlite3 compiled here with the toolchain,
#            then everything but its compiled addon removed (sources, objects, Makefiles: ~28 MB)
#   runtime: slim Node 20, non-root user `node`, ENTRYPOINT node dist/cli.js. The CLI is fit to be PID 1 (no
#            --init needed, as under Kubernetes): it handles SIGTERM/SIGINT itself and starts no child processes.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts skips our own `prepare` (tsc is a dev dependency); the one native module is then built and
# stripped to the addon it loads (bindings looks in build/Release/).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 \
 && cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node /tmp/ \
 && rm -rf build deps src binding.gyp \
 && mkdir -p build/Release && mv /tmp/better_sqlite3.node build/Release/ \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TZ=UTC \
    TRAFFIC_IMPORT_STATE=/state
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY package.json ./
COPY samples ./samples
COPY pipelines ./pipelines
# State (ledgers, locks, run records) lives in a volume the unprivileged user owns; TRAFFIC_IMPORT_STATE points
# every command at it (a pipeline's own state.path is ignored then, see docs/operations.md).
RUN mkdir -p /state && chown node:node /state
VOLUME ["/state"]
USER node
ENTRYPOINT ["node","dist/cli.js"]
CMD ["--help"]
