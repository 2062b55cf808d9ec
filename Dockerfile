# process-simulator image: Node.js 24 runs the TypeScript sources directly (type
# stripping), so there is no compile step for them; only the C worker that every
# simulated process runs is compiled, in the build stage, where the compiler stays.

FROM node:24-slim AS build
# The worker is a small C program; gcc and the libc headers are needed only here.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Dependencies first, in their own layer: it is rebuilt only when the lockfile
# changes. No production dependency has an install script, so skipping scripts
# only defers the project's own postinstall (the worker build) to below.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY . .
# build-worker only warns when compilation fails (a host install then falls back
# to the Node worker, ~40 MB per process); an image must not ship that silently.
RUN npm run build:worker && test -x build/ps-worker && test -x build/ps-launcher

FROM node:24-slim
WORKDIR /app
# Same base image as the build stage, so a dynamically linked worker (when no
# static libc was available) finds the glibc it was built against.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/src ./src
COPY --from=build /app/build ./build
# Inside a container the control API must listen beyond loopback to be reachable
# through a published port, so the simulator refuses to start without API_TOKEN
# (docker run -e API_TOKEN=... -p 8090:8090), unless told the port is published
# on loopback only (-e API_ALLOW_UNAUTHENTICATED=true -p 127.0.0.1:8090:8090),
# as docker-compose.yml does.
ENV CONTROL_HOST=0.0.0.0
# glibc malloc: blocks of 128 KiB or more mapped on their own, see bin/process-simulator.js.
ENV MALLOC_MMAP_THRESHOLD_=131072
# Prometheus /metrics and the control API (DEFAULT_METRICS_PORT, DEFAULT_CONTROL_PORT).
EXPOSE 8888 8090
# The simulated processes run as this user too: nothing here needs root.
USER node
# slim images carry no curl; Node's fetch does the probe. CONTROL_PORT is
# honoured so a moved API stays healthy.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CONTROL_PORT || 8090) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--max-semi-space-size=16", "--heap-growing-percent=50", "--liftoff-only", "src/main.ts"]
