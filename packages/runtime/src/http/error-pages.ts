/** Reason phrases nginx puts on its status lines (ngx_http_status_lines). */
export const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 206: 'Partial Content',
  301: 'Moved Permanently', 302: 'Moved Temporarily', 303: 'See Other', 304: 'Not Modified',
  307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Not Allowed', 406: 'Not Acceptable', 408: 'Request Time-out', 409: 'Conflict', 410: 'Gone',
  411: 'Length Required', 412: 'Precondition Failed', 413: 'Request Entity Too Large',
  414: 'Request-URI Too Large', 415: 'Unsupported Media Type', 416: 'Requested Range Not Satisfiable',
  421: 'Misdirected Request', 429: 'Too Many Requests',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out', 505: 'HTTP Version Not Supported', 507: 'Insufficient Storage',
};

/** The status a code is sent as: nginx's internal 494/495/496/497 go out as 400, 499 never goes out. */
export function wireStatus(code: number): number {
  return code >= 494 && code <= 497 ? 400 : code;
}

/** Titles of nginx's built-in pages (they differ from the status lines: "302 Found"). */
const TITLES: Record<number, string> = {
  301: '301 Moved Permanently', 302: '302 Found', 303: '303 See Other', 307: '307 Temporary Redirect',
  308: '308 Permanent Redirect', 400: '400 Bad Request', 401: '401 Authorization Required',
  402: '402 Payment Required', 403: '403 Forbidden', 404: '404 Not Found', 405: '405 Not Allowed',
  406: '406 Not Acceptable', 408: '408 Request Time-out', 409: '409 Conflict', 410: '410 Gone',
  411: '411 Length Required', 412: '412 Precondition Failed', 413: '413 Request Entity Too Large',
  414: '414 Request-URI Too Large', 415: '415 Unsupported Media Type', 416: '416 Requested Range Not Satisfiable',
  421: '421 Misdirected Request', 429: '429 Too Many Requests', 500: '500 Internal Server Error',
  501: '501 Not Implemented', 502: '502 Bad Gateway', 503: '503 Service Temporarily Unavailable',
  504: '504 Gateway Time-out', 505: '505 HTTP Version Not Supported', 507: '507 Insufficient Storage',
};

/** nginx's 494..497 pages: a 400 with their own title and a second line. */
const SPECIAL_400: Record<number, string> = {
  494: 'Request Header Or Cookie Too Large',
  495: 'The SSL certificate error',
  496: 'No required SSL certificate was sent',
  497: 'The plain HTTP request was sent to HTTPS port',
};

/** nginx's built-in error page for a status (ngx_http_special_response.c), or null if it has none. */
export function defaultErrorBody(code: number, tokens: 'on' | 'off' | 'build'): string | null {
  const tail = `<hr><center>${tokens === 'off' ? 'nginx' : 'nginx/1.22.1'}</center>\r\n</body>\r\n</html>\r\n`;
  const extra = SPECIAL_400[code];
  if (extra) {
    return (
      `<html>\r\n<head><title>400 ${extra}</title></head>\r\n<body>\r\n` +
      `<center><h1>400 Bad Request</h1></center>\r\n<center>${extra}</center>\r\n` +
      tail
    );
  }
  const title = TITLES[code];
  if (!title) return null;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n` + tail;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let cachedSecond = 0;
let cachedDate = '';

/** RFC 1123 date, recomputed at most once per second (nginx caches its time the same way). */
export function httpDate(ms = Date.now()): string {
  const sec = Math.floor(ms / 1000);
  if (sec === cachedSecond) return cachedDate;
  cachedSecond = sec;
  cachedDate = formatHttpDate(new Date(sec * 1000));
  return cachedDate;
}

export function formatHttpDate(d: Date): string {
  const p = (n: number) => (n < 10 ? '0' + n : String(n));
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} GMT`;
}
