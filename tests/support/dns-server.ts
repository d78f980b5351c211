import * as dgram from 'node:dgram';

/**
 * A DNS server for tests, over UDP on 127.0.0.1: A records from `names` (name → IPv4
 * addresses, with `ttl`), an empty answer for other types of a known name, NXDOMAIN for the rest.
 * Enough for nginx's and Node's resolvers; it counts the questions it was asked.
 */
export class DnsServer {
  readonly asked: string[] = [];
  private readonly socket = dgram.createSocket('udp4');

  constructor(
    private readonly names: Map<string, string[]>,
    private readonly ttl = 30,
  ) {
    this.socket.on('message', (msg, rinfo) => {
      const answer = this.answer(msg);
      if (answer) this.socket.send(answer, rinfo.port, rinfo.address);
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve(this.socket.address().port)));
  }

  close(): void {
    this.socket.close();
  }

  private answer(msg: Buffer): Buffer | null {
    if (msg.length < 12) return null;
    // the question: labels, then type and class
    let p = 12;
    const labels: string[] = [];
    while (p < msg.length && msg[p] !== 0) {
      const len = msg[p];
      labels.push(msg.subarray(p + 1, p + 1 + len).toString('latin1'));
      p += len + 1;
    }
    const qEnd = p + 5;
    if (qEnd > msg.length) return null;
    const qtype = msg.readUInt16BE(p + 1);
    const name = labels.join('.').toLowerCase();
    this.asked.push(`${name}/${qtype === 1 ? 'A' : qtype === 28 ? 'AAAA' : qtype}`);
    const addrs = this.names.get(name);
    const records = addrs && qtype === 1 ? addrs : [];
    const head = Buffer.alloc(12);
    msg.copy(head, 0, 0, 2);
    // response, recursion desired and available; rcode 3 (NXDOMAIN) for unknown names
    head.writeUInt16BE(addrs ? 0x8180 : 0x8183, 2);
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(records.length, 6);
    const answers = records.map((a) => {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(1, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(this.ttl, 6);
      rr.writeUInt16BE(4, 10);
      a.split('.').forEach((x, i) => (rr[12 + i] = Number(x)));
      return rr;
    });
    return Buffer.concat([head, msg.subarray(12, qEnd), ...answers]);
  }
}
