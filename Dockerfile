# One image for every role; the compose file picks the role with its command
# (`node dist/src/<role>/main.js`, so that SIGTERM reaches Node directly).
# npm ci runs with --ignore-scripts: the package's `prepare` (a build, for installs from git) would run
# before the sources are here; the build is its own step.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json ./packages/client/
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json tsconfig.client.json ./
COPY src ./src
COPY bench ./bench
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json ./packages/client/
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
# The SDK (the CLI's client) is the @chunkmill/client workspace, linked from node_modules.
COPY --from=build /app/packages/client/dist ./packages/client/dist
# The dashboard's live page is plain static files, served as they are.
COPY src/dashboard/live-page ./src/dashboard/live-page
USER node
EXPOSE 3000 3001 9464
CMD ["node", "dist/src/producer/main.js"]
