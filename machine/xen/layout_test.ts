import assert from "node:assert/strict";
import {
  CONSOLE_IN,
  CONSOLE_IN_SIZE,
  CONSOLE_OUT,
  CONSOLE_OUT_SIZE,
  XENCONS_INTERFACE,
} from "./console_backend.ts";
import {
  EVTCHN_ALLOC_UNBOUND,
  EVTCHN_BIND_INTERDOMAIN,
  EVTCHN_BIND_VCPU,
  EVTCHN_BIND_VIRQ,
  EVTCHN_PORT,
  EVTCHN_STATUS,
} from "./event_channel_op.ts";
import { GRANT_ENTRY_V1 } from "./grant_table.ts";
import {
  GNTTAB_COPY,
  GNTTAB_GET_VERSION,
  GNTTAB_MAP_GRANT_REF,
  GNTTAB_QUERY_SIZE,
  GNTTAB_SET_VERSION,
  GNTTAB_SETUP_TABLE,
  GNTTAB_UNMAP_GRANT_REF,
} from "./grant_table_op.ts";
import { XEN_HVM_PARAM } from "./hvm_op.ts";
import { defineLayout, type Layout, LayoutError, StructBuffer } from "./layout.ts";
import { XEN_ADD_TO_PHYSMAP, XEN_MEMORY_RESERVATION, XEN_REMOVE_FROM_PHYSMAP } from "./memory_op.ts";
import { SCHED_POLL, SCHED_SHUTDOWN } from "./sched_op.ts";
import { EVTCHN_BITMAP_BYTES, SHARED_INFO, VCPU_INFO } from "./shared_info.ts";
import { VCPU_REGISTER_VCPU_INFO } from "./vcpu_op.ts";
import { XEN_FEATURE_INFO } from "./xen_version.ts";
import {
  XENSTORE_DOMAIN_INTERFACE,
  XENSTORE_RING_SIZE,
  XS_RING_REQ,
  XS_RING_RSP,
  XSD_SOCKMSG,
} from "./xs_wire.ts";

/** [struct size, [field, offset, size]…] as xen-spec.md's tables give them. */
type SpecTable = [number, [string, number, number][]];

