/**
 * `source` (cmd/source.c, boot/image.c `image_source_script`) and `iminfo` (cmd/bootm.c): run a
 * `mkimage -T script` image from memory; print and verify a legacy image header.
 *
 * @module
 */

import type { Command, CommandContext } from "./command.ts";
import { defineCommand } from "./define_command.ts";
import { SYS_LOAD_ADDR } from "../board/board_info.ts";
import { hextoul } from "../lib/strto.ts";
import {
  checkDcrc,
  checkHcrc,
  checkMagic,
  IH_TYPE_SCRIPT,
  imagePrintContents,
  multiImages,
  readLegacyHeader,
} from "../boot/image_legacy.ts";

function _hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** `env_get_yesno("verify")`: unset counts as yes. */
function _verify(ctx: CommandContext): boolean {
  const v = ctx.env.get("verify");
  return v === undefined || /^[1yYtT]/.test(v);
}

/** `image_source_script`: checks the legacy script image and runs its text as a command list. */
async function _sourceScript(ctx: CommandContext, address: number): Promise<number> {
  const h = readLegacyHeader(ctx.memory, address);
  if (!checkMagic(h)) {
    // Without FIT support nothing else is a script: U-Boot's genimg_get_format says "unknown".
    ctx.console.puts('Wrong image format for "source" command\n');
    return 1;
  }
  if (!checkHcrc(h)) {
    ctx.console.puts("Bad header crc\n");
    return 1;
  }
  if (_verify(ctx) && !checkDcrc(ctx.memory, address, h)) {
    ctx.console.puts("Bad data crc\n");
    return 1;
  }
  if (h.type !== IH_TYPE_SCRIPT) {
    ctx.console.puts("Bad image type\n");
    return 1;
  }
  const [script] = multiImages(ctx.memory, address);
  if (script === undefined || script.length === 0) {
    ctx.console.puts("Empty Script\n");
    return 1;
  }
  const bytes = ctx.memory.read(script.data, Math.min(script.length, h.size));
  let text = "";
  for (const b of bytes) {
    if (b === 0) break;
    text += String.fromCharCode(b);
  }
  return await ctx.shell.runCommandList(text, 0);
}

/** `image_info`: prints and verifies the image at `address`; 0 when it is a good legacy image. */
function _imageInfo(ctx: CommandContext, address: number): number {
  const out = ctx.console;
  out.puts(`\n## Checking Image at ${_hex8(address)} ...\n`);
  const h = readLegacyHeader(ctx.memory, address);
  if (!checkMagic(h)) {
    out.puts("Unknown image format!\n");
    return 1;
  }
  out.puts("   Legacy image found\n");
  if (!checkHcrc(h)) {
    out.puts("   Bad Header Checksum\n");
    return 1;
  }
  out.puts(imagePrintContents(ctx.memory, address, h));
  out.puts("   Verifying Checksum ... ");
  if (!checkDcrc(ctx.memory, address, h)) {
    out.puts("   Bad Data CRC\n");
    return 1;
  }
  out.puts("OK\n");
  return 0;
}

/** `source [addr]` and `iminfo [addr ...]`. */
export function sourceCommands(profile: "default" | "xenguest"): Command[] {
  return [
    defineCommand({
      name: "source",
      maxArgs: 2,
      repeatable: false,
      async run(ctx, argv) {
        const address = argv[1] === undefined ? SYS_LOAD_ADDR[profile] : Number(hextoul(argv[1]));
        ctx.console.puts(`## Executing script at ${_hex8(address)}\n`);
        return await _sourceScript(ctx, address);
      },
    }),
    defineCommand({
      name: "iminfo",
      maxArgs: 64,
      repeatable: true,
      run(ctx, argv) {
        if (argv.length < 2) {
          // image_load_addr follows `loadaddr` (its env callback).
          const load = ctx.env.get("loadaddr");
          return _imageInfo(ctx, load === undefined ? SYS_LOAD_ADDR[profile] : Number(hextoul(load)));
        }
        let rcode = 0;
        for (const arg of argv.slice(1)) {
          if (_imageInfo(ctx, Number(hextoul(arg))) !== 0) rcode = 1;
        }
        return rcode;
      },
    }),
  ];
}
