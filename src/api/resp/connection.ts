/**
 * One RESP client connection: bytes in → parser → a FIFO of commands → backend → replies out, in
 * order, one socket write per batch.
 *
 * Pipelining. Commands run in "waves": a wave is a run of consecutive queued commands (at most
 * maxConcurrentCommandsPerClient) in which no command writes a key that another one reads or
 * writes. A wave's commands are started together (their backend calls overlap, which matters when
 * each is a quorum round trip) and their replies are written in command order. A command that
 * conflicts with the wave, or a barrier (QUIT), starts the next wave. So `SET k v; GET k` in one
 * pipeline always sees the SET, exactly as with Redis's one-at-a-time execution, while
 * `GET a; GET b; SET c` overlap. Connection-state commands (CLIENT SETNAME ...) are synchronous and
 * start in order, so their effects are ordered too.
 *
 * Bounds. Reading pauses while maxPendingRepliesPerClient commands wait for their replies (TCP
 * backpressure; one read of up to 64 KiB can add more before the pause takes effect). A client
 * whose unsent replies exceed maxOutputBufferBytes is disconnected, like Redis's
 * client-output-buffer-limit: it asks for replies faster than it reads them.
 */
import type { Socket } from 'node:net';
import { assert } from '../../core/assert.js';
import type { Clock, Logger } from '../../core/env.js';
import type { RespBackend } from './backend.js';
import { commandErrorReply, lookupCommand, runCommand, type CommandContext, type RespCommand, type RespServerStatus, type RespSession } from './commands.js';
import { RespReplyBuffer, type RespValue } from './encoder.js';
import { RespParser, type RespParserOptions } from './parser.js';

/** Why a client connection ended. */
export type RespCloseReason =
  | 'quit'
  | 'protocol-error'
  | 'output-limit'
  | 'idle-timeout'
  | 'peer-closed'
  | 'server-closing'
  | 'socket-error'
  | 'internal-error';

export interface RespConnectionLimits {
  readonly maxPendingRepliesPerClient: number;
  readonly maxOutputBufferBytes: number;
  readonly maxConcurrentCommandsPerClient: number;
  readonly idleTimeoutMs: number;
  readonly endTimeoutMs: number;
}

export interface RespConnectionDeps {
  readonly backend: RespBackend;
  readonly server: RespServerStatus;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly parserOptions: RespParserOptions;
  readonly limits: RespConnectionLimits;
  /** Called once per executed command batch with the number of commands. */
  readonly onCommandsProcessed: (count: number) => void;
  /** Called once, when the socket has closed. */
  readonly onClosed: (connection: RespConnection, reason: RespCloseReason) => void;
}

/** Replies are written out once this many bytes are buffered, even mid-pipeline. 64 KiB: one socket write's worth. */
const FLUSH_THRESHOLD_BYTES = 64 * 1024;
/** The consumed head of the command queue is compacted away past this many entries. */
const QUEUE_COMPACT_MIN = 1024;

export class RespConnection implements RespSession, CommandContext {
  readonly id: number;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly connectedAtMs: number;
  lastCommandAtMs: number;
  lastCommandName = 'NULL';
  name: string | undefined = undefined;
  libName: string | undefined = undefined;
  libVersion: string | undefined = undefined;
  quitRequested = false;

  readonly backend: RespBackend;
  readonly server: RespServerStatus;
  readonly logger: Logger;
  readonly session: RespSession = this;

  private readonly socket: Socket;
  private readonly deps: RespConnectionDeps;
  private readonly limits: RespConnectionLimits;
  private readonly parser: RespParser;
  private readonly replies = new RespReplyBuffer();

  /** Parsed commands not started yet: queue[queueHead..]. */
  private queue: Buffer[][] = [];
  private queueHead = 0;
  private inFlight = 0;
  private readonly waveArgv: Buffer[][] = [];
  private readonly waveCommands: (RespCommand | undefined)[] = [];
  /** Replies of the current wave by position; undefined while pending. */
  private readonly waveResults: (RespValue | undefined)[] = [];
  private waveSize = 0;
  /** How many of the current wave's replies are in the reply buffer (they are written in order). */
  private waveWritten = 0;
  private readonly waveReadKeys = new Set<number>();
  private readonly waveWriteKeys = new Set<number>();

