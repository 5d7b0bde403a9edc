/**
 * The Xen tracer of a session: follows the machine's trace bus (hypercalls, event channels, XenStore
 * messages, console output, refused grants) and writes one line per event, readable or as JSON, to a
 * sink. It is the emulator's monitor, not guest code: it is switched by `--trace` and by the `trace`
 * command, a pvboot extension the session adds to the shell.
 *
 * @module
 */

import {
  formatTraceJson,
  formatTraceLine,
  TRACE_KINDS,
  type TraceBus,
  type TraceKind,
  type TraceRecord,
} from "../machine/trace.ts";
import type { Command } from "../commands/command.ts";

/** How trace lines are written. */
export type TraceFormat = "text" | "json";

/** The trace switch of one session. */
export class Tracer {
  #off: (() => void) | undefined;
  #format: TraceFormat = "text";
  #kinds: ReadonlySet<TraceKind> = new Set(TRACE_KINDS);

  /** Creates a tracer for `bus` writing to `sink` (switched off). */
  constructor(readonly bus: TraceBus, readonly sink: (line: string) => void) {}

  /** True while tracing. */
  get on(): boolean {
    return this.#off !== undefined;
  }

  /** The current format. */
  get format(): TraceFormat {
    return this.#format;
  }

  /** Starts (or re-targets) tracing of `kinds` in `format`. */
  start(format: TraceFormat, kinds: Iterable<TraceKind> = TRACE_KINDS): void {
    this.stop();
    this.#format = format;
    this.#kinds = new Set(kinds);
    this.#off = this.bus.onAny((record: TraceRecord) => {
      if (!this.#kinds.has(record.kind)) return;
      const line = format === "json"
        ? formatTraceJson(record.kind, record.event as never)
        : formatTraceLine(record.kind, record.event as never);
      this.sink(`${line}\n`);
    });
  }

  /** Stops tracing. */
  stop(): void {
    this.#off?.();
    this.#off = undefined;
  }

  /**
   * Applies `--trace` values: `xen` (every Xen event, readable), `json` (as JSON lines), or event
   * kinds by name (`hypercall`, `xenstore-msg`, …), comma-separated or repeated. Returns an error
   * message for an unknown word.
   */
  configure(words: readonly string[]): string | undefined {
    let format: TraceFormat = "text";
    const kinds = new Set<TraceKind>();
    for (const word of words.flatMap((w) => w.split(","))) {
      if (word === "" || word === "off") continue;
      if (word === "json") format = "json";
      else if (word === "xen" || word === "all") TRACE_KINDS.forEach((k) => kinds.add(k));
      else if ((TRACE_KINDS as readonly string[]).includes(word)) kinds.add(word as TraceKind);
      else return `unknown trace kind '${word}' (xen, json, ${TRACE_KINDS.join(", ")})`;
    }
    if (kinds.size === 0 && format === "json") TRACE_KINDS.forEach((k) => kinds.add(k));
    if (kinds.size === 0) this.stop();
    else this.start(format, kinds);
    return undefined;
  }
}

/** The `trace` command (a pvboot extension): `trace [xen|json|<kind>...|off]`. */
export function traceCommand(tracer: Tracer): Command {
  return {
    name: "trace",
    maxArgs: 16,
    repeatable: false,
    usage: "trace Xen events (pvboot extension)",
    help: `[xen | json | off | <kind> ...]\n` +
      `    - with no argument, show whether tracing is on\n` +
      `trace xen\n    - print every hypercall, event channel and XenStore message\n` +
      `trace json\n    - the same as JSON lines\n` +
      `trace off\n    - stop tracing\n` +
      `    kinds: ${TRACE_KINDS.join(", ")}`,
    run(ctx, argv) {
      if (argv.length === 1) {
        ctx.console.puts(`trace: ${tracer.on ? `on (${tracer.format})` : "off"}\n`);
        return 0;
      }
      const error = tracer.configure(argv.slice(1));
      if (error !== undefined) {
        ctx.console.puts(`trace: ${error}\n`);
        return 1;
      }
      return 0;
    },
  };
}
