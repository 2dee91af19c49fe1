/**
 * How backfill and replay report as they go. On a terminal (stderr is a
 * TTY): a progress bar with the count, rate and ETA (cli-progress, loaded
 * only here: the function never loads it), failures printed above the bar.
 * Otherwise one JSON line per item on stdout, for scripts and log files.
 * Either way the summary is the last line on stdout, as JSON.
 */
import type {MultiBar, SingleBar} from 'cli-progress';

export interface ProgressOptions {
  /** `backfill`, `replay`: the bar's label. */
  label: string;
  /** Draw a bar (default: stderr is a TTY). */
  tty?: boolean;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

export interface Progress {
  /** How many items there are; `final` false while they are still being counted. */
  total(count: number, final: boolean): void;
  /** One item done: its report, and whether it ended well. */
  item(report: unknown, ok: boolean, failureText?: string): void;
  /** Stops the bar and writes the summary line. */
  finish(summary: unknown): void;
}

export function createProgress(options: ProgressOptions): Progress {
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  const tty =
    options.tty ?? Boolean((err as NodeJS.WriteStream).isTTY ?? false);
  if (!tty) {
    return {
      total: () => undefined,
      item: report => out.write(`${JSON.stringify(report)}\n`),
      finish: summary => out.write(`${JSON.stringify({summary})}\n`),
    };
  }
  return new BarProgress(options.label, err, out);
}

class BarProgress implements Progress {
  private readonly multi: MultiBar;
  private readonly bar: SingleBar;
  private readonly started = performance.now();
  private done = 0;
  private failed = 0;
  private counted = false;

  constructor(
    label: string,
    err: NodeJS.WritableStream,
    private readonly out: NodeJS.WritableStream,
  ) {
    const {MultiBar: Multi, Presets} =
      require('cli-progress') as typeof import('cli-progress');
    this.multi = new Multi(
      {
        stream: err as NodeJS.WriteStream,
        format: `${label} {bar} {percentage}% | {value}/{total}{more} | {rate}/s | ETA {eta_formatted} | ok {ok} failed {failed}`,
        etaBuffer: 200,
        fps: 5,
        hideCursor: true,
        clearOnComplete: false,
      },
      Presets.shades_classic,
    );
    this.bar = this.multi.create(0, 0, this.payload());
  }

  private payload() {
    const seconds = (performance.now() - this.started) / 1000;
    return {
      more: this.counted ? '' : '+',
      rate: seconds > 0 ? (this.done / seconds).toFixed(1) : '0.0',
      ok: this.done - this.failed,
      failed: this.failed,
    };
  }

  total(count: number, final: boolean): void {
    this.counted = final;
    this.bar.setTotal(count);
    this.bar.update(this.payload());
  }

  item(_report: unknown, ok: boolean, failureText?: string): void {
    this.done++;
    if (!ok) {
      this.failed++;
      if (failureText) this.multi.log(`${failureText}\n`);
    }
    this.bar.increment(1, this.payload());
  }

  finish(summary: unknown): void {
    this.bar.update(this.payload());
    this.multi.update(); // draws, and prints the failures logged since the last frame
    this.multi.stop();
    this.out.write(`${JSON.stringify({summary})}\n`);
  }
}
