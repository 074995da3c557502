// What the admin HTTP layer hands the application and takes back: a request (its head first,
// then with its body), the application's admission of a head, and a response.

export interface HttpRequestHead {
  method: string;
  /** The path as sent (percent-decoded per segment by the router). */
  rawPath: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  remoteAddress: string;
}

export interface HttpRequest extends HttpRequestHead {
  body: Buffer;
}

export interface HttpResponse {
  status: number;
  /** JSON-serialised when present; no body (and no Content-Type) when undefined. */
  body?: unknown;
  /** A body sent as it is (give its Content-Type in headers); wins over body. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

/**
 * The application's word on a request whose head is complete and whose body is unread: a
 * response (a refusal: sent at once, and the connection is closed when a body was announced,
 * which is then never read), or the body bound and the handler of the whole request.
 */
export type Admission = HttpResponse | { maxBody: number; handle: (req: HttpRequest) => Promise<HttpResponse> };

export type Admit = (head: HttpRequestHead) => Promise<Admission>;

/** The admin listener's own bounds (from config adminApi.limits, where the defaults are; milliseconds here). */
export interface HttpLimits {
  /** Most simultaneous connections; more are refused (503) at accept. */
  maxConnections: number;
  /** Most simultaneous connections from one IP address (loopback included). */
  maxConnectionsPerAddress: number;
  /** A connection with no request in progress and no response pending is closed after this. */
  idleTimeout: number;
  /** From a request's first byte to the end of its head (and the TLS handshake of https). */
  headTimeout: number;
  /** From the end of a head to the end of its body. */
  bodyTimeout: number;
  /** Request line and header fields together, in bytes. */
  maxHeadSize: number;
  /** Most refused plain-HTTP sockets held (then answered 503) before more are closed at once; default maxConnections. */
  refusalHold?: number;
}