const SPEC_TABLES: [Layout<string>, SpecTable][] = [
  [XEN_ADD_TO_PHYSMAP, [24, [["domid", 0, 2], ["size", 2, 2], ["space", 4, 4], ["idx", 8, 8], [
    "gpfn",
    16,
    8,
  ]]]],
  [XEN_REMOVE_FROM_PHYSMAP, [16, [["domid", 0, 2], ["gpfn", 8, 8]]]],
  [XEN_MEMORY_RESERVATION, [32, [
    ["extent_start", 0, 8],
    ["nr_extents", 8, 8],
    ["extent_order", 16, 4],
    ["mem_flags", 20, 4],
    ["domid", 24, 2],
  ]]],
  [EVTCHN_ALLOC_UNBOUND, [8, [["dom", 0, 2], ["remote_dom", 2, 2], ["port", 4, 4]]]],
  [EVTCHN_BIND_INTERDOMAIN, [12, [["remote_dom", 0, 2], ["remote_port", 4, 4], ["local_port", 8, 4]]]],
  [EVTCHN_PORT, [4, [["port", 0, 4]]]],
  [EVTCHN_BIND_VIRQ, [12, [["virq", 0, 4], ["vcpu", 4, 4], ["port", 8, 4]]]],
  [EVTCHN_BIND_VCPU, [8, [["port", 0, 4], ["vcpu", 4, 4]]]],
  [EVTCHN_STATUS, [24, [
    ["dom", 0, 2],
    ["port", 4, 4],
    ["status", 8, 4],
    ["vcpu", 12, 4],
    ["unbound_dom", 16, 2],
    ["interdomain_dom", 16, 2],
    ["interdomain_port", 20, 4],
  ]]],
  [GNTTAB_SETUP_TABLE, [24, [["dom", 0, 2], ["nr_frames", 4, 4], ["status", 8, 2], ["frame_list", 16, 8]]]],
  [GNTTAB_QUERY_SIZE, [16, [["dom", 0, 2], ["nr_frames", 4, 4], ["max_nr_frames", 8, 4], ["status", 12, 2]]]],
  [GNTTAB_MAP_GRANT_REF, [32, [
    ["host_addr", 0, 8],
    ["flags", 8, 4],
    ["ref", 12, 4],
    ["dom", 16, 2],
    ["status", 18, 2],
    ["handle", 20, 4],
    ["dev_bus_addr", 24, 8],
  ]]],
  [GNTTAB_UNMAP_GRANT_REF, [24, [["host_addr", 0, 8], ["dev_bus_addr", 8, 8], ["handle", 16, 4], [
    "status",
    20,
    2,
  ]]]],
  [GNTTAB_COPY, [40, [
    ["source_ref", 0, 4],
    ["source_domid", 8, 2],
    ["source_offset", 10, 2],
    ["dest_ref", 16, 4],
    ["dest_domid", 24, 2],
    ["dest_offset", 26, 2],
    ["len", 32, 2],
    ["flags", 34, 2],
    ["status", 36, 2],
  ]]],
  [GNTTAB_GET_VERSION, [8, [["dom", 0, 2], ["version", 4, 4]]]],
  [GNTTAB_SET_VERSION, [4, [["version", 0, 4]]]],
  [GRANT_ENTRY_V1, [8, [["flags", 0, 2], ["domid", 2, 2], ["frame", 4, 4]]]],
  [XEN_HVM_PARAM, [16, [["domid", 0, 2], ["index", 4, 4], ["value", 8, 8]]]],
  [SCHED_POLL, [24, [["ports", 0, 8], ["nr_ports", 8, 4], ["timeout", 16, 8]]]],
  [SCHED_SHUTDOWN, [4, [["reason", 0, 4]]]],
  [VCPU_REGISTER_VCPU_INFO, [16, [["mfn", 0, 8], ["offset", 8, 4], ["rsvd", 12, 4]]]],
  [XEN_FEATURE_INFO, [8, [["submap_idx", 0, 4], ["submap", 4, 4]]]],
  [VCPU_INFO, [48, [
    ["evtchn_upcall_pending", 0, 1],
    ["pad0", 1, 1],
    ["evtchn_pending_sel", 8, 8],
    ["time_version", 16, 4],
    ["time_tsc_timestamp", 24, 8],
    ["time_system_time", 32, 8],
    ["time_tsc_to_system_mul", 40, 4],
    ["time_tsc_shift", 44, 1],
    ["time_flags", 45, 1],
  ]]],
  [SHARED_INFO, [1088, [
    ["evtchn_pending", 48, 8],
    ["evtchn_mask", 560, 8],
    ["wc_version", 1072, 4],
    ["wc_sec", 1076, 4],
    ["wc_nsec", 1080, 4],
    ["wc_sec_hi", 1084, 4],
  ]]],
  [XSD_SOCKMSG, [16, [["type", 0, 4], ["req_id", 4, 4], ["tx_id", 8, 4], ["len", 12, 4]]]],
  [XENSTORE_DOMAIN_INTERFACE, [2080, [
    ["req_cons", 2048, 4],
    ["req_prod", 2052, 4],
    ["rsp_cons", 2056, 4],
    ["rsp_prod", 2060, 4],
    ["server_features", 2064, 4],
    ["connection", 2068, 4],
    ["error", 2072, 4],
    ["evtchn_port", 2076, 4],
  ]]],
  [XENCONS_INTERFACE, [3092, [
    ["in_cons", 3072, 4],
    ["in_prod", 3076, 4],
    ["out_cons", 3080, 4],
    ["out_prod", 3084, 4],
    ["connection", 3088, 1],
  ]]],
];

Deno.test("every structure's size and field offsets match xen-spec.md's tables", () => {
  for (const [layout, [size, fields]] of SPEC_TABLES) {
    assert.equal(layout.bytes, size, `sizeof(${layout.name})`);
    for (const [field, offset, width] of fields) {
      assert.deepEqual(layout.fields[field], [offset, width], `${layout.name}.${field}`);
    }
  }
});

Deno.test("the ring arrays sit where the spec puts them", () => {
  assert.deepEqual([XS_RING_REQ, XS_RING_RSP, XENSTORE_RING_SIZE], [0, 1024, 1024]);
  assert.deepEqual([CONSOLE_IN, CONSOLE_IN_SIZE, CONSOLE_OUT, CONSOLE_OUT_SIZE], [0, 1024, 1024, 2048]);
  assert.equal(SHARED_INFO.fields.evtchn_mask[0] - SHARED_INFO.fields.evtchn_pending[0], EVTCHN_BITMAP_BYTES);
});

Deno.test("a struct buffer reads and writes little-endian fields by name, signed where asked", () => {
  const s = new StructBuffer(GNTTAB_QUERY_SIZE);
  s.set("nr_frames", 0x0102_0304);
  s.set("status", -8);
  assert.deepEqual([...s.bytes.subarray(4, 8)], [4, 3, 2, 1]);
  assert.equal(s.s("status"), -8);
  assert.equal(s.u("status"), 0xfff8);
  const x = new StructBuffer(XEN_ADD_TO_PHYSMAP);
  x.set64("gpfn", 0x1_0000_0001n);
  assert.equal(x.u64("gpfn"), 0x1_0000_0001n);
  assert.throws(() => x.u("gpfn"), LayoutError);
});

Deno.test("a layout whose field runs past its size is refused", () => {
  assert.throws(() => defineLayout("broken", 4, { wide: [2, 4] }), LayoutError);
  assert.throws(() => new StructBuffer(XSD_SOCKMSG, new Uint8Array(15)), LayoutError);
});
