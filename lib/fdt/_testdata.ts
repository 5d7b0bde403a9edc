/**
 * Internal test data: device tree sources compiled with the real `dtc` by the FDT tests.
 *
 * @module
 */

/**
 * The corpus `xen-guest.dts` of the U-Boot transcripts (reference/uboot/mkcorpus.sh), compiled there with
 * `dtc -@`; its blob has this SHA-256 in the corpus manifest.
 */
export { GUEST_DTS as XEN_GUEST_DTS } from "../../scripts/fixtures/payloads.ts";

/** SHA-256 of `src/xen-guest.dtb` in reference/uboot/goldens/corpus-MANIFEST.txt. */
export const XEN_GUEST_DTB_SHA256 = "feb4e87846d4637c1527e767ad46832f9b791d5f3633b16d837504f5c576eedd";

/** Memory reservations, aliases, phandles, labels, byte strings, empty values and shared name tails. */
export const FEATURES_DTS = `/dts-v1/;
/memreserve/ 0x10000000 0x1000;
/memreserve/ 0x20000000 0x200000;
/ {
	model = "m";
	compatible = "vendor,board", "vendor,soc";
	#address-cells = <1>;
	#size-cells = <1>;
	aliases {
		serial0 = &uart;
		deep = "/soc/bus@1000/leaf";
		loop = "loop";
	};
	soc {
		#address-cells = <1>;
		#size-cells = <0>;
		uart: serial@9000000 {
			compatible = "arm,pl011", "arm,primecell";
			reg = <0x9000000>;
			patible = "suffix";
			size-cells = [01 02 03];
			empty;
		};
		bus@1000 {
			reg = <0x1000>;
			leaf { ref = <&uart>; };
		};
		bus@2000 {
			reg = <0x2000>;
			leaf { value = /bits/ 64 <0x123456789abcdef0>; };
		};
	};
	memory@80000000 {
		device_type = "memory";
		reg = <0x80000000 0x10000000>;
	};
};
`;

/** A tree with `levels` nested nodes below the root, each holding one property. */
export function nestedDts(levels: number): string {
  let body = "";
  for (let i = levels; i >= 1; i--) body = `n${i} { d = <${i}>; ${body}};`;
  return `/dts-v1/;\n/ { ${body} };\n`;
}
