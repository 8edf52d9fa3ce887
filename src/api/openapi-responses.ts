// Responses any path can give, shared by the parts of the OpenAPI document (openapi.ts, the
// dashboard's routes/ui-openapi.ts).

/**
 * What Node.js's HTTP parser answers, before routing and without a body, for any path: headers over
 * its 16 KiB limit (431) or a request not received within the server's requestTimeout (408, server.ts).
 */
export const transportResponses = {
  '408': { description: 'The request was not received in time (60 s by default); no body' },
  '431': { description: 'The request headers are over 16 KiB (the Node.js limit); no body' },
} as const;
