// Minimal typings for node-zookeeper-client 1.1.3 (CommonJS, ships no types): only what the
// interop suite uses. Longs in Stat are 8-byte big-endian Buffers, as the library returns them.

declare module 'node-zookeeper-client' {
  namespace zookeeper {
    interface Stat {
      czxid: Buffer;
      mzxid: Buffer;
      ctime: Buffer;
      mtime: Buffer;
      version: number;
      cversion: number;
      aversion: number;
      ephemeralOwner: Buffer;
      dataLength: number;
      numChildren: number;
      pzxid: Buffer;
    }

    class Id {
      constructor(scheme: string, id: string);
      scheme: string;
      id: string;
    }

    class ACL {
      constructor(permission: number, id: Id);
      permission: number;
      id: Id;
      static OPEN_ACL_UNSAFE: ACL[];
      static CREATOR_ALL_ACL: ACL[];
      static READ_ACL_UNSAFE: ACL[];
    }

    class Event {
      static NODE_CREATED: 1;
      static NODE_DELETED: 2;
      static NODE_DATA_CHANGED: 3;
      static NODE_CHILDREN_CHANGED: 4;
      type: number;
      name: string;
      path: string;
      getType(): number;
      getName(): string;
      getPath(): string;
    }

    class State {
      static DISCONNECTED: State;
      static SYNC_CONNECTED: State;
      static AUTH_FAILED: State;
      static CONNECTED_READ_ONLY: State;
      static SASL_AUTHENTICATED: State;
      static EXPIRED: State;
      name: string;
      code: number;
      getName(): string;
      getCode(): number;
    }

    class Exception extends Error {
      static OK: 0;
      static SYSTEM_ERROR: -1;
      static RUNTIME_INCONSISTENCY: -2;
      static CONNECTION_LOSS: -4;
      static MARSHALLING_ERROR: -5;
      static UNIMPLEMENTED: -6;
      static BAD_ARGUMENTS: -8;
      static NO_NODE: -101;
      static NO_AUTH: -102;
      static BAD_VERSION: -103;
      static NO_CHILDREN_FOR_EPHEMERALS: -108;
      static NODE_EXISTS: -110;
      static NOT_EMPTY: -111;
      static SESSION_EXPIRED: -112;
      static INVALID_ACL: -114;
      static AUTH_FAILED: -115;
      code: number;
      path: string | undefined;
      getCode(): number;
      getName(): string;
      getPath(): string | undefined;
    }

    const Permission: { READ: 1; WRITE: 2; CREATE: 4; DELETE: 8; ADMIN: 16; ALL: 31 };
    const CreateMode: { PERSISTENT: 0; PERSISTENT_SEQUENTIAL: 2; EPHEMERAL: 1; EPHEMERAL_SEQUENTIAL: 3 };

    type Watcher = (event: Event) => void;
    type Cb<T extends unknown[]> = (error: Exception | Error | null, ...results: T) => void;

    interface TransactionResult {
      type: number;
      path?: string;
      stat?: Stat;
      err?: number;
    }

    class Transaction {
      create(path: string, data?: Buffer | null, acls?: ACL[], mode?: number): Transaction;
      create(path: string, mode: number): Transaction;
      // NB: NZC maps version 0 to -1 (`version || -1`) in these three.
      setData(path: string, data: Buffer | null, version?: number): Transaction;
      check(path: string, version?: number): Transaction;
      remove(path: string, version?: number): Transaction;
      commit(callback: Cb<[TransactionResult[]]>): void;
    }

    interface ClientOptions {
      sessionTimeout?: number;
      spinDelay?: number;
      retries?: number;
      sessionId?: Buffer;
      sessionPassword?: Buffer;
    }

    class Client {
      connect(): void;
      close(): void;
      getState(): State;
      getSessionId(): Buffer;
      getSessionPassword(): Buffer;
      getSessionTimeout(): number;
      addAuthInfo(scheme: string, auth: Buffer): void;
      create(path: string, callback: Cb<[string]>): void;
      create(path: string, data: Buffer | null | undefined, callback: Cb<[string]>): void;
      create(path: string, data: Buffer | null | undefined, mode: number, callback: Cb<[string]>): void;
      create(path: string, data: Buffer | null | undefined, acls: ACL[], mode: number, callback: Cb<[string]>): void;
      remove(path: string, version: number, callback: Cb<[]>): void;
      /** `data` must be a Buffer: NZC 1.1.3 crashes on null (`data.length`). */
      setData(path: string, data: Buffer, version: number, callback: Cb<[Stat]>): void;
      getData(path: string, watcher: Watcher | undefined, callback: Cb<[Buffer | undefined, Stat]>): void;
      setACL(path: string, acls: ACL[], version: number, callback: Cb<[Stat]>): void;
      getACL(path: string, callback: Cb<[ACL[], Stat]>): void;
      exists(path: string, watcher: Watcher | undefined, callback: Cb<[Stat | null]>): void;
      getChildren(path: string, watcher: Watcher | undefined, callback: Cb<[string[], Stat]>): void;
      mkdirp(path: string, callback: Cb<[string]>): void;
      transaction(): Transaction;
      on(event: 'connected' | 'disconnected' | 'expired' | 'authenticationFailed' | 'connectedReadOnly', listener: () => void): this;
      on(event: 'state', listener: (state: State) => void): this;
      once(event: 'connected' | 'disconnected' | 'expired' | 'authenticationFailed' | 'connectedReadOnly', listener: () => void): this;
      once(event: 'state', listener: (state: State) => void): this;
      removeAllListeners(event?: string): this;
    }

    function createClient(connectionString: string, options?: ClientOptions): Client;
  }
  export = zookeeper;
}
