/**
 * Test helper: a minimal RESP2 reply decoder (the server's parser reads requests, not replies).
 * Non-incremental: `readReply` returns undefined until the buffer holds a whole reply.
 */

/** An error reply, kept apart from simple strings. */
export class ReplyError {
  constructor(readonly message: string) {}
}

/** Simple strings as string, errors as ReplyError, integers as number, bulk as Buffer | null, arrays as Reply[] | null. */
export type Reply = string | ReplyError | number | Buffer | null | Reply[];

export function readReply(bytes: Buffer, start = 0): { reply: Reply; next: number } | undefined {
  if (start >= bytes.length) return undefined;
  const lineEnd = bytes.indexOf('\r\n', start);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(bytes[start] as number);
  const text = bytes.toString('utf8', start + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case '+':
      return { reply: text, next: afterLine };
    case '-':
      return { reply: new ReplyError(text), next: afterLine };
    case ':':
      return { reply: Number(text), next: afterLine };
    case '$': {
      const length = Number(text);
      if (length < 0) return { reply: null, next: afterLine };
      if (bytes.length < afterLine + length + 2) return undefined;
      return { reply: bytes.subarray(afterLine, afterLine + length), next: afterLine + length + 2 };
    }
    case '*': {
      const count = Number(text);
      if (count < 0) return { reply: null, next: afterLine };
      const items: Reply[] = [];
      let next = afterLine;
      for (let i = 0; i < count; i += 1) {
        const item = readReply(bytes, next);
        if (item === undefined) return undefined;
        items.push(item.reply);
        next = item.next;
      }
      return { reply: items, next };
    }
    default:
      throw new Error(`not a RESP reply: type byte ${JSON.stringify(type)}`);
  }
}

/** Reads every whole reply in `bytes`; returns them and the number of bytes consumed. */
export function readReplies(bytes: Buffer): { replies: Reply[]; consumed: number } {
  const replies: Reply[] = [];
  let consumed = 0;
  for (;;) {
    const item = readReply(bytes, consumed);
    if (item === undefined) return { replies, consumed };
    replies.push(item.reply);
    consumed = item.next;
  }
}

/** Replies with Buffers turned into strings, for readable assertions. */
export function printable(reply: Reply): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (reply instanceof ReplyError) return { error: reply.message };
  if (Array.isArray(reply)) return reply.map(printable);
  return reply;
}
