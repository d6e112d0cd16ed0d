# One image for every role; the compose file picks the role with its command
# (`node dist/src/<role>/main.js`, so that SIGTERM reaches Node directly).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
# The dashboard's live page is plain static files, served as they are.
COPY src/dashboard/live-page ./src/dashboard/live-page
USER node
EXPOSE 3000 3001 9464
CMD ["node", "dist/src/producer/main.js"]
