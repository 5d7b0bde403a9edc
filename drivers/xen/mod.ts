/**
 * The guest's Xen drivers (U-Boot's drivers/xen and serial_xen): the hypercall entry, shared_info and
 * event channels, the grant table, the XenStore client and the PV console. Guest code: it reaches the
 * platform only through `Platform` (guest memory and `hvc`), never through machine/.
 *
 * Start-up, as the board wires it (U-Boot's board_r order: console before `xen_init`):
 *
 * ```ts ignore
 * const heap = Malloc.forBoard(board);
 * const hypercalls = Hypercalls.create(platform, heap);
 * const console = await XenConsole.probe(hypercalls, sessionConsole) ?? sessionConsole;
 * const xen = await xenInit(platform, board, controlFdt, { heap, hypercalls, log: (t) => console.puts(t) });
 * const domid = await xen.xenbus.read("domid");
 * // ... at handoff:
 * const report = await xenFini(xen);
 * ```
 *
 * @example
 * ```ts
 * import { XenbusState, XENSTORE_PAYLOAD_MAX } from "./mod.ts";
 * console.log(XenbusState.InitWait, XENSTORE_PAYLOAD_MAX); // 2 4096
 * ```
 *
 * @module
 */

export * from "./abi.ts";
export {
  type BoundedWait,
  boundedWait,
  NS_PER_MS,
  PERFORMANCE_CLOCK,
  PollClock,
  type XenClock,
} from "./clock.ts";
export {
  CONSOLE_MAX_QUEUED_BYTES,
  CONSOLE_MAX_STALLED_YIELDS,
  XENCONS_CONNECTION,
  XENCONS_IN,
  XENCONS_IN_CONS,
  XENCONS_IN_PROD,
  XENCONS_IN_SIZE,
  XENCONS_OUT,
  XENCONS_OUT_CONS,
  XENCONS_OUT_PROD,
  XENCONS_OUT_SIZE,
  XenConsole,
  type XenConsoleOptions,
} from "./console.ts";
export { XenError } from "./errors.ts";
export {
  EVENT_DISPATCH_ROUNDS,
  EventChannelError,
  EventChannels,
  type EventChannelsOptions,
  type EventHandler,
} from "./events.ts";
export {
  GNTTAB_NR_RESERVED_ENTRIES,
  GRANT_ENTRY_V1_BYTES,
  GrantTable,
  GrantTableFullError,
  type GrantTableOptions,
  GTF_invalid,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_writing,
  NR_GRANT_ENTRIES,
  NR_GRANT_FRAMES,
} from "./gnttab.ts";
export { CONSOLE_IO_CHUNK, type GnttabSize, Hypercalls, type HypercallValue } from "./hypercall.ts";
export {
  EVTCHN_2L_NR_CHANNELS,
  EVTCHN_WORD_BITS,
  EVTCHN_WORDS,
  hvmGetParameter,
  hvmParamName,
  SHARED_INFO_EVTCHN_MASK,
  SHARED_INFO_EVTCHN_PENDING,
  SharedInfo,
  VCPU_PENDING_SEL,
  VCPU_UPCALL_PENDING,
} from "./hypervisor.ts";
export {
  gnttabBaseFromFdt,
  type XenDrivers,
  xenFini,
  type XenFiniReport,
  xenInit,
  type XenInitOptions,
} from "./xen_init.ts";
export {
  type WatchCallback,
  XenBus,
  XENBUS_MAX_EVENTS_PER_DELIVERY,
  XENBUS_MAX_QUEUED_EVENTS,
  XENBUS_MAX_TRANSACTION_RETRIES,
  XENBUS_POLL_MS,
  XENBUS_REPLY_TIMEOUT_MS,
  type XenBusFiniReport,
  type XenBusOptions,
} from "./xenbus.ts";
export {
  XenbusError,
  XenbusProtocolError,
  type XenbusResult,
  XenbusTimeoutError,
  XenStoreError,
} from "./xenbus_errors.ts";
export * from "./xs_wire.ts";