  private running = false;
  private pausedForBacklog = false;
  /** The parser's error, replied once the commands before it are done. */
  private protocolError: string | undefined = undefined;
  /** The client shut down its sending side: finish what was sent, then end. */
  private peerEnded = false;
  private closeReason: RespCloseReason | undefined = undefined;
  /** We ended our side (QUIT, protocol error, peer ended): nothing more runs. */
  private ending = false;
  private endTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private closed = false;

  constructor(socket: Socket, id: number, deps: RespConnectionDeps) {
    this.socket = socket;
    this.id = id;
    this.deps = deps;
    this.limits = deps.limits;
    this.backend = deps.backend;
    this.server = deps.server;
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.localAddress = `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`;
    this.logger = deps.logger.child({ client: id, addr: this.remoteAddress });
    this.connectedAtMs = deps.clock.now();
    this.lastCommandAtMs = this.connectedAtMs;
    this.parser = new RespParser(deps.parserOptions);

    socket.setNoDelay(true);
    if (this.limits.idleTimeoutMs > 0) {
      socket.setTimeout(this.limits.idleTimeoutMs);
      socket.on('timeout', this.onIdleTimeout);
    }
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('finish', this.onFinish);
  }

  nowMs(): number {
    return this.deps.clock.now();
  }

  /** Closes the connection now, dropping unsent replies. */
  destroy(reason: RespCloseReason): void {
    this.closeReason ??= reason;
    this.socket.destroy();
  }

  /**
   * Ends our side after the replies written so far; nothing more runs. Input is still read (and
   * dropped) so that closing does not reset the connection over unread bytes, which could make
   * the client lose our last reply. The socket is destroyed once the replies are handed to the
   * kernel ('finish'), or after endTimeoutMs if the client does not take them.
   */
  private end(): void {
    this.ending = true;
    this.queue = [];
    this.queueHead = 0;
    this.socket.resume();
    this.socket.end();
    this.endTimer = setTimeout(() => this.destroy(this.closeReason ?? 'peer-closed'), this.limits.endTimeoutMs);
    this.endTimer.unref();
  }

  private readonly onFinish = (): void => {
    if (this.ending) this.socket.destroy();
  };

