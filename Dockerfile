# Builds and runs one shard. On its own it runs the embedded defaults, data in /data (mount
# a volume); docker-compose.yml runs three of them in the distributed mode.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.js scripts/build-web.js ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production DATA_DIR=/data PORT=8080
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY scripts/healthcheck.js ./scripts/
RUN mkdir -p /data && chown node:node /data
USER node
# HTTP (REST, /ws, /lp, MQTT over WebSocket at /mqtt) and MQTT over TCP (MQTT_PORT's default).
EXPOSE 8080 1883
VOLUME ["/data"]
STOPSIGNAL SIGTERM
# Liveness: /healthz answers while the process serves. Not /readyz: a shard whose store is
# down is not ready, but restarting it would not bring the store back (docker-compose.yml
# waits on /readyz instead, for the start order and the load balancer).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["node", "scripts/healthcheck.js", "/healthz"]
CMD ["node", "dist/main.js"]
