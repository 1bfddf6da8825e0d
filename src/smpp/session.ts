// SMPP sessions: the class and the helpers that open them. See README.md in this folder.

export type { ConnectAndBindOptions } from './client.ts';
export { connectAndBind } from './client.ts';
export type { SmppServer, SmppServerOptions } from './server.ts';
export { createSmppServer } from './server.ts';
export type { WindowedCommand } from './session-core.ts';
export { SmppSession } from './session-core.ts';
export type { BindMode, SessionRole, SessionState } from './session-rules.ts';
export type * from './session-types.ts';
export { noopLogger } from './session-types.ts';
