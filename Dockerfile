# linc-ts container image.
#
#   build stage: python3, make and g++ for node-gyp; `npm ci` builds the native
#                addon (build/Release/linc_native.node) and the TypeScript (dist/).
#   runtime:     node, the production node_modules, dist/ and the addon.
#
# Run it with the rights a switch needs and the host's network (or a namespace
# of its own):
#   podman run --rm --cap-add NET_ADMIN --cap-add NET_RAW --device /dev/net/tun \
#     --network host linc-ts run --port tap:linc0 --port tap:linc1
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json binding.gyp tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE_IMAGE}
WORKDIR /opt/linc-ts
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/Release/linc_native.node ./build/Release/linc_native.node
ENTRYPOINT ["node", "/opt/linc-ts/dist/src/cli.js"]
CMD ["run"]
