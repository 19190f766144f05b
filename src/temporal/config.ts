/**
 * Where the Temporal server is, from the environment, and connections to it. The same variables
 * are read by the CLI, the worker and the tests (whose global fixture sets them).
 */
import { Client, Connection, OperatorService } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { ALL_SEARCH_ATTRIBUTES } from '../domain/search-attributes';

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
}

export function temporalConfig(env: NodeJS.ProcessEnv = process.env): TemporalConfig {
  return {
    address: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.PHASEFLOW_TASK_QUEUE || 'phaseflow',
  };
}

/** A client for the configured server and namespace; close it with `client.connection.close()`. */
export async function connectClient(config: TemporalConfig = temporalConfig()): Promise<Client> {
  const connection = await Connection.connect({ address: config.address });
  return new Client({ connection, namespace: config.namespace });
}

/** The worker-side (Rust core) connection for the configured server. */
export async function connectNative(config: TemporalConfig = temporalConfig()): Promise<NativeConnection> {
  return NativeConnection.connect({ address: config.address });
}

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;

const INDEXED_TYPE: Record<SearchAttributeType, temporal.api.enums.v1.IndexedValueType> = {
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Registers phaseflow's search attributes that `namespace` lacks, on a server we did not start
 * (the dev server gets them as start flags). Idempotent; returns the names it added. A name that
 * exists with another type is an error: workflows would fail to upsert it.
 */
export async function ensureSearchAttributes(
  connection: { operatorService: OperatorService },
  namespace: string,
): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const custom = existing.customAttributes ?? {};
  const missing: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const key of ALL_SEARCH_ATTRIBUTES) {
    const want = INDEXED_TYPE[key.type];
    const have = custom[key.name];
    if (have === undefined || have === null) missing[key.name] = want;
    else if (have !== want) {
      throw new Error(
        `search attribute ${key.name} exists in namespace ${namespace} with type ` +
          `${IndexedValueType[have]}, phaseflow needs ${IndexedValueType[want]}`,
      );
    }
  }
  const names = Object.keys(missing);
  if (names.length > 0) {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  }
  return names;
}
