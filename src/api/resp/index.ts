/** The RESP2 (Redis protocol) port: public entry of src/api/resp. */
export { RespServer, type RespServerOptions, type RespClientClosedEvent } from './server.js';
export type { RespCloseReason } from './connection.js';
export { type RespBackend, type RespSetOptions, MapRespBackend, type MapRespBackendOptions } from './backend.js';
export { RespParser, type RespParserOptions, type RespParseResult, RespProtocolErrors } from './parser.js';
export { RespReplyBuffer, type RespValue, Resp, encodeReply, encodeCommand } from './encoder.js';
export { ERROR_PREFIX_BY_CODE, errorLineFor } from './error-reply.js';
export { EMULATED_REDIS_VERSION, listCommands } from './commands.js';
