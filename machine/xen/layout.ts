/**
 * Named field tables for Xen's little-endian structures: each structure is declared once as
 * `{field: [offset, width]}` with its total size, and read or written by field name through a
 * `DataView`, so no offset appears in the middle of the code and the tests can compare every table with
 * xen-spec.md.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineLayout, StructBuffer } from "./layout.ts";
 *
 * const EVTCHN_SEND = defineLayout("evtchn_send", 4, { port: [0, 4] });
 * const s = new StructBuffer(EVTCHN_SEND);
 * s.set("port", 3);
 * assert.deepEqual([...s.bytes], [3, 0, 0, 0]);
 * ```
 *
 * @module
 */

/** Byte widths a field may have. */
export type FieldWidth = 1 | 2 | 4 | 8;

/** A structure: its name, size in bytes and fields as `[offset, width]`. */
export interface Layout<F extends string> {
  /** The C name (`xen_add_to_physmap`). */
  readonly name: string;
  /** `sizeof`. */
  readonly bytes: number;
  /** Each field's offset and width. */
  readonly fields: Readonly<Record<F, readonly [offset: number, width: FieldWidth]>>;
}

/** A layout that does not fit its own size (a programming error). */
export class LayoutError extends RangeError {
  /** Creates the error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "LayoutError";
  }
}

/** Declares a layout; throws {@linkcode LayoutError} if a field runs past `bytes`. */
export function defineLayout<F extends string>(
  name: string,
  bytes: number,
  fields: Record<F, readonly [number, FieldWidth]>,
): Layout<F> {
  for (
    const [field, [offset, width]] of Object.entries(fields) as [string, readonly [number, FieldWidth]][]
  ) {
    if (offset < 0 || offset + width > bytes) {
      throw new LayoutError(`Cannot define ${name}.${field}: ${offset}+${width} is outside ${bytes} bytes`);
    }
  }
  return { name, bytes, fields };
}

/** A copy of one structure in host memory, read and written by field name. */
export class StructBuffer<F extends string> {
  /** The layout. */
  readonly layout: Layout<F>;
  /** The structure's bytes. */
  readonly bytes: Uint8Array;
  readonly #view: DataView;

  /** Wraps `bytes` (zeroed bytes of the layout's size when omitted). */
  constructor(layout: Layout<F>, bytes?: Uint8Array) {
    const data = bytes ?? new Uint8Array(layout.bytes);
    if (data.length !== layout.bytes) {
      throw new LayoutError(`Cannot view ${data.length} bytes as ${layout.name} (${layout.bytes} bytes)`);
    }
    this.layout = layout;
    this.bytes = data;
    this.#view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  /** An unsigned field of up to 32 bits (a 64-bit field must be read with {@linkcode StructBuffer.u64}). */
  u(field: F): number {
    const [offset, width] = this.layout.fields[field];
    switch (width) {
      case 1:
        return this.#view.getUint8(offset);
      case 2:
        return this.#view.getUint16(offset, true);
      case 4:
        return this.#view.getUint32(offset, true);
      case 8:
        throw new LayoutError(`Cannot read ${this.layout.name}.${field} as a number: it is 64-bit`);
    }
  }

  /** A signed field of up to 32 bits (GNTST status fields are int16). */
  s(field: F): number {
    const [offset, width] = this.layout.fields[field];
    switch (width) {
      case 1:
        return this.#view.getInt8(offset);
      case 2:
        return this.#view.getInt16(offset, true);
      case 4:
        return this.#view.getInt32(offset, true);
      case 8:
        throw new LayoutError(`Cannot read ${this.layout.name}.${field} as a number: it is 64-bit`);
    }
  }

  /** A 64-bit field (any field width is accepted and zero-extended). */
  u64(field: F): bigint {
    const [offset, width] = this.layout.fields[field];
    return width === 8 ? this.#view.getBigUint64(offset, true) : BigInt(this.u(field));
  }

  /** Stores `value` (truncated to the field's width; negative values as two's complement). */
  set(field: F, value: number): void {
    const [offset, width] = this.layout.fields[field];
    switch (width) {
      case 1:
        this.#view.setUint8(offset, value & 0xff);
        return;
      case 2:
        this.#view.setUint16(offset, value & 0xffff, true);
        return;
      case 4:
        this.#view.setUint32(offset, value >>> 0, true);
        return;
      case 8:
        this.#view.setBigUint64(offset, BigInt.asUintN(64, BigInt(value)), true);
    }
  }

  /** Stores a 64-bit `value` (truncated to the field's width). */
  set64(field: F, value: bigint): void {
    const [offset, width] = this.layout.fields[field];
    if (width === 8) this.#view.setBigUint64(offset, BigInt.asUintN(64, value), true);
    else this.set(field, Number(BigInt.asUintN(width * 8, value)));
  }
}
