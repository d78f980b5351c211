/**
 * nginx's value parsers (ngx_parse_size, ngx_parse_offset, ngx_parse_time, ngx_atoi), shared by
 * validation and by the runtime's compile step. Each returns null where nginx returns NGX_ERROR.
 */

/** ngx_atoi: decimal digits only, no sign. */
export function parseNumber(s: string): number | null {
  if (s.length === 0 || !/^[0-9]+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

function scaled(s: string, scales: Record<string, number>): number | null {
  if (s.length === 0) return null;
  const last = s[s.length - 1];
  const scale = scales[last];
  const digits = scale === undefined ? s : s.slice(0, -1);
  const n = parseNumber(digits);
  if (n === null) return null;
  const v = n * (scale ?? 1);
  return Number.isSafeInteger(v) ? v : null;
}

const SIZE_SCALES: Record<string, number> = { k: 1024, K: 1024, m: 1048576, M: 1048576 };
const OFFSET_SCALES: Record<string, number> = { ...SIZE_SCALES, g: 1073741824, G: 1073741824 };

/** ngx_parse_size: "1024", "8k", "1m". */
export function parseSize(s: string): number | null {
  return scaled(s, SIZE_SCALES);
}

/** ngx_parse_offset: like sizes, plus "g". */
export function parseOffset(s: string): number | null {
  return scaled(s, OFFSET_SCALES);
}

const STEPS: Record<string, [number, number]> = {
  // unit -> [order, seconds]
  y: [1, 365 * 24 * 3600],
  M: [2, 30 * 24 * 3600],
  w: [3, 7 * 24 * 3600],
  d: [4, 24 * 3600],
  h: [5, 3600],
  m: [6, 60],
  s: [7, 1],
};

/**
 * ngx_parse_time. Units must descend (y M w d h m s ms); a bare number means seconds. Returns
 * milliseconds when !isSec (msec slots: "ms" allowed, "y" not), else seconds.
 */
export function parseTime(s: string, isSec: boolean): number | null {
  let step = isSec ? 0 : 2; // msec values may not use years or months
  let value = 0;
  let total = 0;
  let valid = false;
  let i = 0;
  while (i < s.length) {
    const c = s[i++];
    if (c >= '0' && c <= '9') {
      value = value * 10 + (c.charCodeAt(0) - 48);
      valid = true;
      continue;
    }
    let order: number;
    let scale: number;
    if (c === 'm' && s[i] === 's') {
      if (isSec || step >= 8) return null;
      i++;
      order = 8;
      scale = 1;
    } else if (c === ' ') {
      if (step >= 7) return null;
      order = 9;
      scale = isSec ? 1 : 1000;
    } else {
      const u = STEPS[c];
      if (!u) return null;
      if (c === 'y' ? step > 0 : step >= u[0]) return null;
      order = u[0];
      scale = isSec ? u[1] : u[1] * 1000;
    }
    step = order;
    total += value * scale;
    value = 0;
    // skip spaces between parts, as nginx does
    while (s[i] === ' ') i++;
  }
  if (!valid) return null;
  total += value * (isSec ? 1 : 1000);
  return Number.isSafeInteger(total) ? total : null;
}

/** ngx_conf_set_flag_slot accepts on/off case-insensitively. */
export function parseFlag(s: string): boolean | null {
  const l = s.toLowerCase();
  return l === 'on' ? true : l === 'off' ? false : null;
}
