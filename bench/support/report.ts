/** What a figure answers, the one table the run prints, and the machine the numbers came from. */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { LocalDynamo } from '../../src/local/dynamodb-local.js';

/** One line of the printed table: a measure, its value, the floor taken in the same run, and the ratio. */
export interface Row {
  readonly measure: string;
  readonly value: string;
  readonly floor?: string;
  readonly ratio?: string;
  /** The target the figure is held to (`<= 2x`), where an issue sets one. */
  readonly target?: string;
}

/** A figure's outcome: table rows for people and `data` (plain numbers) for latest.json. */
export interface FigureResult {
  readonly id: number;
  readonly title: string;
  readonly workload: string;
  readonly status: 'measured' | 'skipped' | 'failed';
  readonly rows: readonly Row[];
  readonly data: Record<string, unknown>;
  readonly durationMs: number;
}

/** What every figure gets from the run: the shared DynamoDB Local and a progress line writer. */
export interface BenchContext {
  readonly dynamo: LocalDynamo;
  /** Writes a progress line to stderr (the table goes to stdout). */
  progress(message: string): void;
  /**
   * Registers a cleanup to run if the bench is interrupted (Ctrl+C) while the figure runs, for what
   * the shared shutdown cannot reach (detached sandbox processes). Answers a function that unregisters it.
   */
  onAbort(cleanup: () => Promise<void>): () => void;
}

/** A figure: `run` measures it and cleans up everything it started. */
export interface Figure {
  readonly id: number;
  readonly title: string;
  run(context: BenchContext): Promise<Omit<FigureResult, 'id' | 'title' | 'durationMs'>>;
}

/** The machine a run measured on. */
export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
}

/** Describes this machine (CPU model from /proc/cpuinfo where there is one). */
export function machine(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((text) => text.startsWith('model name'));
    if (line) cpuModel = line.split(':')[1]?.trim() ?? cpuModel;
  } catch {
    // Not Linux: keep what os.cpus() says.
  }
  return {
    cpuModel,
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

const HEADERS = ['#', 'measure', 'value', 'floor (same run)', 'ratio', 'target'] as const;

/** Renders every figure's rows as one plain-text table. */
export function renderTable(results: readonly FigureResult[]): string {
  const lines: string[][] = [];
  for (const result of results) {
    lines.push([
      `${result.id}`,
      `${result.title} (${(result.durationMs / 1000).toFixed(1)} s)`,
      '',
      '',
      '',
      '',
    ]);
    for (const row of result.rows) {
      lines.push(['', `  ${row.measure}`, row.value, row.floor ?? '', row.ratio ?? '', row.target ?? '']);
    }
  }
  const widths = HEADERS.map((header, column) =>
    Math.max(header.length, ...lines.map((line) => line[column]!.length)),
  );
  const format = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column >= 2 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [format(HEADERS), rule, ...lines.map(format)].join('\n');
}
