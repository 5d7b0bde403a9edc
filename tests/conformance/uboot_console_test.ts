import assert from "node:assert/strict";
import { endsAtContinuation, endsAtPrompt, parseStatus, splitConsole } from "./uboot_console.ts";
import { DEFAULT_QEMU_OPTIONS, qemuArgv } from "./qemu_uboot.ts";

Deno.test("a prompt counts only after the echoed line's newline", () => {
  assert.deepEqual(endsAtPrompt("echo x\r\nx\r\n=> "), true);
  assert.deepEqual(endsAtPrompt("=> "), false);
  assert.deepEqual(endsAtPrompt("echo x\r\nx\r\n"), false);
});

Deno.test("the continuation prompt is told apart from the main prompt", () => {
  assert.deepEqual(endsAtContinuation("if true; then\r\n> "), true);
  assert.deepEqual(endsAtContinuation("echo\r\n=> "), false);
});

Deno.test("the echo and the prompt are cut off a command's console text", () => {
  assert.deepEqual(splitConsole("echo hi", "echo hi\r\nhi\r\n=> ", true), { output: "hi\r\n", echoed: true });
  assert.deepEqual(splitConsole("true", "true\r\n=> ", true), { output: "", echoed: true });
});

Deno.test("an unexpected echo keeps the whole text and says so", () => {
  assert.deepEqual(splitConsole("echo hi", "garbled\r\n=> ", true), { output: "garbled\r\n", echoed: false });
});

Deno.test("without a prompt (VM gone) the tail is kept", () => {
  assert.deepEqual(
    splitConsole("booti", "booti\r\nStarting kernel ...\r\n", false).output,
    "Starting kernel ...\r\n",
  );
});

Deno.test("the status line of echo $? is parsed, anything else is not", () => {
  assert.deepEqual(parseStatus("1\r\n"), 1);
  assert.deepEqual(parseStatus("0\n"), 0);
  assert.deepEqual(parseStatus("x\r\n"), null);
  assert.deepEqual(parseStatus("1\r\n2\r\n"), null);
});

Deno.test("QEMU gets the disks as snapshot drives with devices in reverse order", () => {
  const argv = qemuArgv({ ...DEFAULT_QEMU_OPTIONS, disks: ["/d/a.img", "/d/b,c.img"] });
  assert.deepEqual(argv.slice(0, 7), [
    "qemu-system-aarch64",
    "-M",
    "virt",
    "-cpu",
    "cortex-a57",
    "-m",
    "512",
  ]);
  const drives = argv.filter((_, i) => argv[i - 1] === "-drive");
  assert.deepEqual(drives, [
    "if=none,file=/d/a.img,format=raw,id=d0,snapshot=on",
    "if=none,file=/d/b,,c.img,format=raw,id=d1,snapshot=on",
  ]);
  const devices = argv.filter((_, i) => argv[i - 1] === "-device");
  assert.deepEqual(devices, ["virtio-blk-device,drive=d1", "virtio-blk-device,drive=d0"]);
});
