// Reads an uploaded file back from the database as rows of text cells, streaming: the file's 1 MiB
// pieces are fetched one at a time and handed on in 64 KiB slices (so what has been read is a
// fair measure of progress), CSV through csv-parse after decoding (UTF-8 or GB18030), XLSX through
// exceljs's streaming WorkbookReader (first worksheet only).
import { Readable, Transform } from 'node:stream';
import { parse } from 'csv-parse';
import ExcelJS from 'exceljs';
import type pg from 'pg';
import { cellText, decoderLabel, type ImportEncoding, type ImportFormat } from './imports.models.ts';
import { readFileChunk } from './imports.sql.ts';

const SLICE = 64 * 1024;

export interface FileSource {
  stream: Readable;
  /** Bytes of the file handed to the parser so far. */
  bytesRead(): number;
  /** The file's first bytes (for encoding detection). */
  head(): Promise<Buffer>;
}

export function fileSource(pool: Pick<pg.Pool, 'query'>, importId: number): FileSource {
  let read = 0;
  let first: Promise<Buffer | undefined> | undefined;
  const chunk0 = () => (first ??= readFileChunk(pool, importId, 0));
  async function* slices() {
    for (let seq = 0; ; seq++) {
      const data = seq === 0 ? await chunk0() : await readFileChunk(pool, importId, seq);
      if (data === undefined) return;
      for (let at = 0; at < data.length; at += SLICE) {
        const slice = data.subarray(at, at + SLICE);
        read += slice.length;
        yield slice;
      }
    }
  }
  return {
    stream: Readable.from(slices(), { objectMode: false, highWaterMark: SLICE }),
    bytesRead: () => read,
    head: async () => (await chunk0()) ?? Buffer.alloc(0),
  };
}

function decodeStream(label: 'utf-8' | 'gb18030'): Transform {
  const decoder = new TextDecoder(label, { ignoreBOM: false });
  return new Transform({
    decodeStrings: true,
    readableObjectMode: false,
    transform(chunk: Buffer, _enc, done) {
      done(null, decoder.decode(chunk, { stream: true }));
    },
    flush(done) {
      done(null, decoder.decode());
    },
  });
}

/** Every row of the file as text cells, in order (the header row included). */
export async function* fileRows(
  source: FileSource,
  { format, encoding }: { format: ImportFormat; encoding: ImportEncoding },
): AsyncGenerator<string[]> {
  if (format === 'csv') {
    const label = decoderLabel(encoding, await source.head());
    const parser = source.stream.pipe(decodeStream(label)).pipe(
      parse({
        bom: true,
        relax_column_count: true,
        relax_quotes: true,
        skip_empty_lines: true,
        trim: false,
      }),
    );
    for await (const record of parser as AsyncIterable<string[]>) yield record;
    return;
  }
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(source.stream, {
    sharedStrings: 'cache',
    styles: 'ignore',
    hyperlinks: 'ignore',
    worksheets: 'emit',
    entries: 'emit',
  });
  for await (const sheet of reader) {
    for await (const row of sheet) {
      const values = row.values as unknown[];
      // exceljs rows are 1-based and sparse; empty rows are skipped like CSV's blank lines.
      const cells: string[] = [];
      for (let i = 1; i < values.length; i++) cells.push(cellText(values[i]));
      if (cells.some((c) => c.trim() !== '')) yield cells;
    }
    // The first worksheet only; draining the rest of the archive is not needed.
    return;
  }
}
