# The phaseflow worker image (docker-compose.yml's phaseflow-worker service).
FROM node:20-bookworm-slim

# Agents work in git checkouts; ca-certificates for HTTPS to the Anthropic and GitHub APIs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first so they stay cached while the sources change. `prepare` (= build) needs the
# sources, so lifecycle scripts wait; the build runs explicitly below.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev --ignore-scripts

# The named volume mounted here takes this ownership on first use.
RUN mkdir -p /workspace && chown node:node /workspace
ENV NODE_ENV=production
# A bounded heap makes V8 collect instead of growing: ~330 MB peak RSS for a 10,000-task epic.
ENV NODE_OPTIONS=--max-old-space-size=256
USER node
CMD ["node", "bin/phaseflow.js", "worker"]
