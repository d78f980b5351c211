export interface ServeOptions {
  prefix: string;
  conf: string;
  errorLog?: string;
  globals?: string;
  signal?: string;
  strict: boolean;
}

export async function serve(_o: ServeOptions): Promise<number> {
  process.stderr.write('nxproxy: [emerg] serving is not available in this build yet\n');
  return 1;
}
