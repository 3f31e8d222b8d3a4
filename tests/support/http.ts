/** A tiny cookie-keeping HTTP client for tests: real HTTP against the running server. */
export class Client {
  /** The session cookie the server last set (a jar of one). */
  cookie = "";
  constructor(
    readonly base: string,
    private readonly defaults: Record<string, string> = {},
  ) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const init: RequestInit = {
      method,
      headers: {
        ...this.defaults,
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      redirect: "manual",
      signal: AbortSignal.timeout(30_000),
    };
    const res = await fetch(this.base + path, init);
    const setCookie = res.headers.get("set-cookie");
    if (setCookie) this.cookie = setCookie.split(";")[0]!;
    const text = await res.text();
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, headers: res.headers, json, text };
  }
  get = (path: string, headers?: Record<string, string>) => this.request("GET", path, undefined, headers);
  post = (path: string, body?: unknown, headers?: Record<string, string>) => this.request("POST", path, body ?? {}, headers);
  put = (path: string, body?: unknown, headers?: Record<string, string>) => this.request("PUT", path, body ?? {}, headers);
  delete = (path: string) => this.request("DELETE", path);

  async login(email: string, password = "test-password") {
    const r = await this.post("/api/session", { email, password });
    if (r.status !== 200) throw new Error(`login ${email} failed: ${r.status} ${r.text}`);
    return this;
  }
}

/**
 * One request from a chosen local address (127.0.0.0/8 all reach the loopback server), so a test can
 * be two different clients as the server's socket sees them.
 */
export async function requestFrom(
  base: string,
  localAddress: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: import("node:http").IncomingHttpHeaders; json: any; text: string }> {
  const { request } = await import("node:http");
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      base + path,
      {
        method,
        localAddress,
        agent: false,
        headers: { ...(payload !== undefined ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}), ...headers },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let json: any = null;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json, text });
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/**
 * Send a large body the way a hostile client does (declared with Content-Length, or chunked),
 * and return as soon as the server answers: how long the answer took, how much of the body had been
 * written by then, its status and body.
 */
export async function sendLargeBody(base: string, path: string, opts: { bytes: number; chunked: boolean }) {
  const { connect } = await import("node:net");
  const url = new URL(base);
  const started = performance.now();
  return new Promise<{ ms: number; status: number; text: string; sentBytes: number }>((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let answer = "";
    let done = false;
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    socket.on("connect", () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
          (opts.chunked ? "Transfer-Encoding: chunked\r\n\r\n" : `Content-Length: ${opts.bytes}\r\n\r\n`),
      );
      const pump = () => {
        while (!done && sent < opts.bytes) {
          sent += chunk.length;
          const ok = socket.write(opts.chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]) : chunk);
          if (!ok) return void socket.once("drain", pump);
        }
        if (!done && opts.chunked) socket.write("0\r\n\r\n");
      };
      pump();
    });
    socket.on("data", (d: Buffer) => {
      answer += d.toString();
      const head = answer.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(answer);
      if (head < 0 || !length || answer.length < head + 4 + Number(length[1])) return;
      done = true;
      const ms = performance.now() - started;
      socket.destroy();
      resolve({ ms, status: Number(answer.slice(9, 12)), text: answer.slice(head + 4, head + 4 + Number(length[1])), sentBytes: sent });
    });
    socket.on("error", (e) => (done ? undefined : reject(e)));
  });
}
