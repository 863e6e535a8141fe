# syntax=docker/dockerfile:1
# One image definition for the coordinator and the agent (issue 11, packaging). Build from the
# repository root, choosing the service by target:
#   docker build --target coordinator -t tramway-coordinator .
#   docker build --target agent -t tramway-agent .
#   docker build --target build -t tramway-build .   # full dev install + sources: runs the CLI
#
# Stages: `build` (every dependency, `tsc -b` emits dist/*.js for shared and the services),
# `prod-deps` (`npm ci --omit=dev`, better-sqlite3 compiled here where the compilers are), then a
# runtime on node:24-slim with only production dependencies and the built JS, run by `node` (no
# tsx, no TypeScript at run time) under tini as PID 1 so SIGTERM reaches node and stops it cleanly.
#
# The CLI is built in the `build` stage too (services/cli/build.mjs: an esbuild bundle with the
# workspace packages inside; `npm ci`'s prepare step skips it there, the sources not being copied
# yet) and copied into the runtime as `tramway` on the PATH: it runs the bundle (no sources beside
# it, so no tsx), e.g. `docker compose exec coordinator tramway nodes`.

FROM node:24-slim AS base
WORKDIR /app
# python3, make and g++: node-gyp, should better-sqlite3 have no prebuilt binary for this platform
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
# the node image ships Node's headers in /usr/local/include/node: node-gyp compiles against them
# instead of downloading them from nodejs.org (a build then needs only the npm registry)
ENV npm_config_nodedir=/usr/local
# Behind a TLS-intercepting proxy, npm (and better-sqlite3's prebuilt download) needs the proxy's
# CA: pass it as PEM text at build time only, `--build-arg NPM_EXTRA_CA="$(cat proxy-ca.pem)"`.
# `with_ca` writes it to a temporary file for that one command (NODE_EXTRA_CA_CERTS) and removes
# it; the build-arg reaches only the build stages, never the runtime image (it starts afresh FROM
# node:24-slim). Without it, `with_ca` just runs the command.
RUN printf '%s\n' '#!/bin/sh' \
    'if [ -z "$NPM_EXTRA_CA" ]; then exec "$@"; fi' \
    'ca=$(mktemp) && printf "%s\n" "$NPM_EXTRA_CA" > "$ca" && NODE_EXTRA_CA_CERTS="$ca" "$@"; rc=$?; rm -f "$ca"; exit $rc' \
    > /usr/local/bin/with_ca && chmod 755 /usr/local/bin/with_ca
# manifests first so that the npm ci layers are cached while only sources change
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY services/cli/package.json services/cli/
COPY services/agent/package.json services/agent/
COPY services/coordinator/package.json services/coordinator/
COPY services/embedded/package.json services/embedded/
COPY services/console/package.json services/console/

FROM base AS build
ARG NPM_EXTRA_CA=""
RUN with_ca npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY shared shared
COPY services services
COPY migrations migrations
COPY examples examples
# the console the coordinator serves at /ui (services/console/dist), before the CLI bundle that
# carries it (npm ci's prepare skipped both: the sources were not copied yet)
RUN npm run build:console
RUN npx tsc -b shared services/cli services/agent services/coordinator services/embedded \
  && node services/cli/build.mjs

FROM base AS prod-deps
ARG NPM_EXTRA_CA=""
RUN with_ca npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-slim AS runtime
# tini as PID 1: forwards SIGTERM/SIGINT to node and reaps children. TINI_SUBREAPER lets it also
# run under an outer init (compose `init: true`, `docker run --init`) without complaint.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production TINI_SUBREAPER=1
WORKDIR /app
# production node_modules (workspace links included) and the manifests they were installed from
COPY --from=prod-deps /app ./
# the built JS, beside what it reads at run time relative to itself: the SQL migrations, the
# agent's bundled sim kernels and the example fleet's kernels
COPY --from=build /app/shared/dist shared/dist
COPY --from=build /app/services/agent/dist services/agent/dist
COPY --from=build /app/services/coordinator/dist services/coordinator/dist
COPY --from=build /app/services/embedded/dist services/embedded/dist
COPY --from=build /app/services/console/dist services/console/dist
COPY --from=build /app/services/cli/bin services/cli/bin
COPY --from=build /app/services/cli/bundle services/cli/bundle
COPY services/agent/sim-kernels services/agent/sim-kernels
COPY migrations migrations
COPY examples examples
# the state volume (SQLite log / agent pins) must be writable by the unprivileged user; the CLI
# as `tramway` (node resolves the link, so the bin finds its bundle beside it)
RUN mkdir -p /var/lib/tramway/agent && chown -R node:node /var/lib/tramway \
  && ln -s /app/services/cli/bin/tramway.js /usr/local/bin/tramway
USER node
ENTRYPOINT ["/usr/bin/tini", "--"]

FROM runtime AS agent
CMD ["node", "services/agent/dist/main.js"]

# last, so that a plain `docker build .` gives the coordinator
FROM runtime AS coordinator
EXPOSE 7070
CMD ["node", "services/coordinator/dist/main.js"]
