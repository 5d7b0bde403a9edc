/**
 * `xenstore` (a pvboot extension, not in U-Boot): looks at and changes the XenStore through the
 * guest's own XenBus client, for debugging Xen guest configurations from the prompt.
 *
 * ```
 * xenstore ls [path]           list a subtree (default: the guest's home, /local/domain/<id>)
 * xenstore read path           print a value
 * xenstore write path value    set a value
 * xenstore rm path             remove a node and its children
 * xenstore watch path [ms]     watch path for ms milliseconds (default 0), printing each event
 * ```
 * Relative paths are relative to the guest's home, as XenStore itself treats them.
 *
 * @module
 */

import { CMD_RET_USAGE, type Command, type CommandContext } from "./command.ts";
import type { XenBus } from "../drivers/xen/xenbus.ts";
import { XenbusError } from "../drivers/xen/xenbus_errors.ts";

/** Deepest subtree `xenstore ls` descends into (XenStore paths are short; this bounds a hostile tree). */
const MAX_LS_DEPTH = 16;
/** Most nodes `xenstore ls` prints. */
const MAX_LS_NODES = 4096;

async function _ls(ctx: CommandContext, bus: XenBus, path: string): Promise<number> {
  let printed = 0;
  const walk = async (dir: string, depth: number): Promise<boolean> => {
    const children = await bus.directory(dir);
    if (children instanceof XenbusError) {
      if (depth === 0) {
        ctx.console.puts(`xenstore: ls ${dir}: ${children.xsError}\n`);
        return false;
      }
      return true;
    }
    for (const child of children) {
      if (printed++ >= MAX_LS_NODES || ctx.console.ctrlc()) return false;
      const full = dir.endsWith("/") ? `${dir}${child}` : `${dir}/${child}`;
      const value = await bus.read(full);
      const shown = value instanceof XenbusError ? "" : value;
      ctx.console.puts(`${" ".repeat(depth)}${child} = "${shown}"\n`);
      if (depth + 1 < MAX_LS_DEPTH && !(await walk(full, depth + 1))) return false;
    }
    return true;
  };
  return (await walk(path, 0)) ? 0 : 1;
}

function _fail(ctx: CommandContext, what: string, e: XenbusError): number {
  ctx.console.puts(`xenstore: ${what}: ${e.xsError}\n`);
  return 1;
}

/** The `xenstore` command over the guest's XenBus client. */
export function xenstoreCommand(bus: XenBus): Command {
  return {
    name: "xenstore",
    maxArgs: 4,
    repeatable: false,
    usage: "XenStore access (pvboot extension)",
    help: "ls [path]\n    - list a subtree (default: the guest's home)\n" +
      "xenstore read path\n    - print a value\n" +
      "xenstore write path value\n    - set a value\n" +
      "xenstore rm path\n    - remove a node\n" +
      "xenstore watch path [ms]\n    - print the watch events on path for ms milliseconds",
    async run(ctx, argv) {
      const [, sub, path, arg] = argv;
      switch (sub) {
        case "ls": {
          const home = await bus.getDomainPath(
            await bus.getSelfId().then((id) => (id instanceof XenbusError ? 0 : id)),
          );
          return await _ls(ctx, bus, path ?? (home instanceof XenbusError ? "/" : home));
        }
        case "read": {
          if (path === undefined || arg !== undefined) return CMD_RET_USAGE;
          const value = await bus.read(path);
          if (value instanceof XenbusError) return _fail(ctx, `read ${path}`, value);
          ctx.console.puts(`${value}\n`);
          return 0;
        }
        case "write": {
          if (path === undefined || arg === undefined) return CMD_RET_USAGE;
          const r = await bus.write(path, arg);
          return r instanceof XenbusError ? _fail(ctx, `write ${path}`, r) : 0;
        }
        case "rm": {
          if (path === undefined || arg !== undefined) return CMD_RET_USAGE;
          const r = await bus.rm(path);
          return r instanceof XenbusError ? _fail(ctx, `rm ${path}`, r) : 0;
        }
        case "watch": {
          if (path === undefined) return CMD_RET_USAGE;
          const ms = arg === undefined ? 0 : Number.parseInt(arg, 10);
          if (!Number.isInteger(ms) || ms < 0) return CMD_RET_USAGE;
          const token = "pvboot-xenstore-watch";
          const r = await bus.watch(path, token, (p) => ctx.console.puts(`${p}\n`));
          if (r instanceof XenbusError) return _fail(ctx, `watch ${path}`, r);
          await bus.processEvents();
          if (ms > 0) await ctx.console.delay(ms);
          await bus.processEvents();
          await bus.unwatch(token);
          return 0;
        }
        default:
          return CMD_RET_USAGE;
      }
    },
  };
}
