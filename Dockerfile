# One image for every role; the compose file picks the role with its command
# (`node dist/src/<role>/main.js`, so that SIGTERM reaches Node directly).
# npm ci runs with --ignore-scripts: the package's `prepare` (a build, for installs from git) would run
# before the sources are here; the build is its own step.

# The package manifests alone (every package.json and the lock file, workspaces' included without naming
# them): the `npm ci` layers below are rebuilt only when these change, not on every change to the sources.
FROM node:20-bookworm-slim AS manifests
WORKDIR /app
COPY . .
RUN find . ! -type d ! -name package.json ! -name package-lock.json -delete && find . -depth -type d -empty -delete

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY --from=manifests /app ./
# No install scripts (a `prepare` that builds would run before the sources are here): the build is the step below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=manifests /app ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The SDK (the CLI's client) is the @chunkmill/client workspace, linked from node_modules.
COPY --from=build /app/packages/client/dist ./packages/client/dist
# The dashboard's live page is plain static files, served as they are.
COPY src/dashboard/live-page ./src/dashboard/live-page
USER node
EXPOSE 3000 3001 9464
# `docker ps` shows health from the compose file's healthchecks (each role's /readyz).
CMD ["node", "dist/src/producer/main.js"]
