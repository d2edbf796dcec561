# The swarm-ts image for machines that can pull from a registry:
#   docker build --build-arg GIT_COMMIT=$(git rev-parse --short HEAD) -t swarm-ts .
# Without a registry, `npm run image` builds the same interface FROM scratch (scripts/image.ts).
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ARG GIT_COMMIT=HEAD
RUN SWARM_GIT_COMMIT=$GIT_COMMIT npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf dist/test dist/testbed dist/bench dist/scripts \
 && find dist -name '*.map' -delete

FROM node:20-slim
ENV NODE_ENV=production SWARM_HOST=:2375
WORKDIR /swarm-ts
COPY --from=build /src/package.json ./
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist ./dist
COPY --from=build /src/node_modules ./node_modules
RUN ln -s /swarm-ts/bin/swarm /swarm
EXPOSE 2375
# node is PID 1 and swarm handles SIGTERM itself, so `docker stop` is immediate.
ENTRYPOINT ["/swarm"]
CMD ["--help"]
