// Serves the built console at / with @fastify/static: hashed assets cached for good, index.html
// never cached, and any other GET that is not an API path answered with index.html so that the
// console's own routes (/records, /operator/channels) load on a refresh.
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

// Paths that belong to the server: an unknown one is the API's 404, never the console's page.
const SERVER_PREFIXES = [
  '/v1',
  '/docs',
  '/healthz',
  '/readyz',
  '/metrics',
  '/openapi.json',
  '/s/',
  '/compat',
  '/2010-04-01',
];

export function isServerPath(url: string): boolean {
  const p = url.split('?', 1)[0]!;
  return SERVER_PREFIXES.some((prefix) =>
    prefix.endsWith('/') ? p.startsWith(prefix) : p === prefix || p.startsWith(`${prefix}/`),
  );
}

export async function registerConsoleRoutes(app: FastifyInstance, { dir }: { dir: string }) {
  await app.register(fastifyStatic, {
    root: dir,
    wildcard: false,
    index: false,
    serveDotFiles: false,
    setHeaders(res, filePath) {
      const immutable = filePath.includes('/assets/');
      res.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const page = (reply: FastifyReply) => reply.header('cache-control', 'no-cache').sendFile('index.html');
  app.get('/', { schema: { hide: true } }, (_request, reply) => page(reply));
  app.get('/*', { schema: { hide: true } }, (request, reply) => {
    if (isServerPath(request.url) || request.url.startsWith('/assets/')) return reply.callNotFound();
    return page(reply);
  });
}
