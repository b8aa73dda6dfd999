# syntax=docker/dockerfile:1
# traffic-import — multi-stage image.
#   build:   dev dependencies, TypeScript → dist/
#   deps:    production dependencies only (npm ci --omit=dev); better-sqlite3 compiled here, with the
#            toolchain, so the runtime stage needs none
#   runtime: slim Node 20, non-root user `node`, ENTRYPOINT node dist/cli.js. Node as PID 1 gets no default
#            signal handling: run with `docker run --init` (compose: `init: true`), so an init reaps and
#            forwards SIGTERM; the CLI also handles SIGTERM/SIGINT itself.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
# `prepare` runs tsc after the install.
RUN npm ci

FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts skips our own `prepare` (tsc is a dev dependency); the one native module is then built.
RUN npm ci --omit=dev --ignore-scripts \
 && npm rebuild better-sqlite3 \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TZ=UTC
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY package.json ./
COPY samples ./samples
COPY pipelines ./pipelines
# State (ledger, locks) lives in a volume owned by the unprivileged user.
RUN mkdir -p /state && chown node:node /state
VOLUME ["/state"]
USER node
ENTRYPOINT ["node","dist/cli.js"]
CMD ["--help"]
