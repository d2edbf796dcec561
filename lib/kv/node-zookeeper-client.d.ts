/** The slice of node-zookeeper-client (untyped upstream) that lib/kv/zookeeper.ts uses. */
declare module 'node-zookeeper-client' {
  import { EventEmitter } from 'node:events';

  export interface Stat {
    /** Session id owning an ephemeral node (8 bytes; all zero for persistent nodes). */
    ephemeralOwner: Buffer;
    version: number;
  }

  export class Event {
    getType(): number;
    getName(): string;
    getPath(): string;
    static NODE_CREATED: number;
    static NODE_DELETED: number;
    static NODE_DATA_CHANGED: number;
    static NODE_CHILDREN_CHANGED: number;
  }

  export class Exception extends Error {
    getCode(): number;
    static NO_NODE: number;
    static NODE_EXISTS: number;
    static NOT_EMPTY: number;
    static CONNECTION_LOSS: number;
    static SESSION_EXPIRED: number;
  }

  export const CreateMode: { PERSISTENT: number; EPHEMERAL: number };

  type Callback<T> = (error: Exception | Error | null, result: T) => void;
  type Watcher = (event: Event) => void;

  export interface Client extends EventEmitter {
    connect(): void;
    close(): void;
    getSessionId(): Buffer;
    /** The session timeout the server granted (ms). */
    getSessionTimeout(): number;
    create(path: string, data: Buffer | null, mode: number, callback: Callback<string>): void;
    remove(path: string, version: number, callback: (error: Exception | Error | null) => void): void;
    exists(path: string, watcher: Watcher | undefined, callback: Callback<Stat | null>): void;
    getChildren(path: string, watcher: Watcher | undefined, callback: (error: Exception | Error | null, children: string[], stat: Stat) => void): void;
    getData(path: string, watcher: Watcher | undefined, callback: (error: Exception | Error | null, data: Buffer | null, stat: Stat) => void): void;
    setData(path: string, data: Buffer | null, version: number, callback: Callback<Stat>): void;
    mkdirp(path: string, data: Buffer | null, mode: number, callback: Callback<string>): void;
  }

  export function createClient(connectionString: string, options?: { sessionTimeout?: number; spinDelay?: number; retries?: number }): Client;
}