  private get pendingReplies(): number {
    return this.queue.length - this.queueHead + this.inFlight;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closed || this.ending) return;
    const { commands, protocolError } = this.parser.feed(chunk);
    for (const argv of commands) this.queue.push(argv);
    if (protocolError !== undefined) {
      this.protocolError = protocolError;
      this.socket.pause();
    } else if (!this.pausedForBacklog && this.pendingReplies >= this.limits.maxPendingRepliesPerClient) {
      this.pausedForBacklog = true;
      this.socket.pause();
    }
    if (!this.running) this.pump();
  };

  private readonly onEnd = (): void => {
    if (this.closed || this.ending) return;
    this.peerEnded = true;
    if (!this.running) this.pump();
  };

  private readonly onError = (error: Error): void => {
    // Resets and broken pipes are how clients leave; 'close' follows.
    this.closeReason ??= 'socket-error';
    this.logger.debug({ err: error }, 'RESP client socket error');
  };

  private readonly onIdleTimeout = (): void => {
    if (this.running || this.pendingReplies > 0) return;
    this.logger.debug({ idleTimeoutMs: this.limits.idleTimeoutMs }, 'closing idle RESP client');
    this.destroy('idle-timeout');
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    if (this.endTimer !== undefined) clearTimeout(this.endTimer);
    this.queue = [];
    this.queueHead = 0;
    this.deps.onClosed(this, this.closeReason ?? 'peer-closed');
  };

  /**
   * Runs queued commands wave by wave until the queue is empty. Synchronous: a wave whose replies
   * are all ready continues at once; a wave that waits on the backend returns, and the last of its
   * replies to arrive continues the pump (onAsyncReply). `running` stays true throughout, so there
   * is one pump per connection.
   */
  private pump(): void {
    assert(!this.running, 'one pump per connection');
    assert(!this.ending, 'nothing runs after the connection ended');
    this.running = true;
    this.continuePump();
  }

  private continuePump(): void {
    try {
      for (;;) {
        if (this.closed || this.socket.destroyed) break;
        const count = this.takeWave();
        if (count === 0) {
          this.running = false;
          this.onQueueDrained();
          return;
        }
        this.startWave(count);
        if (this.waveWritten < this.waveSize) return; // onAsyncReply continues
        if (!this.finishWave()) break;
      }
    } catch (error) {
      // Command errors become replies (runCommand, onAsyncReply), so this is a bug in this file:
      // log it loudly, drop this client, keep the node.
      this.logger.error({ err: error }, 'RESP connection failed; closing it');
      this.destroy('internal-error');
    }
    this.running = false;
  }

  private startWave(count: number): void {
    this.waveSize = count;
    this.waveWritten = 0;
    this.inFlight = count;
    this.deps.onCommandsProcessed(count);
    const results = this.waveResults;
    for (let i = 0; i < count; i += 1) {
      const command = this.waveCommands[i];
      this.lastCommandName = command?.name ?? 'unknown';
      const reply = runCommand(this, command, this.waveArgv[i] as Buffer[]);
      if (reply instanceof Promise) {
        results[i] = undefined;
        if (count === 1) {
          // The unpipelined case: pre-bound handlers, no closures.
          reply.then(this.onOnlyReply, this.onOnlyError);
        } else {
          // Handlers are attached at once, so a rejection is never unhandled while an earlier reply is awaited.
          reply.then(
            (value) => this.onAsyncReply(i, value),
            (error: unknown) => this.onAsyncReply(i, commandErrorReply(this, command, error)),
          );
        }
      } else {
        results[i] = reply;
      }
    }
    this.lastCommandAtMs = this.deps.clock.now();
    this.writeReadyReplies();
  }

  /** Writes the wave's replies that are ready, in command order, up to the first one still pending. */
  private writeReadyReplies(): void {
    const results = this.waveResults;
    while (this.waveWritten < this.waveSize) {
      const reply = results[this.waveWritten];
      if (reply === undefined) return;
      this.replies.value(reply);
      this.waveWritten += 1;
    }
  }

  private readonly onOnlyReply = (reply: RespValue): void => this.onAsyncReply(0, reply);
  private readonly onOnlyError = (error: unknown): void => this.onAsyncReply(0, commandErrorReply(this, this.waveCommands[0], error));

  private onAsyncReply(index: number, reply: RespValue): void {
    if (this.closed || this.socket.destroyed || !this.running) return;
    assert(index < this.waveSize, 'a reply belongs to the current wave');
    this.waveResults[index] = reply;
    if (index !== this.waveWritten) return; // an earlier reply is still pending
    try {
      this.writeReadyReplies();
      if (this.waveWritten < this.waveSize) return;
      if (!this.finishWave()) {
        this.running = false;
        return;
      }
    } catch (error) {
      this.running = false;
      this.logger.error({ err: error }, 'RESP connection failed; closing it');
      this.destroy('internal-error');
      return;
    }
    this.continuePump();
  }

  /** After a wave's replies are written: QUIT, flushing, backpressure. False when the connection is ending. */
  private finishWave(): boolean {
    // Drop references to request buffers and replies before the next wave.
    this.waveArgv.length = 0;
    this.waveCommands.length = 0;
    this.waveResults.length = 0;
    this.inFlight = 0;
    this.waveSize = 0;
    this.waveWritten = 0;
    if (this.quitRequested) {
      this.flush();
      this.closeReason ??= 'quit';
      this.end();
      return false;
    }
    const queueEmpty = this.queueHead === this.queue.length;
    if (queueEmpty || this.replies.lengthBytes >= FLUSH_THRESHOLD_BYTES) this.flush();
    if (this.socket.destroyed) return false;
    if (this.pausedForBacklog && this.pendingReplies <= this.limits.maxPendingRepliesPerClient / 2) {
      this.pausedForBacklog = false;
      this.socket.resume();
    }
    return true;
  }

  /** Everything received has been answered: flush, then end if the stream had an error or the peer ended. */
  private onQueueDrained(): void {
    this.flush();
    if (this.closed || this.socket.destroyed) return;
    if (this.protocolError !== undefined) {
      this.logger.debug({ protocolError: this.protocolError }, 'RESP protocol error; closing the connection');
      this.replies.error(this.protocolError);
      this.flush();
      this.closeReason ??= 'protocol-error';
      this.end();
    } else if (this.peerEnded) {
      this.end();
    }
  }

  /** Moves the next wave from the queue into waveArgv / waveCommands; returns its size. */
  private takeWave(): number {
    const available = this.queue.length - this.queueHead;
    if (available === 0) return 0;
    const limit = Math.min(available, this.limits.maxConcurrentCommandsPerClient);
    if (limit > 1) {
      this.waveReadKeys.clear();
      this.waveWriteKeys.clear();
    }
    let count = 0;
    while (count < limit) {
      const argv = this.queue[this.queueHead + count] as Buffer[];
      const command = lookupCommand(argv[0] as Buffer);
      if (command?.access === 'barrier' && count > 0) break;
      if (limit > 1 && command !== undefined && !this.admitKeys(command, argv, count === 0)) break;
      this.waveArgv[count] = argv;
      this.waveCommands[count] = command;
      count += 1;
      if (command?.access === 'barrier') break;
    }
    assert(count >= 1, 'a wave takes at least the first queued command');
    this.queueHead += count;
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead >= QUEUE_COMPACT_MIN && this.queueHead * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return count;
  }

  /**
   * Adds the command's keys to the wave's key sets, unless it conflicts with the wave (a write to a
   * key the wave reads or writes, or a read of a key it writes). The first command never conflicts.
   * Keys are compared by a 32-bit hash of their bytes: a collision only makes two independent
   * commands run one after the other, never the reverse.
   */
  private admitKeys(command: RespCommand, argv: readonly Buffer[], first: boolean): boolean {
    if (command.access !== 'read' && command.access !== 'write') return true;
    const last = command.lastKey < 0 ? argv.length + command.lastKey : Math.min(command.lastKey, argv.length - 1);
    const writes = command.access === 'write';
    if (!first) {
      for (let i = command.firstKey; i <= last; i += command.keyStep) {
        const hash = keyHash(argv[i] as Buffer);
        if (this.waveWriteKeys.has(hash) || (writes && this.waveReadKeys.has(hash))) return false;
      }
    }
    const keys = writes ? this.waveWriteKeys : this.waveReadKeys;
    for (let i = command.firstKey; i <= last; i += command.keyStep) keys.add(keyHash(argv[i] as Buffer));
    return true;
  }

  /**
   * Writes buffered replies to the socket, then disconnects the client if what the socket could not
   * hand to the kernel exceeds its output bound (checked after the write, so the kernel's buffers
   * absorb what they can first, as with Redis).
   */
  private flush(): void {
    if (this.replies.lengthBytes === 0 || this.closed) return;
    const parts = this.replies.take();
    if (parts.length === 1) {
      this.socket.write(parts[0] as Buffer);
    } else {
      this.socket.cork();
      for (const part of parts) this.socket.write(part);
      this.socket.uncork();
    }
    if (this.socket.writableLength > this.limits.maxOutputBufferBytes) {
      this.logger.warn({ maxOutputBufferBytes: this.limits.maxOutputBufferBytes, bufferedBytes: this.socket.writableLength },
        'RESP client output buffer limit reached (the client does not read its replies); disconnecting it');
      this.destroy('output-limit');
    }
  }
}

/** FNV-1a over the key's bytes: cheap, no allocation, good enough to tell a pipeline's keys apart. */
function keyHash(key: Buffer): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) hash = Math.imul(hash ^ (key[i] as number), 0x01000193);
  return hash;
}
