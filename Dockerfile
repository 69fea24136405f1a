# linc-ts container image.
#
#   build stage: python3, make and g++ for node-gyp; the npm dependencies, then
#                the native addon (build/Release/linc_native.node) and the
#                TypeScript (dist/src), then the dev dependencies pruned away.
#   runtime:     the base image's node, the production node_modules,
#                dist/src, the addon, package.json and binding.gyp (how the CLI
#                finds its package root). No compiler, no sources, no tests.
#
# Entrypoint: `linc-ts` (/usr/local/bin/linc-ts -> /opt/linc-ts/dist/src/cli.js);
# the default command is `run` (a learning switch between TAPs linc0 and linc1).
# A switch needs CAP_NET_ADMIN (TAPs, link state), CAP_NET_RAW (AF_PACKET ports),
# /dev/net/tun, and the network its ports live in (the host's, or a namespace):
#
#   podman run --rm --cap-add NET_ADMIN --cap-add NET_RAW --device /dev/net/tun \
#     --network host linc-ts run --port tap:linc0 --port tap:linc1
#
# BASE_IMAGE may be overridden (--build-arg BASE_IMAGE=...) with any Debian
# bookworm image that has Node.js 20 and its headers under /usr/local.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# The node image ships Node's headers under /usr/local/include/node: node-gyp
# uses them instead of downloading a header tarball.
ENV npm_config_nodedir=/usr/local
WORKDIR /src
# Dependencies first (a layer that survives source edits). Only the package
# itself has an install script (node-gyp), and it needs the sources: skipped here.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY binding.gyp tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE_IMAGE}
ENV NODE_ENV=production
WORKDIR /opt/linc-ts
COPY --from=build /src/package.json /src/binding.gyp ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/build/Release/linc_native.node ./build/Release/linc_native.node
RUN chmod 0755 dist/src/cli.js \
 && ln -s /opt/linc-ts/dist/src/cli.js /usr/local/bin/linc-ts
ENTRYPOINT ["linc-ts"]
CMD ["run"]
