# A container image of astldap (see docs/operations.md). Build: docker build -t astldap .
# Run: docker run -p 1389:1389 -p 1636:1636 -p 8200:8200 -v astldap-data:/data astldap
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json config.yaml ./
COPY schema ./schema
COPY data/seed.ldif ./data/seed.ldif
COPY data/examples ./data/examples
COPY data/asterisk ./data/asterisk
COPY contrib/container.yaml /etc/astldap/config.yaml
# The data directory (database, ldapi socket, root token, development certificate).
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
VOLUME ["/data"]
USER node
# The ports of config.yaml: ldap 1389, ldaps 1636, the admin API 8200.
EXPOSE 1389 1636 8200
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--max-semi-space-size=8", "/app/dist/cli/main.js"]
CMD ["serve", "--config", "/etc/astldap/config.yaml", "--data", "/data"]
