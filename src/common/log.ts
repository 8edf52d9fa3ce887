// Structured logs (pino) to stderr, so that stdout stays for command output and JSON.
// RAFABRIC_LOG sets the level (default: info; "silent" turns logs off).
import { pino } from 'pino';

export const log = pino({ name: 'rafabric', level: process.env.RAFABRIC_LOG ?? 'info' }, pino.destination(2));
